/**
 * The HTTP/1.1 upgrade request and the parts of the answer a load client needs: the status and,
 * for a refusal, the `error` code of the JSON body. The Sec-WebSocket-Key is fixed (servers echo a
 * digest of it that this client does not check: it trusts its loopback target).
 */
const KEY = 'bG9hZHRlc3Qta2V5LTAwMQ==';
const HEADER_END = Buffer.from('\r\n\r\n');

export interface UpgradeRequestOptions {
  readonly host: string;
  readonly port: number;
  /** Path with query string. */
  readonly path: string;
  readonly authorization?: string;
}

export function upgradeRequest(options: UpgradeRequestOptions): string {
  const auth = options.authorization === undefined ? '' : `Authorization: ${options.authorization}\r\n`;
  return `GET ${options.path} HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
    + `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n${auth}\r\n`;
}

export type UpgradeResponse =
  | { readonly complete: false }
  | { readonly complete: true; readonly status: number; readonly bodyStart: number; readonly error: string | undefined };

/** Parses the response head in `buf`; `bodyStart` is where frames (101) or the body begin. */
export function parseUpgradeResponse(buf: Buffer): UpgradeResponse {
  const end = buf.indexOf(HEADER_END);
  if (end < 0) return { complete: false };
  // "HTTP/1.1 101 Switching Protocols"
  const status = Number(buf.toString('latin1', 9, 12));
  const bodyStart = end + HEADER_END.length;
  let error: string | undefined;
  if (status !== 101) {
    const match = /"error"\s*:\s*"([a-z_]{1,40})"/.exec(buf.toString('latin1', bodyStart, Math.min(buf.length, bodyStart + 512)));
    error = match?.[1];
  }
  return { complete: true, status: Number.isInteger(status) ? status : 0, bodyStart, error };
}
