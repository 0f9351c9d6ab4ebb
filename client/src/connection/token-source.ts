import { TokenError } from '../errors.js';

/**
 * The application's `getToken`, called only when needed: once, then again after `invalidate()`.
 * Concurrent callers share one call; a failed call is not kept.
 */
export class TokenSource {
  private pending: Promise<string> | undefined;

  constructor(private readonly getToken: () => string | Promise<string>) {}

  get(): Promise<string> {
    if (this.pending !== undefined) return this.pending;
    const pending = this.fetch();
    this.pending = pending;
    pending.catch(() => {
      if (this.pending === pending) this.pending = undefined;
    });
    return pending;
  }

  /** The token was refused or has expired: the next `get()` asks the application again. */
  invalidate(): void {
    this.pending = undefined;
  }

  private async fetch(): Promise<string> {
    let token: unknown;
    try {
      token = await this.getToken();
    } catch (error) {
      throw new TokenError('getToken failed', { cause: error });
    }
    if (typeof token !== 'string' || token === '') throw new TokenError('getToken must return a non-empty string');
    return token;
  }
}
