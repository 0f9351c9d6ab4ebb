/**
 * What a session needs from a raw socket. The uWS adapter (transport/) implements it; the core
 * never imports uWebSockets.js.
 */
export interface SocketPort {
  /** Sends a text frame. Returns false when the frame was dropped (socket over its buffer limit). */
  send(text: string): boolean;
  /** Sends a protocol-level ping. */
  ping(): void;
  /** Starts a graceful close with a close frame. */
  end(code: number, reason: string): void;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  /** Bytes queued for this socket and not yet written to the kernel. */
  bufferedAmount(): number;
}

/** Fan-out by topic: one serialised frame to every subscribed socket. */
export interface TopicBroadcaster {
  /** Publishes `text` to every socket subscribed to `topic`; returns how many sockets it reached. */
  publish(topic: string, text: string): number;
  /** Sockets subscribed to `topic`. */
  subscribers(topic: string): number;
}

export function organizationTopic(organizationId: string): string {
  return `o/${organizationId}`;
}
