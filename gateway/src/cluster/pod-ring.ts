import HashRing from 'hashring';

export interface RingChange {
  readonly added: string[];
  readonly removed: string[];
}

/**
 * A consistent-hash ring over the names of the live pods (hashring, ketama-compatible, its default
 * 40 virtual nodes × 4 points per pod). Every pod that sees the same pod set computes the same
 * owner for every key, whatever order the names arrived in; when one pod joins or leaves a ring of
 * N, only about 1/N of the keys change owner, and only to or from that pod.
 *
 * `self` is this pod's name: `owns(key)` is false while this pod is not (or no longer) in the ring.
 */
export class PodRing {
  private ring = new HashRing([]);
  private members: readonly string[] = [];

  constructor(readonly self: string) {
    if (self.length === 0) throw new TypeError('PodRing: self must be a non-empty pod name');
  }

  /** The live pods, sorted. */
  get pods(): readonly string[] {
    return this.members;
  }

  /** Replaces the pod set; returns what changed (both sorted). Empty names are ignored. */
  update(pods: Iterable<string>): RingChange {
    const next = [...new Set(pods)].filter((pod) => pod.length > 0).sort();
    const before = new Set(this.members);
    const after = new Set(next);
    const added = next.filter((pod) => !before.has(pod));
    const removed = this.members.filter((pod) => !after.has(pod));
    if (added.length > 0 || removed.length > 0) {
      // A rebuild from the sorted set (hashring's own add/remove rebuild too): equal hash points,
      // if any, then break ties the same way on every pod.
      this.ring = new HashRing(next);
      this.members = Object.freeze(next);
    }
    return { added, removed };
  }

  /** The pod that owns `key`; undefined when the ring is empty. */
  ownerOf(key: string): string | undefined {
    if (this.members.length === 0) return undefined;
    return this.ring.get(key);
  }

  owns(key: string): boolean {
    return this.ownerOf(key) === this.self;
  }
}
