import { afterEach, describe, expect, it, vi } from 'vitest';
import { PollError, ProtocolError } from '../errors.js';
import { FakePollServer, pollBody } from '../testing/fake-fetch.js';
import { poll, type PollRequest } from './poll-request.js';

function request(server: FakePollServer, overrides: Partial<PollRequest> = {}): PollRequest {
  return { fetch: server.fetch, endpoint: 'http://gw/api/poll', token: 'tok', resume: 'a%3Ab:1-0,x:2-0', timeoutMs: 25_000, graceMs: 5_000, signal: new AbortController().signal, ...overrides };
}

describe('poll', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends the token as a bearer header and the cursor as resume', async () => {
    const server = new FakePollServer();
    const answer = poll(request(server));
    const sent = server.last;
    expect(sent.url.pathname).toBe('/api/poll');
    expect(sent.url.searchParams.get('resume')).toBe('a%3Ab:1-0,x:2-0');
    expect(sent.url.searchParams.get('timeout_ms')).toBe('25000');
    expect(sent.url.searchParams.has('access_token')).toBe(false);
    expect(sent.headers.authorization).toBe('Bearer tok');
    sent.respond(200, pollBody([{ org: 'x', id: '3-0' }], 'a%3Ab:1-0,x:3-0', { 'a:b': true, x: true }));
    await expect(answer).resolves.toEqual({
      events: [{ event_type: 'task.event.created', id: '3-0', organization_id: 'x', data: { id: '3-0' }, timestamp: '2026-11-27T02:00:00.000Z' }],
      resume: 'a%3Ab:1-0,x:3-0',
      recovered: { 'a:b': true, x: true },
      revoked: [],
    });
  });

  it('omits resume on the first call', async () => {
    const server = new FakePollServer();
    const answer = poll(request(server, { resume: undefined }));
    expect(server.last.url.searchParams.has('resume')).toBe(false);
    server.last.respond(200, { events: [], resume: 'acme:5-0' });
    expect((await answer).recovered).toEqual({});
  });

  it('turns refusals into PollError with status, error code and Retry-After', async () => {
    const server = new FakePollServer();
    const answer = poll(request(server));
    server.last.respond(503, { error: 'draining', message: 'pod is shutting down' }, { 'Retry-After': '2' });
    const error = await answer.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PollError);
    expect(error).toMatchObject({ name: 'PollError', status: 503, code: 'draining', retryAfterMs: 2_000 });
  });

  it('reports a refusal without a JSON body by its status', async () => {
    const server = new FakePollServer();
    const answer = poll(request(server));
    server.last.respond(502, '<html>bad gateway');
    await expect(answer).rejects.toMatchObject({ name: 'PollError', status: 502, code: undefined });
  });

  it('wraps network failures, keeping the cause', async () => {
    const server = new FakePollServer();
    const answer = poll(request(server));
    const cause = new TypeError('fetch failed');
    server.last.fail(cause);
    await expect(answer).rejects.toMatchObject({ name: 'PollError', status: undefined, cause });
  });

  it('rejects answers that do not follow the protocol', async () => {
    const server = new FakePollServer();
    const answer = poll(request(server));
    server.last.respond(200, { events: [{ event_type: 'task.event.created' }], resume: '' });
    await expect(answer).rejects.toBeInstanceOf(ProtocolError);
  });

  it('gives up on a request the server holds beyond timeout + grace', async () => {
    vi.useFakeTimers();
    const server = new FakePollServer();
    const answer = poll(request(server, { timeoutMs: 1_000, graceMs: 500 }));
    const outcome = answer.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1_499);
    expect(server.last.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await outcome).toMatchObject({ name: 'PollError', message: 'no answer within 1500 ms' });
  });

  it('rejects with the abort reason when the caller aborts', async () => {
    const server = new FakePollServer();
    const controller = new AbortController();
    const answer = poll(request(server, { signal: controller.signal }));
    const reason = new Error('switching to WebSocket');
    controller.abort(reason);
    await expect(answer).rejects.toBe(reason);
  });
});
