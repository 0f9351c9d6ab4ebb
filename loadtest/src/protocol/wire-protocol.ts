import type { ScannedEvent } from './payload-scan.js';

/** What a text frame from the server means to the load client. */
export const TextKind = {
  Other: 0,
  /** A load event; its fields were written into the ScannedEvent. */
  Event: 1,
  /** The connection is authenticated and subscribed. */
  Established: 2,
  /** The server refused the connection after the upgrade (Socket.IO connect error). */
  Refused: 3,
  /** The protocol wants `reply(...)` sent back (Engine.IO open → connect, ping → pong). */
  Reply: 4,
} as const;
export type TextKind = (typeof TextKind)[keyof typeof TextKind];

export interface ConnectTarget {
  readonly token: string;
  /** `organization:id` pairs to resume from (orgcast only); empty when live. */
  readonly resume: ReadonlyArray<readonly [string, string]>;
}

/**
 * One server's wire protocol, as much of it as the load client needs. Implementations are
 * stateless: per-connection state lives in the connection.
 */
export interface WireProtocol {
  readonly name: string;
  /** Path and query of the upgrade request. */
  upgradePath(target: ConnectTarget): string;
  /** The Authorization header value, or undefined when the token travels otherwise. */
  authorization(target: ConnectTarget): string | undefined;
  classify(buf: Buffer, start: number, end: number, out: ScannedEvent): TextKind;
  /** The masked frame to send when classify returned Reply for this frame. */
  reply(buf: Buffer, start: number, end: number, target: ConnectTarget): Buffer | undefined;
  /** The client's application-level heartbeat, if the protocol has one. */
  readonly heartbeat: Buffer | undefined;
}
