import { describe, expect, it } from 'vitest';
import { parseUpgradeResponse, upgradeRequest } from './upgrade.js';

describe('upgrade', () => {
  it('builds a request with the token header only when given', () => {
    const withAuth = upgradeRequest({ host: '127.0.0.1', port: 8081, path: '/api/ws?resume=a%3A1', authorization: 'Bearer t' });
    expect(withAuth).toMatch(/^GET \/api\/ws\?resume=a%3A1 HTTP\/1\.1\r\n/);
    expect(withAuth).toContain('Authorization: Bearer t\r\n');
    expect(withAuth.endsWith('\r\n\r\n')).toBe(true);
    expect(upgradeRequest({ host: 'h', port: 1, path: '/' })).not.toContain('Authorization');
  });

  it('parses a 101 and where the frames start', () => {
    const head = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n';
    const buf = Buffer.concat([Buffer.from(head), Buffer.from([0x81, 0x00])]);
    expect(parseUpgradeResponse(buf)).toEqual({ complete: true, status: 101, bodyStart: head.length, error: undefined });
    expect(parseUpgradeResponse(Buffer.from(head.slice(0, 20)))).toEqual({ complete: false });
  });

  it('extracts the error code of a refusal', () => {
    const buf = Buffer.from('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 40\r\n\r\n{"error":"at_capacity","message":"full"}');
    const parsed = parseUpgradeResponse(buf);
    expect(parsed.complete && parsed.status).toBe(503);
    expect(parsed.complete && parsed.error).toBe('at_capacity');
  });
});
