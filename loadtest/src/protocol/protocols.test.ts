import { describe, expect, it } from 'vitest';
import { unmaskClientFrame } from '../ws/frame-codec.js';
import { orgcastProtocol } from './orgcast-protocol.js';
import { loadEventData, type ScannedEvent } from './payload-scan.js';
import { socketIoProtocol } from './socketio-protocol.js';
import { TextKind } from './wire-protocol.js';

const out: ScannedEvent = { org: 0, seq: 0, sentAtUs: 0 };
const classify = (p: ReturnType<typeof orgcastProtocol>, text: string): TextKind => p.classify(Buffer.from(text), 0, Buffer.byteLength(text), out);

describe('orgcast protocol', () => {
  const p = orgcastProtocol();
  it('builds the upgrade with header auth and a percent-encoded resume', () => {
    const target = { token: 't.k.n', resume: [['a:b', '1-0'], ['c', '2-1']] as const };
    expect(p.upgradePath(target)).toBe('/api/ws?resume=a%3Ab:1-0,c:2-1');
    expect(p.authorization(target)).toBe('Bearer t.k.n');
    const q = orgcastProtocol({ tokenInQuery: true });
    expect(q.upgradePath({ token: 'a b', resume: [] })).toBe('/api/ws?access_token=a%20b');
    expect(q.authorization({ token: 'x', resume: [] })).toBeUndefined();
  });

  it('classifies frames', () => {
    expect(classify(p, '{"event_type":"connection.established","data":{}}')).toBe(TextKind.Established);
    expect(classify(p, JSON.stringify({ event_type: 'task.event.created', id: '1', data: loadEventData(3, 4, 5, '') }))).toBe(TextKind.Event);
    expect(out).toEqual({ org: 3, seq: 4, sentAtUs: 5 });
    expect(classify(p, '{"event_type":"pong"}')).toBe(TextKind.Other);
    expect(unmaskClientFrame(p.heartbeat!).payload.toString()).toBe('{"event_type":"ping"}');
  });
});

describe('Socket.IO protocol', () => {
  const p = socketIoProtocol();
  it('answers the Engine.IO open with the connect packet carrying the token, and pings with pongs', () => {
    const open = Buffer.from('0{"sid":"x","pingInterval":25000}');
    expect(p.classify(open, 0, open.length, out)).toBe(TextKind.Reply);
    expect(unmaskClientFrame(p.reply(open, 0, open.length, { token: 'tok', resume: [] })!).payload.toString()).toBe('40{"token":"tok"}');
    const ping = Buffer.from('2');
    expect(p.classify(ping, 0, 1, out)).toBe(TextKind.Reply);
    expect(unmaskClientFrame(p.reply(ping, 0, 1, { token: 'tok', resume: [] })!).payload.toString()).toBe('3');
  });

  it('classifies connect, refusal and events', () => {
    expect(classify(p, '40{"sid":"abc"}')).toBe(TextKind.Established);
    expect(classify(p, '44{"message":"unauthorized"}')).toBe(TextKind.Refused);
    expect(classify(p, `42["task.event.created",${JSON.stringify({ data: loadEventData(1, 2, 3, 'pp') })}]`)).toBe(TextKind.Event);
    expect(out).toEqual({ org: 1, seq: 2, sentAtUs: 3 });
    expect(classify(p, '42["other",{}]')).toBe(TextKind.Other);
  });
});
