import { describe, expect, it } from 'vitest';
import { ClientOptionsError } from '../errors.js';
import { resolveEndpoints, withQuery } from './endpoints.js';

describe('resolveEndpoints', () => {
  it('derives /api/ws and /api/poll from a base URL of any scheme', () => {
    expect(resolveEndpoints('https://rt.example.com', undefined)).toEqual({ websocket: 'wss://rt.example.com/api/ws', poll: 'https://rt.example.com/api/poll' });
    expect(resolveEndpoints('http://127.0.0.1:8081/', undefined)).toEqual({ websocket: 'ws://127.0.0.1:8081/api/ws', poll: 'http://127.0.0.1:8081/api/poll' });
    expect(resolveEndpoints('wss://rt.example.com/api/ws', undefined)).toEqual({ websocket: 'wss://rt.example.com/api/ws', poll: 'https://rt.example.com/api/poll' });
    expect(resolveEndpoints('ws://h/prefix/', undefined)).toEqual({ websocket: 'ws://h/prefix/api/ws', poll: 'http://h/prefix/api/poll' });
  });

  it('resolves a relative URL against the page', () => {
    expect(resolveEndpoints('/', 'https://app.example.com/board?x=1')).toEqual({ websocket: 'wss://app.example.com/api/ws', poll: 'https://app.example.com/api/poll' });
  });

  it('rejects what it cannot use', () => {
    expect(() => resolveEndpoints('/', undefined)).toThrow(ClientOptionsError);
    expect(() => resolveEndpoints('ftp://h', undefined)).toThrow(/http\(s\) or ws\(s\)/);
    expect(() => resolveEndpoints('https://h/?access_token=x', undefined)).toThrow(/query/);
  });
});

describe('withQuery', () => {
  it('URL-encodes values and skips undefined ones', () => {
    expect(withQuery('ws://h/api/ws', { access_token: 'a.b-c_d', resume: 'a%3Ab:1-0,x:2-0', timeout_ms: undefined })).toBe('ws://h/api/ws?access_token=a.b-c_d&resume=a%253Ab%3A1-0%2Cx%3A2-0');
    expect(withQuery('ws://h/api/ws', {})).toBe('ws://h/api/ws');
  });
});
