/** A port is held by another socket: start-up stops with this message (see listen.ts). */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
}
