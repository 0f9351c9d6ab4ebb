import { createAmqpLoadPublisher } from '../publisher/amqp-load-publisher.js';
import { deleteAmqpObjects } from './amqp-cleanup.js';
import { siblingModule } from './module-path.js';
import { SpawnedServer, parseBaselineListening, profileOptions, startAll } from './spawned-server.js';
import type { Target } from './target.js';

export interface SocketIoTargetOptions {
  /** Write CPU profiles of the server processes into this folder. */
  readonly profileDir?: string | undefined;
  readonly runId: string;
  readonly nodes: number;
  readonly secret: string;
  readonly amqpUrl: string;
  readonly redisUrl: string;
  readonly startTimeoutMs?: number;
}

/** The Socket.IO baseline (loadtest/baselines/socketio/server.ts), N nodes sharing one queue and Redis. */
export async function startSocketIoTarget(options: SocketIoTargetOptions): Promise<Target> {
  const exchange = `lt.${options.runId}.sio`;
  const queue = `lt.${options.runId}.sio.events`;
  const script = siblingModule(import.meta.url, '../../baselines/socketio/server');
  const nodes = await startAll(options.nodes, (i) => SpawnedServer.start({
      name: `socketio-${i}`,
      script,
      env: {
        PORT: '0',
        HOST: '127.0.0.1',
        JWT_SECRET: options.secret,
        AMQP_URL: options.amqpUrl,
        AMQP_EXCHANGE: exchange,
        AMQP_QUEUE: queue,
        REDIS_URL: options.redisUrl,
        ADAPTER_KEY: `lt:${options.runId}:sio`,
        NODE_NAME: `sio-${options.runId}-${i}`,
      },
      parseListening: parseBaselineListening,
      nodeOptions: profileOptions(options.profileDir),
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
  }));
  const publisher = await createAmqpLoadPublisher({ url: options.amqpUrl, exchange });
  return {
    kind: 'socketio',
    protocol: 'socketio',
    endpoints: () => nodes.map((n) => ({ host: '127.0.0.1', port: n.listening.port })),
    servers: () => nodes.map((n, i) => ({ name: `socketio-${i}`, role: 'server' as const, pid: n.pid, metricsUrl: `http://127.0.0.1:${n.listening.port}/metrics` })),
    publisher,
    killPod: async (index) => {
      await nodes[index]?.kill();
    },
    stop: async () => {
      try {
        await publisher.close();
      } finally {
        await Promise.all(nodes.map((n) => n.stop()));
        await deleteAmqpObjects(options.amqpUrl, { queues: [queue], exchanges: [exchange] });
      }
    },
  };
}
