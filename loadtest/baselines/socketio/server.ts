/**
 * Baseline: the same job done the way the Socket.IO 4 documentation recommends. JWT in the
 * handshake's `auth.token` checked by a middleware, one room per organization, the Redis adapter
 * (with ioredis) so any node can emit to every node's sockets, and the task events consumed from
 * the same RabbitMQ exchange by a queue shared by all nodes (each event handled by one node, which
 * emits it to the room; the adapter carries it to the other nodes).
 *
 * Env: PORT (0 = any), HOST, JWT_SECRET, AMQP_URL, AMQP_EXCHANGE, AMQP_QUEUE, REDIS_URL,
 * ADAPTER_KEY, NODE_NAME. Prints one JSON line {"listening":true,"port":…} when ready and serves
 * GET /metrics with the event-loop lag p99 (same gauge name as the gateway's).
 */
import { createServer } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createAdapter } from '@socket.io/redis-adapter';
import { connect } from 'amqplib';
import { Redis } from 'ioredis';
import { jwtVerify } from 'jose';
import { Server } from 'socket.io';

const env = process.env;
const required = (name: string): string => {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`${name} is required`);
  return value;
};

const secret = new TextEncoder().encode(required('JWT_SECRET'));
const exchange = required('AMQP_EXCHANGE');
const queue = required('AMQP_QUEUE');
const nodeName = env.NODE_NAME ?? `sio-${process.pid}`;

const lag = monitorEventLoopDelay({ resolution: 20 });
lag.enable();

const httpServer = createServer((req, res) => {
  if (req.url === '/metrics') {
    const p99 = lag.percentile(99) / 1e9;
    lag.reset();
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`# TYPE baseline_nodejs_eventloop_lag_p99_seconds gauge\nbaseline_nodejs_eventloop_lag_p99_seconds ${p99}\n`);
    return;
  }
  res.writeHead(404).end();
});

const pubClient = new Redis(required('REDIS_URL'));
const subClient = pubClient.duplicate();
const io = new Server(httpServer, {
  adapter: createAdapter(pubClient, subClient, { key: env.ADAPTER_KEY ?? 'socket.io' }),
});

interface SocketData {
  userId: string;
  organizations: string[];
}

io.use((socket, next) => {
  const token: unknown = socket.handshake.auth.token;
  if (typeof token !== 'string') {
    next(new Error('unauthorized'));
    return;
  }
  void jwtVerify(token, secret, { algorithms: ['HS256'] }).then(({ payload }) => {
    const orgs = payload.org_ids;
    if (typeof payload.sub !== 'string' || !Array.isArray(orgs) || !orgs.every((o) => typeof o === 'string')) {
      next(new Error('unauthorized'));
      return;
    }
    (socket.data as SocketData) = { userId: payload.sub, organizations: orgs as string[] };
    next();
  }, () => next(new Error('unauthorized')));
});

io.on('connection', (socket) => {
  const data = socket.data as SocketData;
  void socket.join(data.organizations.map((org) => `org:${org}`));
});

let sequence = 0;

async function consume(): Promise<void> {
  const model = await connect(required('AMQP_URL'));
  const channel = await model.createChannel();
  await channel.assertExchange(exchange, 'topic', { durable: true });
  await channel.assertQueue(queue, { durable: false, autoDelete: true });
  await channel.bindQueue(queue, exchange, 'task.event.*');
  await channel.prefetch(1_000);
  await channel.consume(queue, (message) => {
    if (message === null) return;
    try {
      const body = JSON.parse(message.content.toString()) as { event_type: string; organization_id: string; data: unknown; timestamp?: string };
      sequence += 1;
      io.to(`org:${body.organization_id}`).emit(body.event_type, {
        id: `${nodeName}-${sequence}`,
        organization_id: body.organization_id,
        data: body.data,
        timestamp: body.timestamp ?? new Date().toISOString(),
      });
      channel.ack(message);
    } catch (error) {
      process.stderr.write(`socketio baseline: dropping a bad message: ${String(error)}\n`);
      channel.nack(message, false, false);
    }
  });
}

function shutdown(): void {
  io.close();
  pubClient.disconnect();
  subClient.disconnect();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

void consume().then(() => {
  httpServer.listen(Number(env.PORT ?? 0), env.HOST ?? '127.0.0.1', () => {
    const address = httpServer.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    process.stdout.write(`${JSON.stringify({ listening: true, port, metricsPort: port })}\n`);
  });
}, (error: unknown) => {
  process.stderr.write(`socketio baseline: failed to start: ${String(error)}\n`);
  process.exit(1);
});
