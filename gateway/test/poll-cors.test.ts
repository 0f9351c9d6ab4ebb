import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, token, type RunningGateway } from './helpers/gateway.js';

const APP = 'https://app.example';

async function preflight(gw: RunningGateway, origin: string): Promise<Response> {
  return fetch(`${gw.httpUrl}/api/poll`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
  });
}

async function poll(gw: RunningGateway, origin: string | undefined, bearer: string): Promise<Response> {
  return fetch(`${gw.httpUrl}/api/poll?timeout_ms=0`, { headers: { authorization: `Bearer ${bearer}`, ...(origin !== undefined && { origin }) } });
}

describe('CORS on the long-polling fallback', () => {
  let open: RunningGateway;
  let restricted: RunningGateway;

  beforeAll(async () => {
    [open, restricted] = await Promise.all([startGateway(), startGateway({ ALLOWED_ORIGINS: `${APP},https://admin.example` })]);
  });
  afterAll(async () => {
    await Promise.all([open?.stop(), restricted?.stop()]);
  });

  it('without ALLOWED_ORIGINS: any page may poll with its bearer token', async () => {
    const answer = await preflight(open, 'https://anywhere.example');
    expect(answer.status).toBe(204);
    expect(answer.headers.get('access-control-allow-origin')).toBe('*');
    expect(answer.headers.get('access-control-allow-methods')).toBe('GET, POST');
    expect(answer.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
    expect(Number(answer.headers.get('access-control-max-age'))).toBeGreaterThan(0);

    const response = await poll(open, 'https://anywhere.example', await token('alice', ['acme']));
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    // Refusals are readable too, so the page can tell a stale token from an outage.
    const refused = await poll(open, 'https://anywhere.example', 'garbage');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
    expect(((await refused.json()) as { error: string }).error).toBe('unauthorized');
  });

  it('with ALLOWED_ORIGINS: the listed origins are echoed, others get 403 and no CORS headers', async () => {
    const answer = await preflight(restricted, APP);
    expect(answer.status).toBe(204);
    expect(answer.headers.get('access-control-allow-origin')).toBe(APP);
    expect(answer.headers.get('vary')).toBe('Origin');
    const response = await poll(restricted, APP, await token('alice', ['acme']));
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(APP);
    expect(response.headers.get('access-control-expose-headers')).toBe('retry-after');

    const foreign = await preflight(restricted, 'https://evil.example');
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    const foreignPoll = await poll(restricted, 'https://evil.example', await token('alice', ['acme']));
    expect(foreignPoll.status).toBe(403);
    expect(foreignPoll.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers a request without Origin without CORS headers', async () => {
    const response = await poll(open, undefined, await token('alice', ['acme']));
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});
