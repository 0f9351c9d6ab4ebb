import fc from 'fast-check';

/** Byte-level damage to a valid input (a frame payload, a request): the classic mutational fuzzing step. */
export interface Mutation {
  readonly kind: 'flip' | 'insert' | 'delete' | 'duplicate' | 'truncate' | 'set';
  /** Where, as a fraction of the input's length (so a mutation stays meaningful while shrinking). */
  readonly at: number;
  readonly length: number;
  readonly bytes: Uint8Array;
}

const interestingBytes = [0x00, 0x0a, 0x0d, 0x20, 0x22, 0x25, 0x2c, 0x3a, 0x5c, 0x7b, 0x7d, 0x7f, 0x80, 0xc0, 0xed, 0xef, 0xf5, 0xff];

export const mutationArbitrary: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('flip', 'insert', 'delete', 'duplicate', 'truncate', 'set'),
  at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
  length: fc.integer({ min: 1, max: 16 }),
  bytes: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.constantFrom(...interestingBytes).map((b) => Uint8Array.of(b))),
});

export function applyMutations(input: Uint8Array, mutations: readonly Mutation[]): Buffer {
  let data = Buffer.from(input);
  for (const m of mutations) {
    const at = Math.floor(m.at * data.length);
    switch (m.kind) {
      case 'flip':
        if (data.length > 0) data[at] = data[at]! ^ (1 << (m.length % 8));
        break;
      case 'insert':
        data = Buffer.concat([data.subarray(0, at), m.bytes, data.subarray(at)]);
        break;
      case 'delete':
        data = Buffer.concat([data.subarray(0, at), data.subarray(at + m.length)]);
        break;
      case 'duplicate':
        data = Buffer.concat([data.subarray(0, at + m.length), data.subarray(at, at + m.length), data.subarray(at + m.length)]);
        break;
      case 'truncate':
        data = data.subarray(0, at);
        break;
      case 'set':
        if (data.length > 0) data[at] = m.bytes[0]!;
        break;
    }
  }
  return data;
}
