import { describe, expect, it } from 'vitest';
import { loadEventData, monotonicMicros, scanEventId, scanLoadEvent, startsWith, type ScannedEvent } from './payload-scan.js';

describe('payload scan', () => {
  it('reads the fields back from an orgcast envelope', () => {
    const data = loadEventData(12, 345, 1_234_567_890_123, 'xxxx');
    const text = JSON.stringify({ event_type: 'task.event.created', id: 'gw-1.abc-1f', organization_id: 'lt-12', data, timestamp: '2026-01-01T00:00:00.000Z' });
    const buf = Buffer.from(`junk${text}junk`);
    const out: ScannedEvent = { org: -1, seq: -1, sentAtUs: -1 };
    expect(scanLoadEvent(buf, 4, 4 + text.length, out)).toBe(true);
    expect(out).toEqual({ org: 12, seq: 345, sentAtUs: 1_234_567_890_123 });
    expect(scanEventId(buf, 4, 4 + text.length)).toBe('gw-1.abc-1f');
  });

  it('reads a Socket.IO event frame and a payload without padding', () => {
    const text = `42["task.event.created",${JSON.stringify({ id: 'x-1', organization_id: 'o', data: loadEventData(0, 1, 99, '') })}]`;
    const buf = Buffer.from(text);
    const out: ScannedEvent = { org: -1, seq: -1, sentAtUs: -1 };
    expect(scanLoadEvent(buf, 0, buf.length, out)).toBe(true);
    expect(out).toEqual({ org: 0, seq: 1, sentAtUs: 99 });
  });

  it('finds nothing in other frames or outside the range', () => {
    const out: ScannedEvent = { org: -1, seq: -1, sentAtUs: -1 };
    const buf = Buffer.from('{"event_type":"pong"}{"data":{"lt_o":1,"lt_q":2,"lt_t":3}}');
    expect(scanLoadEvent(buf, 0, 21, out)).toBe(false);
    expect(scanEventId(buf, 0, 21)).toBeUndefined();
    expect(startsWith(buf, 0, buf.length, Buffer.from('{"event_type":"pong"'))).toBe(true);
    expect(startsWith(buf, 0, 3, Buffer.from('{"event_type"'))).toBe(false);
  });

  it('uses a clock shared by processes, in microseconds', () => {
    const a = monotonicMicros();
    const b = monotonicMicros();
    expect(Number.isInteger(a)).toBe(true);
    expect(b).toBeGreaterThanOrEqual(a);
  });
});
