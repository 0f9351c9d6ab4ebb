import { describe, expect, it } from 'vitest';
import { Opcode, PARSE_ERROR, maskedClose, maskedFrame, maskedText, parseFrames, serverFrame, unmaskClientFrame, type FrameSink } from './frame-codec.js';

function collect(): { sink: FrameSink; frames: Array<[number, boolean, string]> } {
  const frames: Array<[number, boolean, string]> = [];
  return { frames, sink: { onFrame: (op, fin, buf, s, e) => frames.push([op, fin, buf.toString('latin1', s, e)]) } };
}

describe('frame codec', () => {
  it('masks client frames of every length class reversibly', () => {
    for (const size of [0, 5, 125, 126, 70_000]) {
      const payload = Buffer.alloc(size, 'x');
      const frame = maskedFrame(Opcode.Binary, payload);
      expect(frame[1]! & 0x80).toBe(0x80);
      const back = unmaskClientFrame(frame);
      expect(back.opcode).toBe(Opcode.Binary);
      expect(back.payload.equals(payload)).toBe(true);
    }
    expect(unmaskClientFrame(maskedText('{"event_type":"ping"}')).payload.toString()).toBe('{"event_type":"ping"}');
    expect(unmaskClientFrame(maskedClose(1000)).payload.readUInt16BE(0)).toBe(1000);
  });

  it('parses several frames split at every byte boundary', () => {
    const stream = Buffer.concat([
      serverFrame(Opcode.Text, Buffer.from('hello')),
      serverFrame(Opcode.Ping, Buffer.from('p')),
      serverFrame(Opcode.Text, Buffer.alloc(300, 'a')),
      serverFrame(Opcode.Text, Buffer.alloc(70_000, 'b'), false),
    ]);
    for (let cut = 0; cut <= stream.length; cut += 997) {
      const { sink, frames } = collect();
      const first = stream.subarray(0, cut);
      const rest = parseFrames(first, 0, sink);
      expect(rest).toBeGreaterThanOrEqual(0);
      const carried = Buffer.concat([first.subarray(rest), stream.subarray(cut)]);
      expect(parseFrames(carried, 0, sink)).toBe(carried.length);
      expect(frames.map(([op, fin, text]) => [op, fin, text.length])).toEqual([
        [Opcode.Text, true, 5], [Opcode.Ping, true, 1], [Opcode.Text, true, 300], [Opcode.Text, false, 70_000],
      ]);
    }
  });

  it('refuses masked server frames', () => {
    const { sink } = collect();
    expect(parseFrames(maskedText('x'), 0, sink)).toBe(PARSE_ERROR);
  });
});
