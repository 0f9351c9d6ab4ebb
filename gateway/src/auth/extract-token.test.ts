import { describe, expect, it } from 'vitest';
import { extractToken } from './extract-token.js';

describe('extractToken', () => {
  it('reads a Bearer authorization header, scheme case-insensitive', () => {
    expect(extractToken('Bearer abc.def.ghi', '')).toBe('abc.def.ghi');
    expect(extractToken('bearer abc.def.ghi', '')).toBe('abc.def.ghi');
    expect(extractToken('BEARER   abc.def.ghi  ', '')).toBe('abc.def.ghi');
  });

  it('prefers the header over the query', () => {
    expect(extractToken('Bearer from-header', 'access_token=from-query')).toBe('from-header');
  });

  it('falls back to the access_token query parameter, percent-decoded', () => {
    expect(extractToken('', 'access_token=abc.def.ghi')).toBe('abc.def.ghi');
    expect(extractToken('', 'v=1&access_token=abc%2Edef%2eghi&x=2')).toBe('abc.def.ghi');
    expect(extractToken('', 'access%5Ftoken=abc')).toBe('abc');
    expect(extractToken('', 'access_token=&access_token=second')).toBe('second');
  });

  it('ignores other schemes and empty bearer values', () => {
    expect(extractToken('Basic dXNlcjpwYXNz', '')).toBeUndefined();
    expect(extractToken('Basic dXNlcjpwYXNz', 'access_token=q')).toBe('q');
    expect(extractToken('Bearer', 'access_token=q')).toBe('q');
    expect(extractToken('Bearer ', '')).toBeUndefined();
    expect(extractToken('Bearer a b', '')).toBeUndefined();
    expect(extractToken('Bearerabc', '')).toBeUndefined();
  });

  it('returns undefined when nothing carries a token', () => {
    expect(extractToken('', '')).toBeUndefined();
    expect(extractToken('', 'token=abc&accesstoken=x')).toBeUndefined();
    expect(extractToken('', 'access_token=')).toBeUndefined();
  });
});
