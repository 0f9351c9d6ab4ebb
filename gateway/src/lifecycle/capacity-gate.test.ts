import { describe, expect, it } from 'vitest';
import { CapacityGate } from './capacity-gate.js';

describe('CapacityGate', () => {
  it('closes at the limit and opens again only below the low watermark', () => {
    const gate = new CapacityGate(100, 90);
    expect(gate.accepting(99)).toBe(true);
    expect(gate.accepting(100)).toBe(false);
    expect(gate.accepting(95)).toBe(false);
    expect(gate.accepting(90)).toBe(false);
    expect(gate.accepting(89)).toBe(true);
    expect(gate.accepting(95)).toBe(true);
  });
});
