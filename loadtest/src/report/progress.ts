/**
 * The one-line progress display: rewritten in place on a terminal, a plain line every few seconds
 * otherwise (CI logs), silent when quiet.
 */
export interface Progress {
  update(line: string): void;
  log(line: string): void;
  done(): void;
}

export function createProgress(options: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): Progress {
  const stream = options.stream ?? process.stderr;
  if (options.quiet === true) return { update: () => {}, log: () => {}, done: () => {} };
  const tty = stream.isTTY === true;
  let lastPlain = 0;
  let pending = false;
  return {
    update(line) {
      if (tty) {
        stream.write(`\r\x1b[2K${line.slice(0, (stream.columns ?? 160) - 1)}`);
        pending = true;
        return;
      }
      const now = Date.now();
      if (now - lastPlain >= 5_000) {
        stream.write(`${line}\n`);
        lastPlain = now;
      }
    },
    log(line) {
      if (pending) stream.write('\n');
      pending = false;
      stream.write(`${line}\n`);
    },
    done() {
      if (pending) stream.write('\n');
      pending = false;
    },
  };
}
