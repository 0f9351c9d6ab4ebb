import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../errors.js';
import { parsePollResponse, parseServerFrame } from './parse-frame.js';

const established = { connection_id: 'c1', user_id: 'alice', organizations: ['acme'], heartbeat_interval_ms: 25_000, heartbeat_timeout_ms: 60_000, max_payload_bytes: 4096, pod: 'p', token_expires_at: 'x' };

describe('parseServerFrame', () => {
  it('reads each kind of frame', () => {
    expect(parseServerFrame(JSON.stringify({ event_type: 'connection.established', data: { ...established, recovered: { acme: false } } })))
      .toEqual({ kind: 'established', frame: { event_type: 'connection.established', data: { ...established, recovered: { acme: false } } } });
    expect(parseServerFrame('{"event_type":"pong"}')).toEqual({ kind: 'pong' });
    expect(parseServerFrame('{"event_type":"task.event.updated","id":"1-0","organization_id":"acme","data":{"done":true},"timestamp":"t"}'))
      .toEqual({ kind: 'event', frame: { event_type: 'task.event.updated', id: '1-0', organization_id: 'acme', data: { done: true }, timestamp: 't' } });
    expect(parseServerFrame('{"event_type":"organization.access.revoked","data":{"organization_id":"acme"}}'))
      .toEqual({ kind: 'access', frame: { event_type: 'organization.access.revoked', data: { organization_id: 'acme' } } });
    expect(parseServerFrame('{"event_type":"error","data":{"code":"rate_limited","message":"m"}}'))
      .toEqual({ kind: 'error', frame: { event_type: 'error', data: { code: 'rate_limited', message: 'm' } } });
    expect(parseServerFrame('{"event_type":"server.notice","text":"hi"}')).toEqual({ kind: 'other', frame: { event_type: 'server.notice', text: 'hi' } });
  });

  it('gives an absent data as null', () => {
    expect(parseServerFrame('{"event_type":"task.event.created","id":"1-0","organization_id":"acme"}')).toMatchObject({ frame: { data: null } });
  });

  it('rejects frames it cannot use', () => {
    for (const bad of ['nope', '[]', '{"id":"1"}', '{"event_type":""}',
      '{"event_type":"connection.established","data":{}}',
      JSON.stringify({ event_type: 'connection.established', data: { ...established, recovered: { acme: 'yes' } } }),
      '{"event_type":"organization.access.granted","data":{}}']) {
      expect(() => parseServerFrame(bad), bad).toThrow(ProtocolError);
    }
  });
});

describe('parsePollResponse', () => {
  it('validates the answer', () => {
    expect(parsePollResponse({ events: [], resume: 'acme:1-0', recovered: { acme: true } })).toEqual({ events: [], resume: 'acme:1-0', recovered: { acme: true }, revoked: [] });
    expect(parsePollResponse({ events: [], resume: 'acme:1-0', recovered: {}, revoked: ['globex'] })).toMatchObject({ revoked: ['globex'] });
    expect(() => parsePollResponse({ events: [], resume: 'acme:1-0', recovered: {}, revoked: [1] })).toThrow(ProtocolError);
    expect(() => parsePollResponse({ events: [], recovered: {} })).toThrow(ProtocolError);
    expect(() => parsePollResponse({ events: [{ event_type: 'task.event.created', id: '1-0' }], resume: '' })).toThrow(/without id or organization_id/);
  });
});
