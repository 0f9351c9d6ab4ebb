import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../errors.js';
import { decodeResume, encodeResume } from './resume-param.js';

describe('resume parameter', () => {
  it('encodes organization:id pairs, comma-separated', () => {
    expect(encodeResume([['acme', '1732672800000-0'], ['globex', '1732672799000-3']])).toBe('acme:1732672800000-0,globex:1732672799000-3');
    expect(encodeResume([])).toBe('');
  });

  it('percent-encodes each part so organizations may contain : , % and spaces', () => {
    const text = encodeResume([['a:b,c', '1-0'], ['50% off', '2-1']]);
    expect(text).toBe('a%3Ab%2Cc:1-0,50%25%20off:2-1');
    expect([...decodeResume(text)]).toEqual([['a:b,c', '1-0'], ['50% off', '2-1']]);
  });

  it('round-trips through a query string (URL-encoded once more)', () => {
    const text = encodeResume([['a:b', '1-0'], ['x', '5-5']]);
    const url = new URL('http://gw/api/poll');
    url.searchParams.set('resume', text);
    expect(decodeResume(url.searchParams.get('resume')!)).toEqual(new Map([['a:b', '1-0'], ['x', '5-5']]));
  });

  it('decodes the server\'s cursor as documented', () => {
    expect(decodeResume('acme:1732672800000-1,globex:1732672799000-3')).toEqual(new Map([['acme', '1732672800000-1'], ['globex', '1732672799000-3']]));
    expect(decodeResume('')).toEqual(new Map());
  });

  it('rejects malformed pairs', () => {
    for (const bad of ['acme', ':1-0', 'acme:', 'a%ZZ:1-0', 'acme:1-0,,b:2-0']) expect(() => decodeResume(bad)).toThrow(ProtocolError);
  });
});
