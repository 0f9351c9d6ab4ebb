/** What the heartbeat needs from a connection. */
export interface HeartbeatPort {
  sendPing(): void;
  /** No frame arrived within `timeoutMs` of a ping: the connection is dead. */
  dead(): void;
}

export interface Heartbeat {
  /** Any frame from the server (a `pong` or anything else) proves the connection alive. */
  received(): void;
  stop(): void;
}

/**
 * Sends a ping every `intervalMs`; when nothing arrives within `timeoutMs` of the oldest unanswered
 * ping, declares the connection dead (once) and stops.
 */
export function startHeartbeat(port: HeartbeatPort, intervalMs: number, timeoutMs: number): Heartbeat {
  let deadline: ReturnType<typeof setTimeout> | undefined;
  const interval = setInterval(() => {
    port.sendPing();
    deadline ??= setTimeout(() => {
      stop();
      port.dead();
    }, timeoutMs);
  }, intervalMs);

  function stop(): void {
    clearInterval(interval);
    if (deadline !== undefined) clearTimeout(deadline);
    deadline = undefined;
  }

  return {
    received: () => {
      if (deadline !== undefined) clearTimeout(deadline);
      deadline = undefined;
    },
    stop,
  };
}
