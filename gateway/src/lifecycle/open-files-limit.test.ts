import { describe, expect, it } from 'vitest';
import { openFilesLimit } from './open-files-limit.js';

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
});
