/** Who a verified token speaks for. */
export interface Principal {
  readonly userId: string;
  /** Organizations claimed by the token (deduplicated, order kept). */
  readonly organizations: readonly string[];
  /** `iat` in milliseconds since the epoch; undefined when the token has no `iat`. */
  readonly issuedAtMs: number | undefined;
  /** `exp` in milliseconds since the epoch (always present: tokens without `exp` are refused). */
  readonly expiresAtMs: number;
  /** Space-separated `scope` claim, split. `events:publish` allows the dev publish endpoint. */
  readonly scopes: readonly string[];
}

export interface TokenVerifier {
  /** Resolves to the principal or rejects with an AuthError. Never logs the token. */
  verify(token: string): Promise<Principal>;
}
