/**
 * Settings uWebSockets.js reads from the environment once, when its native module loads: the entry
 * point applies them before importing anything that imports uWS (see main.ts).
 */

/** Request line plus headers the gateway reads (JSON 431 beyond): room for an 8 KiB token and a 1,000-pair resume cursor. */
export const MAX_REQUEST_HEAD_BYTES = 96 * 1024;

/** The transport's own parser limit, above ours, so that our JSON 431 answers first (see docs/protocol.md). */
const UWS_MAX_HEADERS_SIZE = 128 * 1024;

export function uwsEnvironment(): Record<string, string> {
  return { UWS_HTTP_MAX_HEADERS_SIZE: String(UWS_MAX_HEADERS_SIZE) };
}
