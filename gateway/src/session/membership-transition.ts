import type { InboundMembershipChange } from '../events/inbound-event.js';

/** A membership change for one connection and organization, with its position in the organization's sequence. */
export interface PositionedChange {
  readonly change: InboundMembershipChange;
  readonly position: string;
}

/**
 * A membership change of one organization that is still taking effect on one connection: a grant
 * whose feed is being bound (`binding`), or a removal waiting for the frames up to its position
 * (`leaving`). Changes of the same organization that come meanwhile wait in `queue` and are applied
 * in order once it has taken effect, so that a removal right after a grant cuts the grant's
 * catch-up, and a grant right after a removal follows the revocation instead of being lost.
 */
export interface MembershipTransition {
  readonly kind: 'binding' | 'leaving';
  readonly queue: PositionedChange[];
}
