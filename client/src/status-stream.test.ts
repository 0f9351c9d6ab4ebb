import { describe, expect, it } from 'vitest';
import { ConnectError } from './errors.js';
import type { ClientStatus } from './status.js';
import { StatusStream } from './status-stream.js';

const connecting: ClientStatus = { type: 'connecting', transport: 'websocket', attempt: 1 };
const polling: ClientStatus = { type: 'polling', transport: 'polling', organizations: [] };

describe('StatusStream', () => {
  it('calls a subscriber with the current status, then each change, skipping repeats', () => {
    const stream = new StatusStream(connecting, (e) => { throw e; });
    const seen: string[] = [];
    const unsubscribe = stream.subscribe((s) => seen.push(s.type));
    stream.set({ type: 'connecting', transport: 'websocket', attempt: 1 });
    stream.set(polling);
    unsubscribe();
    stream.set({ type: 'reconnecting', transport: 'polling', attempt: 2, delayMs: 5, error: new ConnectError('x', undefined) });
    expect(seen).toEqual(['connecting', 'polling']);
  });

  it('never leaves closed', () => {
    const stream = new StatusStream(connecting, (e) => { throw e; });
    stream.set({ type: 'closed', reason: 'client' });
    stream.set(connecting);
    expect(stream.value.type).toBe('closed');
  });

  it('iterates from the current status to closed, each iterator on its own', async () => {
    const stream = new StatusStream(connecting, (e) => { throw e; });
    const first = stream.iterate();
    stream.set(polling);
    const second = stream.iterate();
    stream.set({ type: 'closed', reason: 'max_attempts' });
    const drain = async (it: AsyncIterableIterator<ClientStatus>) => {
      const types: string[] = [];
      for await (const s of it) types.push(s.type);
      return types;
    };
    expect(await drain(first)).toEqual(['connecting', 'polling', 'closed']);
    expect(await drain(second)).toEqual(['polling', 'closed']);
    expect(await drain(stream.iterate())).toEqual(['closed']);
  });

  it('stops delivering to an iterator that was returned early', async () => {
    const stream = new StatusStream(connecting, (e) => { throw e; });
    const seen: string[] = [];
    for await (const s of stream.iterate()) {
      seen.push(s.type);
      break;
    }
    stream.set(polling);
    expect(seen).toEqual(['connecting']);
  });

  it('reports a throwing subscriber without failing the others', () => {
    const reported: unknown[] = [];
    const stream = new StatusStream(connecting, (e) => reported.push(e));
    const seen: string[] = [];
    stream.subscribe((s) => {
      if (s.type === 'polling') throw new Error('boom');
    });
    stream.subscribe((s) => seen.push(s.type));
    stream.set(polling);
    expect(seen).toEqual(['connecting', 'polling']);
    expect(reported).toHaveLength(1);
  });
});
