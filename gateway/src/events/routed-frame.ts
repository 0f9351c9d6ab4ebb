/**
 * A sequenced event as it travels from the sequencer to the pods that serve its organization, and
 * on to sockets.
 */
export interface RoutedFrame {
  readonly organizationId: string;
  /** History id, increasing per organization. */
  readonly id: string;
  /**
   * The id of the organization's event before this one (`0-0` for its first): a pod that did not
   * deliver `prev` last missed something, and reads history before delivering this frame.
   * Undefined only for entries written before the history kept it (never checked).
   */
  readonly prev: string | undefined;
  /** The complete client frame (a TaskEventFrame as JSON text), sent to sockets unchanged. */
  readonly frame: string;
  readonly publishedAtMs: number | undefined;
  /** When the sequencer published it (ms, its clock), for the `routing` stage. */
  readonly routedAtMs?: number | undefined;
  /**
   * The number of the newest cluster command (a membership change) sequenced before this event: a
   * pod delivers the frame only once it has applied that command (cluster/command-progress.ts), so
   * a removal takes effect before the events after it. Undefined: nothing to wait for.
   */
  readonly commandFence?: number | undefined;
}
