import fc from 'fast-check';

/**
 * Resume cursors (docs/protocol.md, "Resuming after a reconnect"): comma-separated
 * `organization:id` pairs, each part percent-encoded, ids `<ms>-<seq>`. Generated for the
 * organizations a token grants (plus others), then classified by the documented format itself.
 */

export type ResumeForm = 'well-formed' | 'malformed' | 'either';

export interface ResumeSpec {
  /** The parameter's value as the server reads it (after the query's own percent-decoding). */
  readonly value: string;
  /** How it is written into the query string. */
  readonly inQuery: string;
  readonly form: ResumeForm;
}

const U64_MAX = 18_446_744_073_709_551_615n;

const decimal = fc.oneof(
  { arbitrary: fc.nat({ max: 1_000 }).map(String), weight: 4 },
  { arbitrary: fc.integer({ min: 1_600_000_000_000, max: 2_000_000_000_000 }).map(String), weight: 4 },
  { arbitrary: fc.bigInt({ min: 0n, max: U64_MAX }).map(String), weight: 2 },
  { arbitrary: fc.constantFrom('0', String(U64_MAX), String(2 ** 53), String(2 ** 53 + 1)), weight: 1 },
);

const wellFormedId = fc.tuple(decimal, decimal).map(([ms, seq]) => `${ms}-${seq}`);

const malformedId = fc.oneof(
  fc.constantFrom('abc', '01-0', '0-01', '00-0', '18446744073709551616-0', '1-18446744073709551616', '99999999999999999999999-0',
    '-1-0', '1', '1-', '-0', '-', '1-0-0', '1.5-0', ' 1-0', '1-0 ', '0x1-0', '1e3-0', '+1-0', '１-0', '1_0', 'NaN-0', '1-0\u0000'),
  fc.string({ minLength: 1, maxLength: 12 }),
);

interface PairSpec {
  readonly organization: string;
  readonly id: string;
  readonly damage: 'none' | 'no-colon' | 'empty-organization' | 'empty-id' | 'bad-escape' | 'raw-colon';
}

function pairArbitrary(organizations: readonly string[]): fc.Arbitrary<PairSpec> {
  const organization = organizations.length > 0
    ? fc.oneof({ arbitrary: fc.constantFrom(...organizations), weight: 4 }, { arbitrary: fc.string({ minLength: 1, maxLength: 12 }), weight: 1 })
    : fc.string({ minLength: 1, maxLength: 12 });
  return fc.record({
    organization,
    id: fc.oneof({ arbitrary: wellFormedId, weight: 6 }, { arbitrary: malformedId, weight: 2 }),
    damage: fc.oneof(
      { arbitrary: fc.constant('none' as const), weight: 20 },
      { arbitrary: fc.constantFrom('no-colon' as const, 'empty-organization' as const, 'empty-id' as const, 'bad-escape' as const, 'raw-colon' as const), weight: 1 },
    ),
  });
}

function writePair(pair: PairSpec): string {
  const organization = safeEncode(pair.organization);
  const id = safeEncode(pair.id);
  switch (pair.damage) {
    case 'none': return `${organization}:${id}`;
    case 'no-colon': return `${organization}${id}`;
    case 'empty-organization': return `:${id}`;
    case 'empty-id': return `${organization}:`;
    case 'bad-escape': return `${organization}%zz:${id}`;
    case 'raw-colon': return `${pair.organization.replace(/[,%]/g, '')}:x:${id}`;
  }
}

/** encodeURIComponent, except that a lone surrogate (which it refuses) is written raw. */
function safeEncode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return text;
  }
}

export function resumeArbitrary(organizations: readonly string[]): fc.Arbitrary<ResumeSpec> {
  return fc.record({
    pairs: fc.oneof(
      { arbitrary: fc.array(pairArbitrary(organizations), { maxLength: 5 }), weight: 20 },
      { arbitrary: fc.array(pairArbitrary(organizations), { minLength: 100, maxLength: 400 }), weight: 1 },
    ),
    separatorNoise: fc.oneof({ arbitrary: fc.constant(''), weight: 15 }, { arbitrary: fc.constantFrom(',', ' ', ',,', '%2C'), weight: 1 }),
    encodeInQuery: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }),
  }).map(({ pairs, separatorNoise, encodeInQuery }) => {
    const value = pairs.map(writePair).join(',') + separatorNoise;
    const raw = !encodeInQuery && /^[A-Za-z0-9\-._~:,!$'()*;=@/?]*$/.test(value);
    return { value, inQuery: raw ? value : safeEncode(value), form: classifyResume(value, new Set(organizations)) };
  });
}

/**
 * The documented format, read independently of the gateway's parser. A bad id for an organization
 * the token does not grant may be ignored with the pair ("Pairs for organizations the token does
 * not grant are ignored") or refused: either answer is right.
 */
export function classifyResume(value: string, granted: ReadonlySet<string>): ResumeForm {
  if (value === '') return 'well-formed';
  if (value.trim() === '') return 'either';
  const pairs = value.split(',');
  if (pairs.length > 1_000) return 'either';
  const seen = new Set<string>();
  let ungrantedBadId = false;
  for (const pair of pairs) {
    const colon = pair.indexOf(':');
    if (colon < 0) return 'malformed';
    let organization: string;
    let id: string;
    try {
      organization = decodeURIComponent(pair.slice(0, colon));
      id = decodeURIComponent(pair.slice(colon + 1));
    } catch {
      return 'malformed';
    }
    if (organization === '') return 'malformed';
    if (!isEventId(id)) {
      if (granted.has(organization)) return 'malformed';
      ungrantedBadId = true;
    }
    if (seen.has(organization)) return 'either';
    seen.add(organization);
  }
  return ungrantedBadId ? 'either' : 'well-formed';
}

function isEventId(id: string): boolean {
  const match = /^(0|[1-9]\d*)-(0|[1-9]\d*)$/.exec(id);
  return match !== null && BigInt(match[1]!) <= U64_MAX && BigInt(match[2]!) <= U64_MAX;
}
