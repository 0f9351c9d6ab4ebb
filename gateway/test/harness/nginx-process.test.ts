import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './free-port.js';
import { startNginx, withoutQueryStrings, type NginxProcess } from './nginx-process.js';

describe('nginx process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orgcast-nginx-process-'));
  let nginx: NginxProcess | undefined;
  afterAll(async () => {
    await nginx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('drops query strings (tokens) from the request and upstream of nginx error lines', () => {
    const line = '2026/11/27 10:00:00 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: , '
      + 'request: "GET /api/ws?access_token=eyJ.secret.sig&resume=acme%3A1-0 HTTP/1.1", upstream: "http://127.0.0.1:9/api/ws?access_token=eyJ.secret.sig", host: "127.0.0.1:8080"';
    expect(withoutQueryStrings(line)).toBe('2026/11/27 10:00:00 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: , '
      + 'request: "GET /api/ws?… HTTP/1.1", upstream: "http://127.0.0.1:9/api/ws?…", host: "127.0.0.1:8080"');
  });

  it('never lets a token in the query string reach its log (a refused upstream logs the request line)', async () => {
    const seen: string[] = [];
    const deadPort = await freePort();
    nginx = await startNginx({ dir, hashKey: '$arg_access_token', upstreams: [{ port: deadPort }], onStderr: (text) => seen.push(text) });
    const response = await fetch(`http://127.0.0.1:${nginx.port}/api/ws?access_token=secret-token-value&resume=acme%3A1-0`);
    expect(response.status).toBe(502);
    await expect.poll(() => nginx!.stderr(), { timeout: 5_000 }).toMatch(/request: "GET \/api\/ws\?… HTTP\/1\.1"/);
    expect(nginx.stderr()).not.toContain('secret-token-value');
    expect(seen.join('')).not.toContain('secret-token-value');
    expect(seen.join('')).toContain('connect() failed');
  });
});
