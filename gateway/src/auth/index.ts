export { AuthError } from './auth-error.js';
export { AuthOptionsError } from './auth-options-error.js';
export { extractToken } from './extract-token.js';
export { createTokenVerifier, type TokenVerifierOptions } from './token-verifier.js';
export type { Principal, TokenVerifier } from './principal.js';
