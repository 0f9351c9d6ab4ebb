/**
 * Invariant violations, grouped by a stable key (what went wrong, where; never the random values):
 * the first occurrence of each is kept with its input, the rest only counted.
 */

export type Stream = 'http' | 'frames' | 'broker';

export interface Violation {
  /** Low-cardinality: `<invariant>|<facet>|…`. */
  readonly key: string;
  /** What happened, for a human. */
  readonly detail: string;
  /** The offending input, printable. */
  readonly input?: string;
  /** Where the input came from: replayable with the run's seed. */
  readonly origin?: { readonly stream: Stream; readonly index: number; readonly seed: number };
}

export interface ViolationRecord {
  readonly first: Violation;
  count: number;
  /** The input after shrinking, when it still reproduced. */
  minimal?: string;
}

export class Violations {
  private readonly records = new Map<string, ViolationRecord>();

  /** Records `violation`; true when its key is new. */
  add(violation: Violation): boolean {
    const known = this.records.get(violation.key);
    if (known !== undefined) {
      known.count += 1;
      return false;
    }
    this.records.set(violation.key, { first: violation, count: 1 });
    return true;
  }

  get total(): number {
    let n = 0;
    for (const record of this.records.values()) n += record.count;
    return n;
  }

  list(): ViolationRecord[] {
    return [...this.records.values()];
  }
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes as a JS string literal (the text when they are UTF-8, else \xNN escapes), the middle cut beyond `max`. */
export function printable(bytes: Uint8Array, max = 1_500): string {
  let text: string | undefined;
  try {
    text = fatalUtf8.decode(bytes);
  } catch {
    text = undefined;
  }
  if (text !== undefined) {
    const shown = text.length > max ? `${text.slice(0, Math.floor(max * 0.7))}…(${bytes.byteLength} bytes in all)…${text.slice(-Math.floor(max * 0.2))}` : text;
    return JSON.stringify(shown);
  }
  const escape = (part: Uint8Array): string => [...part].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x5c && b !== 0x22 ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
  const cut = bytes.byteLength > max;
  return `"${escape(cut ? bytes.subarray(0, Math.floor(max * 0.7)) : bytes)}${cut ? `…(${bytes.byteLength} bytes in all)…${escape(bytes.subarray(bytes.byteLength - Math.floor(max * 0.2)))}` : ''}"`;
}
