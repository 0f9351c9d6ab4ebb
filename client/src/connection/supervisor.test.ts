import { describe, expect, it } from 'vitest';
import { adviceFor } from './supervisor.js';

describe('adviceFor', () => {
  const server = (code: number, httpStatus?: number) => adviceFor({ endedBy: 'server', code, httpStatus });

  it('follows the close code ranges', () => {
    for (const code of [1001, 1006, 1009, 1011, 1012, 1013, 4000, 4001, 4002, 4008]) expect(server(code)).toBe('reconnect');
    expect(server(4100)).toBe('refresh-token');
    for (const code of [4400, 4403, 4429, 1003]) expect(server(code)).toBe('stop');
  });

  it('reconnects after a 1000 it did not ask for (the gateway never sends it: a proxy did)', () => {
    expect(server(1000)).toBe('reconnect');
  });

  it('reads the HTTP status of a refused upgrade when it is known', () => {
    expect(server(1006, 401)).toBe('refresh-token');
    expect(server(1006, 403)).toBe('stop');
    expect(server(1006, 429)).toBe('reconnect');
    expect(server(1006, 503)).toBe('reconnect');
  });

  it('reconnects after ending a connection itself (heartbeat, timeout, protocol error)', () => {
    for (const endedBy of ['heartbeat', 'timeout', 'protocol'] as const) expect(adviceFor({ endedBy, code: 4001, httpStatus: undefined })).toBe('reconnect');
  });
});
