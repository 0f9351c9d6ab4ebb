import { describe, expect, it } from 'vitest';
import { parseBrokerMessage, type BrokerMessage } from './parse-message.js';

const RECEIVED = 1_700_000_100_000;

function message(overrides: Partial<BrokerMessage> & { json?: unknown } = {}): BrokerMessage {
  const { json, ...rest } = overrides;
  return {
    routingKey: 'task.event.created',
    body: Buffer.from(JSON.stringify(json ?? { organization_id: 'org-1', data: { id: 7 } })),
    headers: undefined,
    receivedAtMs: RECEIVED,
    ...rest,
  };
}

describe('parseBrokerMessage: task events', () => {
  it('accepts a valid event and keeps data unchanged', () => {
    const data = { id: 'task-1', nested: { list: [1, 'two', null] } };
    const parsed = parseBrokerMessage(message({
      json: { event_type: 'task.event.updated', organization_id: 'org-1', data },
      routingKey: 'task.event.updated',
      messageId: 'm-1',
    }));
    expect(parsed).toEqual({
      kind: 'task',
      event: { eventType: 'task.event.updated', organizationId: 'org-1', dataJson: JSON.stringify(data), publishedAtMs: undefined, messageId: 'm-1' },
    });
  });

  it('defaults event_type to the routing key, and the body type wins over the key', () => {
    const fromKey = parseBrokerMessage(message({ routingKey: 'task.event.updated' }));
    expect(fromKey).toMatchObject({ kind: 'task', event: { eventType: 'task.event.updated' } });
    const fromBody = parseBrokerMessage(message({ routingKey: 'task.event.updated', json: { event_type: 'task.event.created', organization_id: 'o' } }));
    expect(fromBody).toMatchObject({ kind: 'task', event: { eventType: 'task.event.created' } });
  });

  it.each([
    ['a scalar', 42],
    ['a string', 'text'],
    ['null', null],
    ['an array', [1, 2]],
    ['false', false],
  ])('accepts data that is %s, and a missing data as null', (_name, data) => {
    expect(parseBrokerMessage(message({ json: { organization_id: 'o', data } }))).toMatchObject({ kind: 'task', event: { dataJson: JSON.stringify(data) } });
    expect(parseBrokerMessage(message({ json: { organization_id: 'o' } }))).toMatchObject({ kind: 'task', event: { dataJson: 'null' } });
  });

  it('dead-letters data that parses but nests too deeply to serialise (never a retry loop)', () => {
    const deep = `{"organization_id":"o","data":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    let parsed;
    try {
      parsed = parseBrokerMessage({ routingKey: 'task.event.created', body: Buffer.from(deep), headers: {}, timestampSeconds: undefined, messageId: undefined, receivedAtMs: 0 });
    } catch (error) {
      throw new Error(`the parser threw instead of refusing: ${String(error)}`);
    }
    expect(parsed.kind).toBe('invalid');
  });

  it('takes the organization from the header when the body has none, the body winning when both are present', () => {
    const headers = { organization_id: 'from-header' };
    expect(parseBrokerMessage(message({ json: { data: 1 }, headers }))).toMatchObject({ event: { organizationId: 'from-header' } });
    expect(parseBrokerMessage(message({ json: { organization_id: null, data: 1 }, headers }))).toMatchObject({ event: { organizationId: 'from-header' } });
    expect(parseBrokerMessage(message({ json: { organization_id: 'from-body' }, headers }))).toMatchObject({ event: { organizationId: 'from-body' } });
  });

  it('rejects a missing or empty organization', () => {
    for (const json of [{ data: 1 }, { organization_id: '' }, { organization_id: null }]) {
      expect(parseBrokerMessage(message({ json }))).toMatchObject({ kind: 'invalid', reason: 'missing_organization' });
    }
    expect(parseBrokerMessage(message({ json: {}, headers: { organization_id: '' } }))).toMatchObject({ reason: 'missing_organization' });
  });

  it('rejects an organization that is not a string or is too long', () => {
    expect(parseBrokerMessage(message({ json: { organization_id: 42 } }))).toMatchObject({ kind: 'invalid', reason: 'invalid_shape' });
    expect(parseBrokerMessage(message({ json: {}, headers: { organization_id: Buffer.from('x') } }))).toMatchObject({ reason: 'invalid_shape' });
    expect(parseBrokerMessage(message({ json: { organization_id: 'x'.repeat(257) } }))).toMatchObject({ reason: 'invalid_shape' });
    expect(parseBrokerMessage(message({ json: { organization_id: 'x'.repeat(256) } }))).toMatchObject({ kind: 'task' });
  });

  it('reads publishedAtMs from x-published-at-ms first, then the AMQP timestamp, then the body', () => {
    const json = { organization_id: 'o', timestamp: '2024-01-02T03:04:05.678Z' };
    const bodyMs = Date.parse('2024-01-02T03:04:05.678Z');
    expect(parseBrokerMessage(message({ json, timestampSeconds: 1_700_000_000, headers: { 'x-published-at-ms': 1_700_000_000_123 } })))
      .toMatchObject({ event: { publishedAtMs: 1_700_000_000_123 } });
    expect(parseBrokerMessage(message({ json, timestampSeconds: 1_700_000_000, headers: { 'x-published-at-ms': '1700000000456' } })))
      .toMatchObject({ event: { publishedAtMs: 1_700_000_000_456 } });
    expect(parseBrokerMessage(message({ json, timestampSeconds: 1_700_000_000 }))).toMatchObject({ event: { publishedAtMs: 1_700_000_000_000 } });
    expect(parseBrokerMessage(message({ json }))).toMatchObject({ event: { publishedAtMs: bodyMs } });
    expect(parseBrokerMessage(message({ json: { organization_id: 'o', timestamp: 1_700_000_000_999 } }))).toMatchObject({ event: { publishedAtMs: 1_700_000_000_999 } });
  });

  it('ignores an AMQP timestamp beyond what a date holds (nanoseconds): it once stalled ingest, its frame could not be built', () => {
    const parsed = parseBrokerMessage(message({ timestampSeconds: 1_700_000_000_321 * 1e6 }));
    expect(parsed).toMatchObject({ kind: 'task' });
    expect(parsed.kind === 'task' ? parsed.event.publishedAtMs : 0).toBeUndefined();
  });

  it('reads an AMQP timestamp that can only be milliseconds as milliseconds', () => {
    expect(parseBrokerMessage(message({ timestampSeconds: 1_700_000_000_321 }))).toMatchObject({ event: { publishedAtMs: 1_700_000_000_321 } });
  });

  it('ignores unusable times instead of rejecting the event', () => {
    const parsed = parseBrokerMessage(message({
      json: { organization_id: 'o', timestamp: 'yesterday' },
      timestampSeconds: 0,
      headers: { 'x-published-at-ms': 'soon' },
    }));
    expect(parsed).toMatchObject({ kind: 'task', event: { publishedAtMs: undefined } });
    expect(parseBrokerMessage(message({ json: { organization_id: 'o', timestamp: -5 } }))).toMatchObject({ event: { publishedAtMs: undefined } });
  });

  it('treats an empty message id as absent', () => {
    expect(parseBrokerMessage(message({ messageId: '' }))).toMatchObject({ event: { messageId: undefined } });
  });
});

describe('parseBrokerMessage: membership events', () => {
  const removed = { event_type: 'organization.member.removed', organization_id: 'org-1', user_id: 'user-1' };

  it('accepts added and removed, with the time from the body, the AMQP timestamp, or the receipt', () => {
    expect(parseBrokerMessage(message({ routingKey: 'organization.member.added', json: { organization_id: 'o', user_id: 'u', timestamp: '2024-01-02T03:04:05.000Z' } })))
      .toEqual({ kind: 'membership', change: { eventType: 'organization.member.added', organizationId: 'o', userId: 'u', atMs: Date.parse('2024-01-02T03:04:05.000Z') } });
    expect(parseBrokerMessage(message({ routingKey: 'organization.member.removed', json: { ...removed, timestamp: 1_700_000_000_500 } })))
      .toMatchObject({ change: { eventType: 'organization.member.removed', atMs: 1_700_000_000_500 } });
    expect(parseBrokerMessage(message({ routingKey: 'organization.member.removed', json: removed, timestampSeconds: 1_700_000_001 })))
      .toMatchObject({ change: { atMs: 1_700_000_001_000 } });
    expect(parseBrokerMessage(message({ routingKey: 'organization.member.removed', json: removed }))).toMatchObject({ change: { atMs: RECEIVED } });
  });

  it('takes the organization from the header like task events', () => {
    const parsed = parseBrokerMessage(message({ routingKey: 'organization.member.removed', json: { user_id: 'u' }, headers: { organization_id: 'h' } }));
    expect(parsed).toMatchObject({ kind: 'membership', change: { organizationId: 'h', userId: 'u' } });
  });

  it('rejects a missing organization or a missing, empty, non-string or too long user_id', () => {
    expect(parseBrokerMessage(message({ routingKey: 'organization.member.removed', json: { user_id: 'u' } }))).toMatchObject({ reason: 'missing_organization' });
    for (const userId of [undefined, '', 7, 'u'.repeat(257)]) {
      const parsed = parseBrokerMessage(message({ routingKey: 'organization.member.added', json: { organization_id: 'o', user_id: userId } }));
      expect(parsed).toMatchObject({ kind: 'invalid', reason: 'invalid_shape' });
    }
  });
});

describe('parseBrokerMessage: canaries', () => {
  it('accepts a canary, the pod coming from the routing key', () => {
    const parsed = parseBrokerMessage(message({ routingKey: 'orgcast.canary.pod-a.x', json: { pod: 'pod-a.x', sent_at_ms: 1_700_000_000_000 } }));
    expect(parsed).toEqual({ kind: 'canary', pod: 'pod-a.x', sentAtMs: 1_700_000_000_000 });
    expect(parseBrokerMessage(message({ routingKey: 'orgcast.canary.p', json: { sent_at_ms: 5 } }))).toEqual({ kind: 'canary', pod: 'p', sentAtMs: 5 });
  });

  it('rejects a canary with no pod, a mismatched pod or no usable time', () => {
    expect(parseBrokerMessage(message({ routingKey: 'orgcast.canary.', json: { sent_at_ms: 1 } }))).toMatchObject({ reason: 'invalid_shape' });
    expect(parseBrokerMessage(message({ routingKey: 'orgcast.canary.a', json: { pod: 'b', sent_at_ms: 1 } }))).toMatchObject({ reason: 'invalid_shape' });
    expect(parseBrokerMessage(message({ routingKey: 'orgcast.canary.a', json: { pod: 'a', sent_at_ms: 'now' } }))).toMatchObject({ reason: 'invalid_shape' });
    expect(parseBrokerMessage(message({ routingKey: 'orgcast.canary.a', body: Buffer.from('{') }))).toMatchObject({ reason: 'malformed_json' });
  });
});

describe('parseBrokerMessage: poison', () => {
  it.each([
    ['truncated JSON', '{"organization_id":"o"'],
    ['an empty body', ''],
    ['plain text', 'hello'],
  ])('rejects %s as malformed_json', (_name, text) => {
    expect(parseBrokerMessage(message({ body: Buffer.from(text) }))).toMatchObject({ kind: 'invalid', reason: 'malformed_json' });
  });

  it('rejects a body that is not UTF-8 as malformed_json', () => {
    const parsed = parseBrokerMessage(message({ body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) }));
    expect(parsed).toMatchObject({ kind: 'invalid', reason: 'malformed_json', detail: 'body is not valid UTF-8' });
  });

  it.each([
    ['an array', '[{"organization_id":"o"}]', 'an array'],
    ['a number', '42', 'number'],
    ['a string', '"task"', 'string'],
    ['null', 'null', 'null'],
  ])('rejects a body that is %s as invalid_shape', (_name, text, shown) => {
    const parsed = parseBrokerMessage(message({ body: Buffer.from(text) }));
    expect(parsed).toEqual({ kind: 'invalid', reason: 'invalid_shape', detail: `body must be a JSON object, got ${shown}` });
  });

  it('rejects a non-string event_type as invalid_shape', () => {
    expect(parseBrokerMessage(message({ json: { event_type: 5, organization_id: 'o' } }))).toMatchObject({ reason: 'invalid_shape' });
  });

  it('rejects unknown event types, from the body or the routing key', () => {
    expect(parseBrokerMessage(message({ json: { event_type: 'task.event.deleted', organization_id: 'o' } })))
      .toEqual({ kind: 'invalid', reason: 'unknown_event_type', detail: 'unknown event type "task.event.deleted"' });
    expect(parseBrokerMessage(message({ routingKey: 'organization.member.promoted', json: { organization_id: 'o', user_id: 'u' } })))
      .toMatchObject({ reason: 'unknown_event_type' });
  });

  it('never puts body content in the detail', () => {
    const secret = 'secret-value-123';
    const bodies = [`{"organization_id":"${secret}"`, `["${secret}"]`, JSON.stringify({ organization_id: 7, data: secret }), JSON.stringify({ organization_id: 'o', user_id: secret.repeat(30) })];
    for (const text of bodies) {
      const parsed = parseBrokerMessage(message({ routingKey: 'organization.member.added', body: Buffer.from(text) }));
      expect(parsed.kind).toBe('invalid');
      expect(JSON.stringify(parsed)).not.toContain(secret);
    }
  });
});
