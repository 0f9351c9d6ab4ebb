import { Observable, type ConfigurationOptions, type ObservableMiddleware, type RequestContext, type ResponseContext } from '@kubernetes/client-node';

/**
 * Per-request options for the generated @kubernetes/client-node APIs that attach an AbortSignal
 * (the generated clients have no timeout of their own), optionally on top of other options such
 * as `setHeaderOptions(...)`.
 */
export function abortableOptions(signal: AbortSignal, options?: ConfigurationOptions<ObservableMiddleware>): ConfigurationOptions<ObservableMiddleware> {
  const attachSignal: ObservableMiddleware = {
    pre: (request: RequestContext) => {
      request.setSignal(signal);
      return new Observable(Promise.resolve(request));
    },
    post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
  };
  return {
    ...options,
    middleware: [...(options?.middleware ?? []), attachSignal],
    middlewareMergeStrategy: 'append',
  };
}

/** A signal that fires on `timeoutMs` or when `parent` fires, whichever is first. */
export function deadlineSignal(parent: AbortSignal, timeoutMs: number): AbortSignal {
  return AbortSignal.any([parent, AbortSignal.timeout(timeoutMs)]);
}
