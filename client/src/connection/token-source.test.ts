import { describe, expect, it } from 'vitest';
import { TokenError } from '../errors.js';
import { TokenSource } from './token-source.js';

describe('TokenSource', () => {
  it('calls getToken once until invalidated, sharing concurrent calls', async () => {
    let calls = 0;
    const source = new TokenSource(async () => `t${++calls}`);
    expect(await Promise.all([source.get(), source.get()])).toEqual(['t1', 't1']);
    expect(await source.get()).toBe('t1');
    source.invalidate();
    expect(await source.get()).toBe('t2');
    expect(calls).toBe(2);
  });

  it('does not keep a failure, and rejects what is not a token', async () => {
    let calls = 0;
    const source = new TokenSource(() => {
      calls += 1;
      if (calls === 1) throw new Error('down');
      return calls === 2 ? '' : 'ok';
    });
    await expect(source.get()).rejects.toMatchObject({ name: 'TokenError', cause: { message: 'down' } });
    await expect(source.get()).rejects.toThrow(TokenError);
    await expect(source.get()).resolves.toBe('ok');
  });
});
