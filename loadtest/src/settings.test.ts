import { describe, expect, it } from 'vitest';
import { UsageError, eventsPerSecondFor, parseSettings } from './settings.js';

describe('parseSettings', () => {
  it('has small defaults and per-scenario choices', () => {
    const fanout = parseSettings(['fanout'])!;
    expect(fanout).toMatchObject({ scenario: 'fanout', connections: 2_000, members: [10, 100, 1000], durationMs: 10_000, targets: ['orgcast', 'socketio', 'uws-ceiling'], algorithms: ['HS256'] });
    expect(eventsPerSecondFor(fanout, 100)).toBe(200);
    expect(parseSettings(['connect'])!.algorithms).toEqual(['HS256', 'ES256']);
    expect(parseSettings(['storm'])!.targets).toEqual(['orgcast']);
    expect(parseSettings(['soak'])!.heartbeatMs).toBe(2_000);
    expect(parseSettings(['idle', '--no-redis'])!.redisUrl).toBeUndefined();
    expect(parseSettings(['--help'])).toBeUndefined();
  });

  it('takes a fixed rate, lists and repeated gateway variables', () => {
    const s = parseSettings(['latency', '--rate', '0', '--alg', 'es256', '--targets', 'orgcast,uws-ceiling', '--gateway-env', 'A=1', '--gateway-env', 'B=x=y'])!;
    expect(eventsPerSecondFor(s, 100)).toBe(0);
    expect(s.algorithms).toEqual(['ES256']);
    expect(s.targets).toEqual(['orgcast', 'uws-ceiling']);
    expect(s.gatewayEnv).toEqual({ A: '1', B: 'x=y' });
  });

  it('derives the members default from --connections (a small fan-out run works as typed)', () => {
    expect(parseSettings(['fanout', '--connections', '200'])!.members).toEqual([10, 100]);
    expect(parseSettings(['fanout', '--connections', '5'])!.members).toEqual([5]);
    expect(parseSettings(['fanout', '--connections', '1000'])!.members).toEqual([10, 100, 1000]);
    expect(parseSettings(['latency', '--connections', '50'])!.members).toEqual([50]);
    expect(parseSettings(['storm', '--connections', '2000'])!.members).toEqual([100]);
    // An explicit value that cannot fit is still refused.
    expect(() => parseSettings(['fanout', '--connections', '200', '--members', '1000'])).toThrow(/--members 1000 exceeds --connections 200/);
  });

  it('refuses bad input with a usage error', () => {
    for (const argv of [[], ['nope'], ['idle', '--connections', '0'], ['idle', '--connections', '1000000'], ['fanout', '--members', '5000'],
      ['idle', '--targets', 'nats'], ['idle', '--rate', '1', '--deliveries-per-second', '2'], ['idle', '--gateway-env', 'X'], ['idle', '--bogus'], ['idle', 'extra']]) {
      expect(() => parseSettings(argv), argv.join(' ')).toThrow(UsageError);
    }
  });
});
