import { createHmac, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

/**
 * Mints test tokens fast and synchronously with node:crypto (no per-token promise): tens of
 * thousands of tokens are needed before a connect run starts, and minting must not be what the
 * client processes spend their CPU on.
 */
export type SigningKey =
  | { readonly alg: 'HS256'; readonly secret: string }
  | { readonly alg: 'ES256'; readonly privateKeyPem: string };

export interface TokenClaims {
  readonly sub: string;
  readonly orgIds: readonly string[];
  readonly ttlSeconds: number;
  readonly scope?: string;
}

export interface Es256KeyPair {
  readonly privateKeyPem: string;
  /** SPKI PEM, the format the gateway's JWT_PUBLIC_KEY takes. */
  readonly publicKeyPem: string;
}

export function generateEs256KeyPair(): Es256KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export interface TokenMinter {
  mint(claims: TokenClaims, nowSeconds?: number): string;
}

export function createTokenMinter(key: SigningKey): TokenMinter {
  const header = base64url(JSON.stringify({ alg: key.alg, typ: 'JWT' }));
  let signer: (input: string) => string;
  if (key.alg === 'HS256') {
    const secret = key.secret;
    signer = (input) => createHmac('sha256', secret).update(input).digest('base64url');
  } else {
    const privateKey: KeyObject = createPrivateKey(key.privateKeyPem);
    signer = (input) => sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  }
  return {
    mint(claims, nowSeconds = Math.floor(Date.now() / 1000)) {
      const payload = base64url(JSON.stringify({
        sub: claims.sub,
        org_ids: claims.orgIds,
        iat: nowSeconds,
        exp: nowSeconds + claims.ttlSeconds,
        ...(claims.scope !== undefined && { scope: claims.scope }),
      }));
      const input = `${header}.${payload}`;
      return `${input}.${signer(input)}`;
    },
  };
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}
