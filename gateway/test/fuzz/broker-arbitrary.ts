import fc from 'fast-check';
import { applyMutations, mutationArbitrary } from './mutation.js';
import { anyJson, idArbitrary } from './token-arbitrary.js';

/**
 * Messages a careless or hostile task service could publish to the gateway's exchange: well-formed
 * events with odd values, broken ones, membership changes, spoofed canaries, bytes that are not JSON.
 * docs/protocol.md ("Publishing events"): an invalid message is dead-lettered, never requeued in a
 * loop, and the next valid event is delivered as usual.
 */

/** Header values are finite: RabbitMQ itself fails the connection (541) on an infinite double, which says nothing about the gateway. */
export interface BrokerCase {
  readonly label: string;
  readonly routingKey: string;
  readonly body: Uint8Array;
  readonly headers: Readonly<Record<string, unknown>>;
  readonly messageId: string | undefined;
  readonly timestamp: number | undefined;
  readonly contentType: string | undefined;
}

export interface BrokerContext {
  /** Organizations the frame lanes are members of: their events reach live sockets. */
  readonly fuzzOrganizations: readonly string[];
  /** The watcher's names: no message may concern them (the watcher must see exactly its own events). */
  readonly reserved: (name: string) => boolean;
  /** Users that membership messages may name (never a token's `sub`: those are random). */
  readonly userPrefix: string;
}

const TASK_TYPES = ['task.event.created', 'task.event.updated'] as const;
const MEMBER_TYPES = ['organization.member.added', 'organization.member.removed'] as const;

const routingKeys = fc.oneof(
  { arbitrary: fc.constantFrom(...TASK_TYPES), weight: 10 },
  { arbitrary: fc.constantFrom(...MEMBER_TYPES), weight: 3 },
  { arbitrary: fc.constantFrom('task.event.deleted', 'task.event', 'task.event.created.x', 'orgcast.canary.', 'orgcast.canary.fuzz', '#', '*', '', 'organization.member.changed'), weight: 2 },
  { arbitrary: fc.string({ maxLength: 40 }), weight: 1 },
);

const jsonBytes = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value) ?? 'null');

export function brokerCaseArbitrary(ctx: BrokerContext): fc.Arbitrary<BrokerCase> {
  const id = idArbitrary(ctx.reserved);
  const organization = fc.oneof({ arbitrary: fc.constantFrom(...ctx.fuzzOrganizations), weight: 3 }, { arbitrary: id, weight: 2 }, { arbitrary: anyJson, weight: 1 });
  const user = fc.oneof(fc.string({ minLength: 1, maxLength: 12 }).map((s) => `${ctx.userPrefix}${s}`), fc.integer({ min: 200, max: 300 }).map((n) => `${ctx.userPrefix}${'u'.repeat(n)}`), anyJson);
  const timestamp = fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.integer({ min: 0, max: 2 ** 53 }), anyJson, fc.constantFrom('2026-13-45T99:99:99Z', '', 'now', -1, 8.64e15 + 1));
  const body = fc.oneof(
    { arbitrary: fc.record({ event_type: fc.constantFrom(...TASK_TYPES), organization_id: organization, data: anyJson, timestamp }, { requiredKeys: ['event_type', 'organization_id'] }).map(jsonBytes), weight: 8 },
    { arbitrary: fc.record({ event_type: fc.constantFrom(...MEMBER_TYPES), organization_id: organization, user_id: user, timestamp }, { requiredKeys: ['organization_id', 'user_id'] }).map(jsonBytes), weight: 3 },
    { arbitrary: fc.record({ event_type: anyJson, organization_id: organization, data: anyJson }, { requiredKeys: [] }).map(jsonBytes), weight: 2 },
    { arbitrary: fc.record({ pod: fc.oneof(fc.string(), anyJson), sent_at_ms: fc.oneof(fc.integer(), anyJson) }, { requiredKeys: [] }).map(jsonBytes), weight: 1 },
    { arbitrary: anyJson.map(jsonBytes), weight: 2 },
    { arbitrary: fc.tuple(fc.constantFrom(...TASK_TYPES), fc.constantFrom(...ctx.fuzzOrganizations), fc.array(mutationArbitrary, { minLength: 1, maxLength: 4 })).map(([type, org, m]) => applyMutations(jsonBytes({ event_type: type, organization_id: org, data: { id: 't-1', title: 'é' } }), m)), weight: 3 },
    { arbitrary: fc.uint8Array({ maxLength: 300 }), weight: 1 },
    { arbitrary: fc.constantFrom('', '{', 'null', '[]', '{"organization_id":"', '\uFEFF{}', '{"event_type":"task.event.created","organization_id":"a","organization_id":7}').map((t) => Buffer.from(t)), weight: 1 },
    { arbitrary: fc.integer({ min: 1_000, max: 60_000 }).map((depth) => Buffer.from(`{"event_type":"task.event.created","organization_id":"fzb-deep","data":${'['.repeat(depth)}${']'.repeat(depth)}}`)), weight: 1 },
    { arbitrary: fc.integer({ min: 100_000, max: 600_000 }).map((n) => jsonBytes({ event_type: 'task.event.created', organization_id: 'fzb-big', data: 'x'.repeat(n) })), weight: 1 },
  );
  const headers = fc.oneof(
    { arbitrary: fc.constant({}), weight: 4 },
    { arbitrary: fc.record({ organization_id: organization, 'x-published-at-ms': fc.oneof(fc.integer(), fc.string({ maxLength: 20 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean()) }, { requiredKeys: [] }), weight: 2 },
    { arbitrary: fc.dictionary(fc.string({ maxLength: 12 }), fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.boolean(), fc.constant(null)), { maxKeys: 4 }), weight: 1 },
  );
  return fc.record({
    routingKey: routingKeys,
    body,
    headers,
    messageId: fc.option(fc.oneof(fc.uuid(), fc.string({ maxLength: 20 }), fc.constantFrom('dup-1', 'dup-2', '')), { freq: 3 }),
    timestamp: fc.option(fc.oneof(fc.integer({ min: 0, max: 4_000_000_000 }), fc.integer({ min: 1e11, max: 2e12 })), { freq: 2 }),
    contentType: fc.option(fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', ''), { freq: 2 }),
  }).map((r) => ({
    label: labelOf(r.routingKey, r.body),
    routingKey: r.routingKey,
    body: r.body,
    headers: r.headers,
    messageId: r.messageId ?? undefined,
    timestamp: r.timestamp ?? undefined,
    contentType: r.contentType ?? undefined,
  }));
}

function labelOf(routingKey: string, body: Uint8Array): string {
  const kind = (TASK_TYPES as readonly string[]).includes(routingKey) ? 'task' : (MEMBER_TYPES as readonly string[]).includes(routingKey) ? 'membership' : 'other-key';
  return `${kind}${body.byteLength > 64 * 1024 ? '-large' : ''}`;
}

/** Whether a case names the watcher's organization or user anywhere the gateway would read it. */
export function concernsReserved(c: BrokerCase, reserved: (name: string) => boolean): boolean {
  const header = c.headers['organization_id'];
  if (typeof header === 'string' && reserved(header)) return true;
  const text = Buffer.from(c.body).toString('utf8');
  return [...text.matchAll(/"([^"\\]{1,300})"/g)].some((m) => reserved(m[1]!));
}
