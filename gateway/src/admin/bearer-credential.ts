import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Checks an `Authorization: Bearer <token>` header against one configured secret in constant time
 * (both sides are hashed first, so neither the length nor a prefix of the secret leaks by timing).
 */
export function createBearerCheck(secret: string): (authorization: string) => boolean {
  const expected = digest(secret);
  return (authorization) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return timingSafeEqual(digest(match?.[1] ?? ''), expected) && match !== null;
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
