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

// The classes below inherit Error's constructor (message, { cause }).

/** No live broker connection: nothing was published, bound or unbound (a bind waited for one in vain). */
export class BrokerUnavailableError extends Error {
  override readonly name = 'BrokerUnavailableError';
}

/** The broker nacked a publish, or its channel closed before the confirm came. */
export class PublishNotConfirmedError extends Error {
  override readonly name = 'PublishNotConfirmedError';
}

/** The broker refused a binding change on a connection that stayed up. */
export class BindingError extends Error {
  override readonly name = 'BindingError';
}

/** An organization id that cannot be an AMQP routing key (empty, or longer than 255 UTF-8 bytes). */
export class UnroutableOrganizationError extends Error {
  override readonly name = 'UnroutableOrganizationError';
}

/** Invalid options given to an event source factory. */
export class EventSourceOptionsError extends Error {
  override readonly name = 'EventSourceOptionsError';
}
