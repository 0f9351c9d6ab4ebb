import { errors } from 'jose';
import { describe, expect, it } from 'vitest';
import { AuthError, toAuthError } from './auth-error.js';

describe('toAuthError', () => {
  const cases: Array<[string, unknown, AuthError['reason']]> = [
    ['JWTExpired', new errors.JWTExpired('x', {}, 'exp', 'check_failed'), 'expired'],
    ['nbf claim failure', new errors.JWTClaimValidationFailed('x', {}, 'nbf', 'check_failed'), 'not_yet_valid'],
    ['aud claim failure', new errors.JWTClaimValidationFailed('x', {}, 'aud', 'check_failed'), 'claims'],
    ['missing claim', new errors.JWTClaimValidationFailed('x', {}, 'exp', 'missing'), 'claims'],
    ['signature failure', new errors.JWSSignatureVerificationFailed(), 'bad_signature'],
    ['algorithm not allowed', new errors.JOSEAlgNotAllowed('x'), 'bad_signature'],
    ['no JWKS key', new errors.JWKSNoMatchingKey(), 'unknown_key'],
    ['JWKS timeout', new errors.JWKSTimeout(), 'key_unavailable'],
    ['JWKS invalid', new errors.JWKSInvalid('x'), 'key_unavailable'],
    ['JWS invalid', new errors.JWSInvalid('x'), 'malformed'],
    ['JWT invalid', new errors.JWTInvalid('x'), 'malformed'],
    ['not supported', new errors.JOSENotSupported('x'), 'malformed'],
    ['anything else', new TypeError('x'), 'malformed'],
  ];

  it.each(cases)('maps %s', (_label, error, reason) => {
    const mapped = toAuthError(error);
    expect(mapped).toBeInstanceOf(AuthError);
    expect(mapped.name).toBe('AuthError');
    expect(mapped.reason).toBe(reason);
    expect(mapped.cause).toBe(error);
  });

  it('passes an AuthError through unchanged', () => {
    const original = new AuthError('too_large', 'big');
    expect(toAuthError(original)).toBe(original);
  });
});
