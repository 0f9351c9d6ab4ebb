import { createHmac } from 'node:crypto';

/**
 * Compact JWS by hand: the fuzzer signs header and payload texts that no JWT library would produce
 * (duplicate keys, a payload that is not an object or not JSON, an `alg` that lies about the MAC).
 */

export type HmacAlgorithm = 'HS256' | 'HS384' | 'HS512';

export function base64url(input: string | Uint8Array): string {
  return Buffer.from(typeof input === 'string' ? Buffer.from(input, 'utf8') : input).toString('base64url');
}

/** `base64url(header).base64url(payload).base64url(HMAC(secret, signing input))`, the MAC computed with `mac`. */
export function signCompact(headerText: string, payload: string | Uint8Array, secret: string, mac: HmacAlgorithm): string {
  const input = `${base64url(headerText)}.${base64url(payload)}`;
  const digest = mac === 'HS256' ? 'sha256' : mac === 'HS384' ? 'sha384' : 'sha512';
  return `${input}.${createHmac(digest, secret).update(input).digest('base64url')}`;
}
