import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { algorithmsForPublicKey } from './algorithms.js';

describe('algorithmsForPublicKey', () => {
  it('allows RS* and PS* for RSA keys of at least 2048 bits', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(algorithmsForPublicKey(publicKey)).toEqual(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']);
  });

  it('allows only the ES algorithm of an EC key\'s curve', () => {
    expect(algorithmsForPublicKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)).toEqual(['ES256']);
    expect(algorithmsForPublicKey(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey)).toEqual(['ES384']);
    expect(algorithmsForPublicKey(generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey)).toEqual(['ES512']);
  });

  it('allows EdDSA for Ed25519 keys', () => {
    expect(algorithmsForPublicKey(generateKeyPairSync('ed25519').publicKey)).toEqual(['EdDSA', 'Ed25519']);
  });

  it('refuses keys that cannot verify JWS signatures', () => {
    expect(() => algorithmsForPublicKey(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey)).toThrow(/2048/);
    expect(() => algorithmsForPublicKey(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey)).toThrow(/secp256k1/);
    expect(() => algorithmsForPublicKey(generateKeyPairSync('x25519').publicKey)).toThrow(/x25519/);
    expect(() => algorithmsForPublicKey(generateKeyPairSync('ed448').publicKey)).toThrow(/ed448/);
  });
});
