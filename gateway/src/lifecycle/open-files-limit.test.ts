import { describe, expect, it } from 'vitest';
import { RESERVED_DESCRIPTORS, connectionsWithinLimit, openFilesLimit } from './open-files-limit.js';

describe('openFilesLimit', () => {
  it('reads the soft limit from /proc/self/limits', () => {
    const text = 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            20000                20000                files\n';
    expect(openFilesLimit(text)).toBe(20_000);
    expect(openFilesLimit('Max open files            unlimited            unlimited            files\n')).toBeUndefined();
    expect(openFilesLimit('nothing here')).toBeUndefined();
  });

  it('reads this process\'s limit on Linux', () => {
    expect(openFilesLimit()).toBeGreaterThan(0);
  });

  it('lowers MAX_CONNECTIONS to what the limit leaves after the reserve, never raises it', () => {
    expect(connectionsWithinLimit(100_000, 20_000)).toBe(20_000 - RESERVED_DESCRIPTORS);
    expect(connectionsWithinLimit(5_000, 20_000)).toBe(5_000);
    expect(connectionsWithinLimit(100_000, undefined)).toBe(100_000);
    expect(connectionsWithinLimit(100, 100)).toBe(1);
  });
});
