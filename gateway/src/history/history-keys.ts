/**
 * Redis keys of one organization's history. The organization id sits in a hash tag, `{...}`, so a
 * Redis Cluster keeps all of an organization's keys in one slot (the scripts touch them together);
 * `%`, `{` and `}` in the id are percent-encoded so the tag always ends where the id ends and no two
 * organizations (or organization and dedupe key pairs) share a key.
 */
export function historyStreamKey(keyPrefix: string, organizationId: string): string {
  return `${keyPrefix}history:{${tag(organizationId)}}`;
}

/** Holds `<id> <prev> <token>` of the entry appended under `dedupeKey`, with a TTL. */
export function historyDedupeKey(keyPrefix: string, organizationId: string, dedupeKey: string): string {
  return `${keyPrefix}dedupe:{${tag(organizationId)}}:${dedupeKey}`;
}

/**
 * Holds `<id> <prev>` of an identical copy appended under `dedupeKey` after the first (a first
 * delivery of a byte-identical message), found by its append token when that append is retried.
 * Same TTL as the dedupe key. Tokens are `[A-Za-z0-9._:-]` (never `#`), so the key is unambiguous.
 */
export function historyCopyKey(keyPrefix: string, organizationId: string, dedupeKey: string, token: string): string {
  return `${keyPrefix}dedupe-copy:{${tag(organizationId)}}:${token}#${dedupeKey}`;
}

/** The organization's last appended id and that append's token (`<id> <token>`), with the stream's TTL. */
export function historyLastKey(keyPrefix: string, organizationId: string): string {
  return `${keyPrefix}history-last:{${tag(organizationId)}}`;
}

function tag(organizationId: string): string {
  return organizationId.replace(/[%{}]/g, (c) => (c === '%' ? '%25' : c === '{' ? '%7B' : '%7D'));
}
