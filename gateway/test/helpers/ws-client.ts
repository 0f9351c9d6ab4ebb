import WebSocket from 'ws';

export interface Frame {
  event_type: string;
  id?: string;
  organization_id?: string;
  data?: unknown;
  [key: string]: unknown;
}

/** A test WebSocket client that records every frame and the close code. */
export class TestClient {
  readonly frames: Frame[] = [];
  closeCode: number | undefined;
  closeReason = '';
  /** The last socket error (a protocol error makes `ws` close with 1006). */
  lastError: Error | undefined;
  readonly closed: Promise<number>;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.frames.push(JSON.parse(data.toString()) as Frame);
      this.notify();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        this.notify();
        resolve(code);
      });
    });
    ws.on('error', (error) => {
      this.lastError = error;
      this.notify();
    });
  }

  /** Opens a connection; rejects with the HTTP status when the upgrade is refused. */
  static connect(url: string, options: { token?: string; headers?: Record<string, string>; localAddress?: string } = {}): Promise<TestClient> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers, localAddress: options.localAddress });
      const client = new TestClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () => reject(new UpgradeRefused(res.statusCode ?? 0, body)));
      });
      ws.once('error', (error) => reject(error));
    });
  }

  /** Connects and waits for `connection.established`. */
  static async established(url: string, token: string): Promise<TestClient> {
    const client = await TestClient.connect(url, { token });
    await client.waitFor((f) => f.event_type === 'connection.established');
    return client;
  }

  events(eventType?: string): Frame[] {
    return this.frames.filter((f) => (eventType === undefined ? f.event_type.startsWith('task.event.') : f.event_type === eventType));
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  waitFor(predicate: (frame: Frame) => boolean, timeoutMs = 5_000): Promise<Frame> {
    return this.until(() => this.frames.find(predicate), timeoutMs, 'frame');
  }

  waitForCount(eventType: string | undefined, count: number, timeoutMs = 5_000): Promise<Frame[]> {
    return this.until(() => {
      const events = this.events(eventType);
      return events.length >= count ? events : undefined;
    }, timeoutMs, `${count} ${eventType ?? 'task'} events`);
  }

  waitForClose(timeoutMs = 5_000): Promise<number> {
    return this.until(() => this.closeCode, timeoutMs, 'close');
  }

  /** Closes politely; a peer that does not answer within a second (e.g. a paused socket) is cut. */
  close(): Promise<number> {
    if (this.closeCode === undefined) {
      this.ws.close(1000);
      const cut = setTimeout(() => this.ws.terminate(), 1_000);
      void this.closed.then(() => clearTimeout(cut));
    }
    return this.closed;
  }

  private until<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const value = probe();
        if (value === undefined) return false;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== listener);
        resolve(value);
        return true;
      };
      const listener = (): void => {
        check();
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== listener);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${this.frames.length} frames (${JSON.stringify(this.frames.slice(0, 5).map((f) => f.event_type))}…), close ${this.closeCode}${this.lastError === undefined ? '' : ` (${this.lastError.message})`}`));
      }, timeoutMs);
      if (!check()) this.waiters.push(listener);
    });
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

export class UpgradeRefused extends Error {
  override readonly name = 'UpgradeRefused';
  constructor(readonly status: number, readonly body: string) {
    super(`upgrade refused with HTTP ${status}: ${body}`);
  }
}

/** Expects the upgrade to be refused; returns the status and the parsed JSON body. */
export async function expectRefused(url: string, options: Parameters<typeof TestClient.connect>[1] = {}): Promise<{ status: number; body: { error: string; message: string } }> {
  try {
    const client = await TestClient.connect(url, options);
    await client.close();
  } catch (error) {
    if (error instanceof UpgradeRefused) return { status: error.status, body: JSON.parse(error.body) as { error: string; message: string } };
    throw error;
  }
  throw new Error('upgrade was accepted, expected a refusal');
}
