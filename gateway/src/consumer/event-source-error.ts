/** An EventSource used out of order (started twice, published to before start or after stop). */
export class EventSourceStateError extends Error {
  override readonly name = 'EventSourceStateError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The broker connection was lost while it was being set up; the reconnect loop tries again. */
export class BrokerSetupError extends Error {
  override readonly name = 'BrokerSetupError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
