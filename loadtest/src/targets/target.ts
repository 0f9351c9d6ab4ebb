import type { Endpoint, ProtocolKind } from '../client/worker-messages.js';
import type { EventPublisher } from '../publisher/event-publisher.js';
import type { WatchedProcess } from '../sampling/process-sampler.js';

export type TargetKind = 'orgcast' | 'socketio' | 'uws-ceiling';

/** A system under test, started for one run: servers, how clients reach them, how events get in. */
export interface Target {
  readonly kind: TargetKind;
  readonly protocol: ProtocolKind;
  /** Where clients connect (the pods, or the load balancer in front of them). */
  endpoints(): Endpoint[];
  /** The server processes, for CPU/RSS/lag sampling (current pids). */
  servers(): WatchedProcess[];
  readonly publisher: EventPublisher;
  /** Kills pod `index` with SIGKILL (storm); targets without pods to kill omit it. */
  killPod?(index: number): Promise<void>;
  /** Starts a replacement for a killed pod. */
  restartPod?(index: number): Promise<void>;
  stop(): Promise<void>;
}
