import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/** Paths whose values never reach a log line, wherever they appear in a logged object. */
export const REDACTED_PATHS = [
  'token',
  'accessToken',
  'access_token',
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'url',
  'secret',
  '*.token',
  '*.authorization',
  '*.secret',
  '*.access_token',
];

export function createLogger(options: { level: string; pod: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { pod: options.pod },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}
