/** An event larger than MAX_EVENT_BYTES: refused before it is published or sequenced. */
export class EventTooLargeError extends Error {
  override readonly name = 'EventTooLargeError';
}
