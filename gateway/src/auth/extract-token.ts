const BEARER = /^Bearer[ \t]+(\S+)$/i;

/**
 * The token of an upgrade request: `Authorization: Bearer <jwt>` (scheme case-insensitive) wins,
 * else the first non-empty `access_token` query parameter (query without its leading `?`,
 * percent-decoded). Undefined when neither carries one. Absent inputs are empty strings.
 */
export function extractToken(authorizationHeader: string, query: string): string | undefined {
  const bearer = BEARER.exec(authorizationHeader.trim())?.[1];
  if (bearer !== undefined) return bearer;
  if (query.length === 0) return undefined;
  return new URLSearchParams(query).getAll('access_token').find((value) => value.length > 0);
}
