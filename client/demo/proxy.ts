import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * Forwards `/api/*` to the gateway so the page, `/api/ws` and `/api/poll` share one origin (one URL
 * to open, whatever ALLOWED_ORIGINS says). HTTP requests are piped; WebSocket upgrades are spliced at the
 * TCP level. `X-Forwarded-For` is not added: the gateway trusts no proxy by default.
 */
export class GatewayProxy {
  private readonly tunnels = new Set<Socket | Duplex>();

  constructor(private readonly host: string, private readonly port: number) {}

  http(req: IncomingMessage, res: ServerResponse): void {
    const upstream = request({ host: this.host, port: this.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end('{"error":"bad_gateway","message":"the gateway is not reachable"}');
    });
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  }

  upgrade(req: IncomingMessage, client: Duplex, head: Buffer): void {
    const upstream = connect(this.port, this.host, () => {
      const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    this.track(upstream);
    this.track(client);
    const cut = (): void => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on('error', cut);
    client.on('error', cut);
    upstream.on('close', cut);
    client.on('close', cut);
  }

  /** Cuts every open WebSocket tunnel. */
  closeAll(): void {
    for (const socket of this.tunnels) socket.destroy();
    this.tunnels.clear();
  }

  private track(socket: Socket | Duplex): void {
    this.tunnels.add(socket);
    socket.once('close', () => this.tunnels.delete(socket));
  }
}
