import type { KeyObject } from 'node:crypto';

/** Algorithms checked against the shared secret, and only against it. */
export const HMAC_ALGORITHMS: readonly string[] = ['HS256', 'HS384', 'HS512'];

/** Every asymmetric algorithm accepted from a JWKS (the key set's own `kty`/`crv` narrow it further). */
export const ASYMMETRIC_ALGORITHMS: readonly string[] = [
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512',
  'EdDSA', 'Ed25519',
];

const EC_ALGORITHM: Readonly<Record<string, string>> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };

/**
 * The algorithms a public key may verify: an RSA key allows RS* and PS*, an EC key only the ES*
 * matching its curve, an Ed25519 key EdDSA/Ed25519. Throws a message (no key material) for keys
 * that cannot verify JWS signatures.
 */
export function algorithmsForPublicKey(key: KeyObject): readonly string[] {
  const type = key.asymmetricKeyType;
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) throw new Error(`RSA key is ${bits} bits, at least 2048 are required`);
    return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
  }
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown';
    const alg = EC_ALGORITHM[curve];
    if (alg === undefined) throw new Error(`EC curve ${curve} is not supported (P-256, P-384 or P-521)`);
    return [alg];
  }
  if (type === 'ed25519') return ['EdDSA', 'Ed25519'];
  if (type === 'rsa-pss') throw new Error('RSA-PSS-only (id-RSASSA-PSS) keys are not supported: use an rsaEncryption SPKI key, PS* tokens verify with it');
  throw new Error(`key type ${type ?? 'unknown'} cannot verify JWT signatures`);
}
