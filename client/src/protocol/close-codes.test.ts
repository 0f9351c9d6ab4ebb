import { describe, expect, it } from 'vitest';
import * as gateway from '../../../gateway/src/protocol/close-codes.js';
import { CloseCode, closeAdvice } from './close-codes.js';

describe('close codes (copy of the gateway\'s)', () => {
  it('has exactly the gateway\'s names and values', () => {
    expect(CloseCode).toEqual(gateway.CloseCode);
  });

  it('gives the same advice as the gateway for every code', () => {
    const codes = [...Array.from({ length: 1000 }, (_, i) => 1000 + i), ...Array.from({ length: 1000 }, (_, i) => 4000 + i)];
    const differing = codes.filter((code) => closeAdvice(code) !== gateway.closeAdvice(code));
    expect(differing).toEqual([]);
  });

  it('reads the ranges', () => {
    expect(closeAdvice(CloseCode.ServiceRestart)).toBe('reconnect');
    expect(closeAdvice(CloseCode.SlowConsumer)).toBe('reconnect');
    expect(closeAdvice(CloseCode.TokenExpired)).toBe('refresh-token');
    expect(closeAdvice(CloseCode.Revoked)).toBe('stop');
    expect(closeAdvice(1006)).toBe('reconnect');
  });
});
