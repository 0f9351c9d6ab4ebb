import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_HASH_KEY, normalizeHashKey, renderNginxConfig } from './nginx-config.js';

describe('nginx configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orgcast-nginx-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes a bare variable name or an expression of variables, and nothing that could escape the directive', () => {
    expect(normalizeHashKey('arg_access_token')).toBe('$arg_access_token');
    expect(normalizeHashKey('$http_x_user_id')).toBe('$http_x_user_id');
    expect(normalizeHashKey('$arg_user:${arg_org}')).toBe('$arg_user:${arg_org}');
    expect(normalizeHashKey(DEFAULT_HASH_KEY)).toBe(DEFAULT_HASH_KEY);
    for (const bad of ['', '$', 'arg key', '$arg_a;', '$arg_a" x', '$arg_a}', 'literal-only-no-dollar-$']) {
      expect(() => normalizeHashKey(bad), bad).toThrow(TypeError);
    }
  });

  it('renders a configuration nginx accepts, with the hash, the pods and WebSocket proxying', () => {
    for (const upstreams of [[], [{ port: 18_001 }], [{ port: 18_001 }, { port: 18_002 }, { port: 18_003, host: '127.0.0.2' }]]) {
      const config = renderNginxConfig({ dir, port: 18_000, upstreams, hashKey: '$http_x_user_id' });
      mkdirSync(join(dir, 'temp'), { recursive: true });
      writeFileSync(join(dir, 'nginx.conf'), config);
      const check = spawnSync('nginx', ['-p', `${dir}/`, '-c', 'nginx.conf', '-e', 'stderr', '-g', `pid ${join(dir, 'nginx.pid')};`, '-t'], { encoding: 'utf8' });
      expect(check.status, check.stderr).toBe(0);
      for (const u of upstreams) expect(config).toContain(`server ${u.host ?? '127.0.0.1'}:${u.port} max_fails=1 fail_timeout=2s;`);
    }
    const config = renderNginxConfig({ dir, port: 18_000, upstreams: [{ port: 18_001 }], hashKey: 'arg_access_token' });
    expect(config).toContain('hash $arg_access_token consistent;');
    expect(config).toContain('proxy_set_header Upgrade $http_upgrade;');
    expect(config).toContain('proxy_read_timeout 3600s;');
    expect(config).toContain('proxy_next_upstream error timeout;');
    expect(config).toContain('X-Forwarded-For $proxy_add_x_forwarded_for');
    expect(config).toContain('access_log off;');
    expect(() => renderNginxConfig({ dir, port: 18_000, upstreams: [], hashKey: 'a b' })).toThrow(TypeError);
  });
});
