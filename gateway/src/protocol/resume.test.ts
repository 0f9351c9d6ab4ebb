import { describe, expect, it } from 'vitest';
import { formatResume, parseResume, queryParameter, ResumeParseError } from './resume.js';

describe('resume cursor', () => {
  it('round-trips organizations with reserved characters', () => {
    const cursor = new Map([['acme', '1732672800000-0'], ['a:b,c d', '5-1'], ['ünï', '7-0']]);
    const text = formatResume(cursor);
    expect(text).toBe('acme:1732672800000-0,a%3Ab%2Cc%20d:5-1,%C3%BCn%C3%AF:7-0');
    expect(parseResume(text)).toEqual(cursor);
  });

  it('treats an empty value as no cursor and refuses malformed pairs', () => {
    expect(parseResume('').size).toBe(0);
    for (const bad of ['acme', ':1-0', 'acme:', 'acme:1-0,,', '%E0%A4%A:1-0']) expect(() => parseResume(bad)).toThrow(ResumeParseError);
    // Ids are checked too: only what the gateway itself hands out is a valid position.
    for (const bad of ['acme:abc', 'acme:01-0', 'acme:18446744073709551616-0', 'acme:1-', 'acme:1-0-0']) expect(() => parseResume(bad), bad).toThrow(ResumeParseError);
    expect(parseResume('acme:18446744073709551615-0').get('acme')).toBe('18446744073709551615-0');
  });

  it('reads query parameters, decoding them once', () => {
    const query = `access_token=abc&resume=${encodeURIComponent('acme:1-0,glo%2Cbex:2-0')}&timeout_ms=5`;
    expect(queryParameter(query, 'resume')).toBe('acme:1-0,glo%2Cbex:2-0');
    expect(parseResume(queryParameter(query, 'resume')!)).toEqual(new Map([['acme', '1-0'], ['glo,bex', '2-0']]));
    expect(queryParameter(query, 'timeout_ms')).toBe('5');
    expect(queryParameter(query, 'missing')).toBeUndefined();
  });
});
