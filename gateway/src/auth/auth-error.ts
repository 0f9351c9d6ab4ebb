import { errors } from 'jose';
import type { AuthFailureReason } from '../metrics/metrics.js';

/**
 * A token was refused. `reason` is the metrics label; the message is safe to log and never
 * contains the token (jose's messages do not either; `cause` keeps the original error).
 */
export class AuthError extends Error {
  override readonly name = 'AuthError';

  constructor(readonly reason: AuthFailureReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Maps anything thrown while verifying a token to an AuthError with the matching reason. */
export function toAuthError(error: unknown): AuthError {
  if (error instanceof AuthError) return error;
  const refuse = (reason: AuthFailureReason, message: string) => new AuthError(reason, message, { cause: error });
  if (error instanceof errors.JWTExpired) return refuse('expired', 'token expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    return error.claim === 'nbf'
      ? refuse('not_yet_valid', 'token not valid yet')
      : refuse('claims', `claim "${error.claim}" refused (${error.reason})`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return refuse('bad_signature', 'signature verification failed');
  if (error instanceof errors.JOSEAlgNotAllowed) return refuse('bad_signature', 'algorithm not allowed');
  if (error instanceof errors.JWKSNoMatchingKey) return refuse('unknown_key', 'no key in the JWKS matches the token');
  if (error instanceof errors.JWKSTimeout) return refuse('key_unavailable', 'JWKS fetch timed out');
  if (error instanceof errors.JWKSInvalid) return refuse('key_unavailable', 'JWKS response is not a valid key set');
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return refuse('malformed', 'token is not a valid compact JWS/JWT');
  if (error instanceof errors.JOSENotSupported) return refuse('malformed', 'token uses an unsupported feature');
  return refuse('malformed', 'token could not be verified');
}
