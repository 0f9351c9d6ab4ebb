/** The verifier's options are unusable; thrown by the factory, before any request arrives. */
export class AuthOptionsError extends Error {
  override readonly name = 'AuthOptionsError';

  constructor(readonly problems: readonly string[], options?: { cause?: unknown }) {
    super(`invalid token verifier options:\n${problems.map((p) => `  - ${p}`).join('\n')}`, options);
  }
}
