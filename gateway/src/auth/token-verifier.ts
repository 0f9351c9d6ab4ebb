import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS, algorithmsForPublicKey } from './algorithms.js';
import { AuthError, toAuthError } from './auth-error.js';
import { AuthOptionsError } from './auth-options-error.js';
import type { Principal, TokenVerifier } from './principal.js';
import { principalFromClaims } from './principal-claims.js';

/** Mirrors `Config['auth']` (which can be passed as is), plus test and tuning hooks. */
export interface TokenVerifierOptions {
  readonly secret?: string | undefined;
  readonly publicKeyPem?: string | undefined;
  readonly jwksUrl?: string | undefined;
  readonly jwksCacheMs: number;
  readonly jwksCooldownMs: number;
  /** JWKS HTTP timeout; default 5000 ms. */
  readonly jwksTimeoutMs?: number | undefined;
  readonly issuer?: string | undefined;
  readonly audience?: string | undefined;
  readonly clockToleranceSeconds: number;
  readonly orgClaim: string;
  readonly maxTokenBytes: number;
  /** Clock for `exp`/`nbf` checks, in ms since the epoch; default `Date.now`. */
  readonly now?: (() => number) | undefined;
}

/** A place a signature can be checked, with the only algorithms it may ever verify. */
interface KeySource {
  readonly algorithms: readonly string[];
  verify(token: string, options: JWTVerifyOptions): Promise<JWTPayload>;
}

const COMPACT_JWS = /^[\w-]+\.[\w-]+\.[\w-]*$/;

/**
 * Builds a verifier over any combination of shared secret (HS*), PEM public key (the algorithms
 * its type allows) and remote JWKS (asymmetric algorithms, refetched for an unknown `kid` once the
 * cooldown has passed). The token header's `alg` selects the sources: HS* only ever meets the
 * secret, asymmetric algorithms only the PEM key, then the JWKS; `none` and anything else meet no
 * key at all. Synchronous: unusable options throw an AuthOptionsError listing every problem.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const sources = createKeySources(options);
  const { maxTokenBytes, orgClaim, now } = options;
  const claimOptions: JWTVerifyOptions = {
    requiredClaims: ['exp', 'sub'],
    clockTolerance: options.clockToleranceSeconds,
    ...(options.issuer !== undefined && { issuer: options.issuer }),
    ...(options.audience !== undefined && { audience: options.audience }),
  };

  return {
    async verify(token: string): Promise<Principal> {
      if (token.length === 0) throw new AuthError('missing', 'no token');
      if (Buffer.byteLength(token, 'utf8') > maxTokenBytes) throw new AuthError('too_large', `token exceeds ${maxTokenBytes} bytes`);
      const alg = algorithmOf(token);
      const candidates = sources.filter((source) => source.algorithms.includes(alg));
      if (candidates.length === 0) throw new AuthError('bad_signature', 'token algorithm is not accepted by any configured key');
      const verifyOptions: JWTVerifyOptions = { ...claimOptions, ...(now !== undefined && { currentDate: new Date(now()) }) };
      let failure: unknown;
      for (const source of candidates) {
        try {
          const claims = await source.verify(token, { ...verifyOptions, algorithms: [...source.algorithms] });
          return principalFromClaims(claims, orgClaim);
        } catch (error) {
          failure = error;
          // Only a signature mismatch lets the next source try; anything else is final.
          if (!(error instanceof errors.JWSSignatureVerificationFailed)) break;
        }
      }
      throw toAuthError(failure);
    },
  };
}

function algorithmOf(token: string): string {
  if (!COMPACT_JWS.test(token)) throw new AuthError('malformed', 'token is not a compact JWS');
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch (cause) {
    throw new AuthError('malformed', 'token header is not a JSON object', { cause });
  }
  if (typeof alg !== 'string') throw new AuthError('malformed', 'token header has no "alg"');
  return alg;
}

function createKeySources(options: TokenVerifierOptions): KeySource[] {
  const problems: string[] = [];
  const sources: KeySource[] = [];
  const { secret, publicKeyPem, jwksUrl } = options;
  if (secret === undefined && publicKeyPem === undefined && jwksUrl === undefined) problems.push('one of secret, publicKeyPem or jwksUrl is required');
  if (secret !== undefined) {
    if (secret.length < 32) problems.push('secret: must be at least 32 characters');
    else sources.push(keySource(HMAC_ALGORITHMS, new TextEncoder().encode(secret)));
  }
  if (publicKeyPem !== undefined) {
    const imported = importPublicKey(publicKeyPem);
    if (typeof imported === 'string') problems.push(`publicKeyPem: ${imported}`);
    else sources.push(keySource(imported.algorithms, imported.key));
  }
  if (jwksUrl !== undefined) {
    if (!/^https?:$/.test(parseUrl(jwksUrl)?.protocol ?? '')) problems.push('jwksUrl: must be an http(s) URL');
    for (const name of ['jwksCacheMs', 'jwksCooldownMs', 'jwksTimeoutMs'] as const) {
      const value = options[name];
      if (value !== undefined && !(Number.isInteger(value) && value >= 0)) problems.push(`${name}: must be a non-negative integer`);
    }
  }
  const { clockToleranceSeconds, maxTokenBytes, orgClaim, issuer, audience } = options;
  if (!(Number.isFinite(clockToleranceSeconds) && clockToleranceSeconds >= 0 && clockToleranceSeconds <= 60)) problems.push('clockToleranceSeconds: must be between 0 and 60');
  if (!(Number.isInteger(maxTokenBytes) && maxTokenBytes > 0)) problems.push('maxTokenBytes: must be a positive integer');
  if (orgClaim.length === 0) problems.push('orgClaim: must not be empty');
  if (issuer === '') problems.push('issuer: must not be empty when set');
  if (audience === '') problems.push('audience: must not be empty when set');
  if (problems.length > 0) throw new AuthOptionsError(problems);
  if (jwksUrl !== undefined) sources.push(jwksSource(new URL(jwksUrl), options));
  return sources;
}

function keySource(algorithms: readonly string[], key: Uint8Array | KeyObject): KeySource {
  return { algorithms, verify: async (token, options) => (await jwtVerify(token, key, options)).payload };
}

/** Why `pem` cannot be the verification key (no key material in the text), or undefined when it can. */
export function publicKeyProblem(pem: string): string | undefined {
  const imported = importPublicKey(pem);
  return typeof imported === 'string' ? imported : undefined;
}

function importPublicKey(pem: string): { key: KeyObject; algorithms: readonly string[] } | string {
  if (pem.includes('PRIVATE KEY')) return 'is a private key: configure the public key only';
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    // The import error is deliberately dropped: its text could quote key material.
    return 'is not a PEM public key (SPKI "BEGIN PUBLIC KEY")';
  }
  try {
    return { key, algorithms: algorithmsForPublicKey(key) };
  } catch (error) {
    return error instanceof Error ? error.message : 'unsupported key';
  }
}

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

function jwksSource(url: URL, options: TokenVerifierOptions): KeySource {
  const remote = createRemoteJWKSet(url, {
    cacheMaxAge: options.jwksCacheMs,
    cooldownDuration: options.jwksCooldownMs,
    timeoutDuration: options.jwksTimeoutMs ?? 5_000,
  });
  // Distinguishes "the set has no such key" (kept as is) from "the set could not be obtained".
  const resolveKey: JWTVerifyGetKey = async (header, token) => {
    try {
      return await remote(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      throw new AuthError('key_unavailable', 'JWKS could not be fetched or used', { cause: error });
    }
  };
  return {
    algorithms: ASYMMETRIC_ALGORITHMS,
    async verify(token, verifyOptions) {
      try {
        return (await jwtVerify(token, resolveKey, verifyOptions)).payload;
      } catch (error) {
        if (error instanceof errors.JWKSMultipleMatchingKeys) return verifyWithAny(token, error, verifyOptions);
        throw error;
      }
    },
  };
}

/** Several keys match (no `kid`): the first whose signature verifies wins. */
async function verifyWithAny(token: string, keys: errors.JWKSMultipleMatchingKeys, options: JWTVerifyOptions): Promise<JWTPayload> {
  let failure: unknown = new errors.JWSSignatureVerificationFailed();
  for await (const key of keys) {
    try {
      return (await jwtVerify(token, key, options)).payload;
    } catch (error) {
      if (!(error instanceof errors.JWSSignatureVerificationFailed)) throw error;
      failure = error;
    }
  }
  throw failure;
}
