import fc from 'fast-check';
import { signCompact, type HmacAlgorithm } from './jwt.js';

/**
 * Tokens signed with the gateway's own key (mostly) whose claims take random values of every JSON
 * type and size. Each carries the verdict docs/protocol.md implies ("The token"), computed from the
 * header and payload texts actually sent, so the fuzzer can tell a wrong answer from a right one.
 */

export type TokenVerdict = 'accept' | 'refuse' | 'either';

export interface FuzzToken {
  readonly text: string;
  readonly verdict: TokenVerdict;
  /** Why the verdict (a short, fixed phrase: it becomes part of violation keys). */
  readonly why: string;
  /** The organizations the token's claim grants (best effort when not accepted). */
  readonly organizations: readonly string[];
  readonly scopes: readonly string[];
}

export interface TokenContext {
  readonly secret: string;
  readonly maxTokenBytes: number;
  /** Names the fuzz must never produce (the watcher's user and organization): mapped away. */
  readonly reserved: (name: string) => boolean;
}

export const MAX_TIME_SECONDS = 8.64e12;
const TOLERANCE_MARGIN_S = 120;

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** A time claim: relative to the moment of signing (resolved at mapping time), an edge value, or any JSON. */
type TimeSpec = { readonly relative: number } | { readonly absolute: unknown };

const timeEdges = [0, -1, 1, 0.5, MAX_TIME_SECONDS, MAX_TIME_SECONDS + 1, 9e15, 1e21, 1e300, -1e300, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 5e-324, 2 ** 31, 2 ** 32];

function timeClaim(good: fc.Arbitrary<number>, goodWeight: number): fc.Arbitrary<TimeSpec> {
  return fc.oneof(
    { arbitrary: good.map((relative) => ({ relative })), weight: goodWeight },
    { arbitrary: fc.integer({ min: -10_000_000, max: 10_000_000 }).map((relative) => ({ relative })), weight: 2 },
    { arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((relative) => ({ relative })), weight: 1 },
    { arbitrary: fc.constantFrom(...timeEdges).map((absolute) => ({ absolute })), weight: 2 },
    { arbitrary: fc.jsonValue({ maxDepth: 2 }).map((absolute) => ({ absolute })), weight: 1 },
    { arbitrary: fc.integer({ min: 0, max: 100_000 }).map((relative) => ({ absolute: String(nowSeconds() + relative) })), weight: 1 },
  );
}

const resolveTime = (spec: TimeSpec, now: number): unknown => ('relative' in spec ? now + spec.relative : spec.absolute);

/** Any JSON value, from tiny to a few kilobytes. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 6 },
  { arbitrary: fc.jsonValue({ maxDepth: 2, stringUnit: 'binary' }), weight: 1 },
  { arbitrary: fc.string({ minLength: 500, maxLength: 5_000 }), weight: 1 },
  { arbitrary: fc.array(fc.integer(), { minLength: 100, maxLength: 600 }), weight: 1 },
);

/** A string id: mostly short printable ASCII, sometimes Unicode, long (beyond 255 UTF-8 bytes) or ill-formed. */
export function idArbitrary(reserved: (name: string) => boolean): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: fc.string({ minLength: 1, maxLength: 24 }), weight: 14 },
    { arbitrary: fc.string({ minLength: 1, maxLength: 16, unit: 'grapheme' }), weight: 3 },
    { arbitrary: fc.string({ minLength: 1, maxLength: 8, unit: 'binary' }), weight: 1 },
    { arbitrary: fc.integer({ min: 250, max: 300 }).map((n) => 'o'.repeat(n)), weight: 1 },
    { arbitrary: fc.integer({ min: 60, max: 130 }).map((n) => '€'.repeat(n)), weight: 1 },
    { arbitrary: fc.constantFrom(':', ',', '%', '%3A', '#', '*', ' ', 'a b', 'a:b', 'a,b', '..', '/', '\u0000', '{', '"'), weight: 1 },
  ).map((id) => (reserved(id) ? `x${id}` : id));
}

interface ClaimsSpec {
  readonly sub: unknown;
  readonly exp: TimeSpec | undefined;
  readonly iat: TimeSpec | undefined;
  readonly nbf: TimeSpec | undefined;
  readonly orgIds: unknown;
  readonly orgId: unknown;
  readonly scope: unknown;
  readonly iss: unknown;
  readonly aud: unknown;
  readonly extra: ReadonlyArray<readonly [string, unknown]>;
  readonly padding: number;
}

const ABSENT = Symbol('absent');
const absentOr = <T>(arbitrary: fc.Arbitrary<T>, absentWeight: number, presentWeight = 1): fc.Arbitrary<T | typeof ABSENT> =>
  fc.oneof({ arbitrary: fc.constant(ABSENT), weight: absentWeight }, { arbitrary, weight: presentWeight });

function claimsArbitrary(ctx: TokenContext): fc.Arbitrary<ClaimsSpec> {
  const id = idArbitrary(ctx.reserved);
  const sub = fc.oneof(
    { arbitrary: id, weight: 14 },
    { arbitrary: fc.constant(''), weight: 1 },
    { arbitrary: fc.string({ minLength: 300, maxLength: 6_000 }), weight: 1 },
    { arbitrary: anyJson, weight: 2 },
  );
  const orgList = fc.oneof(
    { arbitrary: fc.uniqueArray(id, { maxLength: 4 }), weight: 12 },
    { arbitrary: fc.uniqueArray(id, { minLength: 20, maxLength: 60 }), weight: 1 },
    { arbitrary: fc.array(fc.oneof(id, anyJson), { maxLength: 4 }), weight: 1 },
    { arbitrary: fc.constant(['']), weight: 1 },
    { arbitrary: id, weight: 1 },
    { arbitrary: anyJson, weight: 1 },
  );
  const scope = fc.oneof(
    fc.constantFrom('events:publish', 'events:publish other', '  events:publish  ', 'read', ''),
    fc.array(fc.constantFrom('events:publish', 'x'), { maxLength: 3 }),
    anyJson,
  );
  return fc.record({
    sub: absentOr(sub, 1, 12),
    exp: absentOr(timeClaim(fc.integer({ min: 300, max: 30 * 86_400 }), 8), 1, 14),
    iat: absentOr(timeClaim(fc.integer({ min: -86_400, max: 0 }), 4), 2),
    nbf: absentOr(timeClaim(fc.integer({ min: -86_400, max: -120 }), 4), 4),
    orgIds: absentOr(orgList, 1, 8),
    orgId: absentOr(fc.oneof(id, anyJson), 6),
    scope: absentOr(scope, 3),
    iss: absentOr(fc.oneof(fc.string(), anyJson), 6),
    aud: absentOr(fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 }), anyJson), 6),
    extra: fc.array(fc.tuple(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('sub', 'exp', 'org_ids', 'jti', '__proto__', 'constructor')), anyJson), { maxLength: 3 }),
    padding: fc.oneof({ arbitrary: fc.constant(0), weight: 12 }, { arbitrary: fc.integer({ min: 1, max: 9_000 }), weight: 1 }),
  }).map((r) => ({
    sub: r.sub === ABSENT ? undefined : r.sub,
    exp: r.exp === ABSENT ? undefined : r.exp,
    iat: r.iat === ABSENT ? undefined : r.iat,
    nbf: r.nbf === ABSENT ? undefined : r.nbf,
    orgIds: r.orgIds === ABSENT ? undefined : r.orgIds,
    orgId: r.orgId === ABSENT ? undefined : r.orgId,
    scope: r.scope === ABSENT ? undefined : r.scope,
    iss: r.iss === ABSENT ? undefined : r.iss,
    aud: r.aud === ABSENT ? undefined : r.aud,
    extra: r.extra,
    padding: r.padding,
  }));
}

/** The payload text: an object written entry by entry (so extra entries may repeat a key), or not an object at all. */
function payloadText(spec: ClaimsSpec, now: number): string {
  const entries: Array<[string, unknown]> = [];
  const put = (key: string, value: unknown): void => {
    if (value !== undefined) entries.push([key, value]);
  };
  put('sub', spec.sub);
  if (spec.exp !== undefined) put('exp', resolveTime(spec.exp, now));
  if (spec.iat !== undefined) put('iat', resolveTime(spec.iat, now));
  if (spec.nbf !== undefined) put('nbf', resolveTime(spec.nbf, now));
  put('org_ids', spec.orgIds);
  put('org_id', spec.orgId);
  put('scope', spec.scope);
  put('iss', spec.iss);
  put('aud', spec.aud);
  for (const [key, value] of spec.extra) put(key, value);
  if (spec.padding > 0) put('pad', 'p'.repeat(spec.padding));
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(',')}}`;
}

type PayloadSpec = { readonly kind: 'claims'; readonly claims: ClaimsSpec } | { readonly kind: 'raw'; readonly bytes: Uint8Array };

function payloadArbitrary(ctx: TokenContext): fc.Arbitrary<PayloadSpec> {
  const text = (arb: fc.Arbitrary<string>): fc.Arbitrary<PayloadSpec> => arb.map((t) => ({ kind: 'raw', bytes: Buffer.from(t) }));
  return fc.oneof(
    { arbitrary: claimsArbitrary(ctx).map((claims): PayloadSpec => ({ kind: 'claims', claims })), weight: 30 },
    { arbitrary: text(fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v))), weight: 1 },
    { arbitrary: text(fc.string({ maxLength: 40 })), weight: 1 },
    { arbitrary: text(fc.constantFrom('', 'null', '[]', '{', '{"sub":"a","exp":1e999}', '{"sub":"a","exp":99999999999,"sub":7}')), weight: 1 },
    { arbitrary: fc.uint8Array({ maxLength: 40 }).map((bytes): PayloadSpec => ({ kind: 'raw', bytes })), weight: 1 },
  );
}

interface HeaderSpec {
  readonly mac: HmacAlgorithm;
  readonly alg: unknown;
  readonly typ: unknown;
  readonly kid: unknown;
  readonly crit: unknown;
  readonly extra: ReadonlyArray<readonly [string, unknown]>;
  /** Not a JSON object at all. */
  readonly rawText: string | undefined;
}

const macs: readonly HmacAlgorithm[] = ['HS256', 'HS384', 'HS512'];

const headerArbitrary: fc.Arbitrary<HeaderSpec> = fc.record({
  mac: fc.constantFrom(...macs),
  algChoice: fc.oneof(
    { arbitrary: fc.constant('same' as const), weight: 40 },
    { arbitrary: fc.constantFrom('HS256', 'HS384', 'HS512', 'none', 'None', 'RS256', 'ES256', 'EdDSA', 'PS256', 'hs256', ''), weight: 3 },
    { arbitrary: anyJson, weight: 1 },
    { arbitrary: fc.constant(ABSENT), weight: 1 },
  ),
  typ: absentOr(fc.oneof(fc.constantFrom('JWT', 'jwt', 'at+jwt'), anyJson), 3),
  kid: absentOr(fc.oneof(fc.string({ maxLength: 20 }), anyJson), 5),
  crit: absentOr(fc.oneof(fc.constant(['exp']), fc.constant(['b64']), anyJson), 30),
  extra: fc.oneof({ arbitrary: fc.constant([]), weight: 9 }, { arbitrary: fc.array(fc.tuple(fc.string({ maxLength: 6 }), anyJson), { maxLength: 3 }), weight: 1 }),
  rawText: fc.oneof({ arbitrary: fc.constant(undefined), weight: 60 }, { arbitrary: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('[]', 'null', '{"alg":"HS256"', '"HS256"')), weight: 1 }),
}).map((r) => ({
  mac: r.mac,
  alg: r.algChoice === 'same' ? r.mac : r.algChoice === ABSENT ? undefined : r.algChoice,
  typ: r.typ === ABSENT ? undefined : r.typ,
  kid: r.kid === ABSENT ? undefined : r.kid,
  crit: r.crit === ABSENT ? undefined : r.crit,
  extra: r.extra,
  rawText: r.rawText,
}));

function headerText(spec: HeaderSpec): string {
  if (spec.rawText !== undefined) return spec.rawText;
  const entries: Array<[string, unknown]> = [];
  if (spec.alg !== undefined) entries.push(['alg', spec.alg]);
  if (spec.typ !== undefined) entries.push(['typ', spec.typ]);
  if (spec.kid !== undefined) entries.push(['kid', spec.kid]);
  if (spec.crit !== undefined) entries.push(['crit', spec.crit]);
  for (const entry of spec.extra) entries.push([entry[0], entry[1]]);
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(',')}}`;
}

type SignatureMode = 'right' | 'wrong-key' | 'tampered' | 'empty';

const signatureArbitrary: fc.Arbitrary<SignatureMode> = fc.oneof(
  { arbitrary: fc.constant('right' as const), weight: 40 },
  { arbitrary: fc.constantFrom('wrong-key' as const, 'tampered' as const, 'empty' as const), weight: 2 },
);

export function tokenArbitrary(ctx: TokenContext): fc.Arbitrary<FuzzToken> {
  return fc.record({ header: headerArbitrary, payload: payloadArbitrary(ctx), signature: signatureArbitrary }).map(({ header, payload, signature }) => {
    const now = nowSeconds();
    const hText = headerText(header);
    const pBytes = payload.kind === 'claims' ? Buffer.from(payloadText(payload.claims, now)) : payload.bytes;
    let text = signCompact(hText, pBytes, signature === 'wrong-key' ? `${ctx.secret}-not` : ctx.secret, header.mac);
    if (signature === 'tampered') text = tamper(text);
    if (signature === 'empty') text = text.slice(0, text.lastIndexOf('.') + 1);
    return { text, ...classify(hText, pBytes, header.mac, signature, now, text.length, ctx.maxTokenBytes) };
  });
}

/** A token for `userId` in `organizations` that must be accepted (sanity path of the fuzzer). */
export function goodToken(secret: string, userId: string, organizations: readonly string[], scopes: readonly string[] = []): string {
  const now = nowSeconds();
  const claims: Record<string, unknown> = { sub: userId, org_ids: organizations, iat: now - 1, exp: now + 6 * 3_600 };
  if (scopes.length > 0) claims['scope'] = scopes.join(' ');
  return signCompact('{"alg":"HS256","typ":"JWT"}', JSON.stringify(claims), secret, 'HS256');
}

/** Changes one character in the middle of the signature (every bit of it is significant there). */
function tamper(text: string): string {
  const at = text.lastIndexOf('.') + 5;
  return `${text.slice(0, at)}${text[at] === 'A' ? 'B' : 'A'}${text.slice(at + 1)}`;
}

/** No lone surrogate (String.prototype.isWellFormed is ES2024). */
export function isWellFormed(text: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

type Verdict = Omit<FuzzToken, 'text'>;

/** The verdict the documented token rules give this exact header and payload. */
function classify(hText: string, pBytes: Uint8Array, mac: HmacAlgorithm, signature: SignatureMode, now: number, length: number, maxBytes: number): Verdict {
  const payload = parseObject(decodeUtf8(pBytes));
  const organizations = payload === undefined ? [] : grantedOrganizations(payload);
  const scopes = payload === undefined ? [] : scopeList(payload['scope']);
  const verdict = (v: TokenVerdict, why: string): Verdict => ({ verdict: v, why, organizations, scopes });
  if (length > maxBytes) return verdict('refuse', 'longer than JWT_MAX_TOKEN_BYTES');
  const header = parseObject(hText);
  if (header === undefined) return verdict('refuse', 'header is not a JSON object');
  if (signature !== 'right') return verdict('refuse', 'bad signature');
  if (header['alg'] !== mac) return verdict('refuse', 'alg is not the HMAC it was signed with');
  if (decodeUtf8(pBytes) === undefined) return verdict('either', 'payload is not UTF-8');
  if (payload === undefined) return verdict('refuse', 'payload is not a JSON object');
  const { sub, exp, iat, nbf } = payload;
  if (typeof sub !== 'string' || sub === '') return verdict('refuse', 'sub is not a non-empty string');
  if (typeof exp !== 'number') return verdict('refuse', 'exp is missing or not a number');
  if (exp <= now - TOLERANCE_MARGIN_S) return verdict('refuse', 'expired');
  if (exp > MAX_TIME_SECONDS) return verdict('refuse', 'exp beyond 8.64e12');
  if (iat !== undefined && typeof iat !== 'number') return verdict('refuse', 'iat is not a number');
  if (typeof iat === 'number' && iat > MAX_TIME_SECONDS) return verdict('refuse', 'iat beyond 8.64e12');
  if (nbf !== undefined && typeof nbf !== 'number') return verdict('refuse', 'nbf is not a number');
  if (typeof nbf === 'number' && nbf > now + TOLERANCE_MARGIN_S) return verdict('refuse', 'not yet valid');
  // Below: what the docs leave open; the answer must still be a documented one.
  if (Object.keys(header).some((key) => !['alg', 'typ', 'kid'].includes(key))) return verdict('either', 'extra header parameters');
  if (header['typ'] !== undefined && header['typ'] !== 'JWT') return verdict('either', 'unusual typ');
  if (header['kid'] !== undefined && typeof header['kid'] !== 'string') return verdict('either', 'kid is not a string');
  if (!Number.isInteger(exp) || exp < now + TOLERANCE_MARGIN_S) return verdict('either', 'exp near now or fractional');
  if (typeof iat === 'number' && (!Number.isInteger(iat) || iat < 0 || iat > now)) return verdict('either', 'iat negative, fractional or in the future');
  if (typeof nbf === 'number' && (nbf < 0 || nbf > now - TOLERANCE_MARGIN_S)) return verdict('either', 'nbf negative or near now');
  if (!isWellFormed(sub) || sub.length > 1_000) return verdict('either', 'sub ill-formed or long');
  if (payload['iss'] !== undefined && typeof payload['iss'] !== 'string') return verdict('either', 'iss is not a string');
  const aud = payload['aud'];
  if (aud !== undefined && typeof aud !== 'string' && !(Array.isArray(aud) && aud.every((a) => typeof a === 'string'))) return verdict('either', 'aud is not a string or strings');
  const scope = payload['scope'];
  if (scope !== undefined && typeof scope !== 'string' && !(Array.isArray(scope) && scope.every((s) => typeof s === 'string'))) return verdict('either', 'scope is not a string or strings');
  const claim = Object.hasOwn(payload, 'org_ids') ? payload['org_ids'] : payload['org_id'];
  if (claim !== undefined && !isOrganizationList(claim)) return verdict('either', 'organization claim is not strings');
  if (organizations.some((org) => !isWellFormed(org) || Buffer.byteLength(org) > 255)) return verdict('either', 'organization id ill-formed or above 255 bytes');
  if (organizations.length > 16) return verdict('either', 'many organizations');
  return verdict('accept', 'well-formed');
}

function isOrganizationList(claim: unknown): boolean {
  if (typeof claim === 'string') return claim !== '';
  return Array.isArray(claim) && claim.every((item) => typeof item === 'string' && item !== '');
}

function grantedOrganizations(payload: Record<string, unknown>): string[] {
  const claim = Object.hasOwn(payload, 'org_ids') ? payload['org_ids'] : payload['org_id'];
  const items: unknown[] = Array.isArray(claim) ? claim : [claim];
  return [...new Set(items.filter((item): item is string => typeof item === 'string' && item !== ''))];
}

function scopeList(scope: unknown): string[] {
  if (typeof scope === 'string') return scope.split(/\s+/).filter((s) => s !== '');
  return Array.isArray(scope) ? scope.filter((s): s is string => typeof s === 'string') : [];
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Uint8Array | string): string | undefined {
  if (typeof bytes === 'string') return bytes;
  try {
    return fatalUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function parseObject(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
