import { describe, expect, it } from 'vitest';
import { reachesBack } from './history-completeness.js';

const untrimmed = { stored: true, maxDroppedId: '0-0', firstId: '100-0' };
const trimmed = { stored: true, maxDroppedId: '100-4', firstId: '100-5' };
const emptied = { stored: true, maxDroppedId: '100-9', firstId: undefined };
const forgotten = { stored: false, maxDroppedId: '0-0', firstId: undefined };

describe('reachesBack', () => {
  it('is complete from any id of an untrimmed history, and from 0-0', () => {
    expect(reachesBack('0-0', untrimmed)).toBe(true);
    expect(reachesBack('100-0', untrimmed)).toBe(true);
    expect(reachesBack('250-3', untrimmed)).toBe(true);
  });

  it('is incomplete from an id older than an untrimmed history (an earlier, forgotten history)', () => {
    expect(reachesBack('99-7', untrimmed)).toBe(false);
  });

  it('is complete exactly from the last dropped id onwards', () => {
    expect(reachesBack('0-0', trimmed)).toBe(false);
    expect(reachesBack('100-3', trimmed)).toBe(false);
    expect(reachesBack('100-4', trimmed)).toBe(true);
    expect(reachesBack('100-5', trimmed)).toBe(true);
    expect(reachesBack('100-8', emptied)).toBe(false);
    expect(reachesBack('100-9', emptied)).toBe(true);
    expect(reachesBack('200-0', emptied)).toBe(true);
  });

  it('is complete from 0-0 only when nothing is stored', () => {
    expect(reachesBack('0-0', forgotten)).toBe(true);
    expect(reachesBack('100-0', forgotten)).toBe(false);
  });
});
