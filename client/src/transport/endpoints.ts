import { ClientOptionsError } from '../errors.js';

export interface Endpoints {
  /** `ws:` / `wss:` URL of `/api/ws`, without query. */
  readonly websocket: string;
  /** `http:` / `https:` URL of `/api/poll`, without query. */
  readonly poll: string;
}

const SCHEMES: Record<string, readonly [ws: string, http: string]> = {
  'http:': ['ws:', 'http:'],
  'https:': ['wss:', 'https:'],
  'ws:': ['ws:', 'http:'],
  'wss:': ['wss:', 'https:'],
};

/**
 * The gateway's endpoints from its base URL (`https://rt.example.com`, `wss://rt.example.com/prefix`,
 * or `…/api/ws`). A relative URL is resolved against `base` (the page's location in browsers).
 */
export function resolveEndpoints(url: string, base: string | undefined): Endpoints {
  let parsed: URL;
  try {
    parsed = new URL(url, base);
  } catch (error) {
    throw new ClientOptionsError(`url "${url}" is not a valid URL`, { cause: error });
  }
  const schemes = SCHEMES[parsed.protocol];
  if (schemes === undefined) throw new ClientOptionsError(`url must be http(s) or ws(s), got ${parsed.protocol}`);
  if (parsed.search !== '' || parsed.hash !== '') throw new ClientOptionsError('url must not carry a query or fragment');
  const prefix = parsed.pathname.replace(/\/+$/, '').replace(/\/api\/(ws|poll)$/, '');
  const at = (scheme: string, path: string): string => `${scheme}//${parsed.host}${prefix}${path}`;
  return { websocket: at(schemes[0], '/api/ws'), poll: at(schemes[1], '/api/poll') };
}

/** `endpoint?access_token=…&resume=…&…` with every value URL-encoded. */
export function withQuery(endpoint: string, params: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) search.set(name, value);
  const query = search.toString();
  return query === '' ? endpoint : `${endpoint}?${query}`;
}
