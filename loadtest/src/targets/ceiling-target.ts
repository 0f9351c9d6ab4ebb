import type { EventPublisher, PublishOutcome, PublishPlan } from '../publisher/event-publisher.js';
import { siblingModule } from './module-path.js';
import { SpawnedServer, parseBaselineListening, profileOptions, startAll } from './spawned-server.js';
import type { Target } from './target.js';

export interface CeilingTargetOptions {
  /** Write CPU profiles of the server processes into this folder. */
  readonly profileDir?: string | undefined;
  readonly nodes: number;
  readonly startTimeoutMs?: number;
}

type CeilingReply = { type: 'published'; outcome: PublishOutcome } | { type: 'publish-failed'; message: string };

/**
 * The bare uWebSockets.js ceiling (loadtest/baselines/uws-ceiling/server.ts). There is no broker:
 * "publishing" tells every node (IPC) to run the plan itself, each for its own subscribers.
 */
export async function startCeilingTarget(options: CeilingTargetOptions): Promise<Target> {
  const script = siblingModule(import.meta.url, '../../baselines/uws-ceiling/server');
  const nodes = await startAll(options.nodes, (i) => SpawnedServer.start({
      name: `uws-ceiling-${i}`,
      script,
      env: { PORT: '0', HOST: '127.0.0.1', POD_NAME: `ceiling-${i}` },
      parseListening: parseBaselineListening,
      nodeOptions: profileOptions(options.profileDir),
      ipc: true,
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
  }));
  const publisher: EventPublisher = {
    async publish(plan: PublishPlan): Promise<PublishOutcome> {
      const outcomes = await Promise.all(nodes.map((node) => new Promise<PublishOutcome>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${node.name} did not finish publishing`)), plan.durationMs + 30_000);
        node.child.once('message', (reply: CeilingReply) => {
          clearTimeout(timer);
          if (reply.type === 'published') resolve(reply.outcome);
          else reject(new Error(`${node.name}: ${reply.message}`));
        });
        node.child.send({ type: 'publish', plan });
      })));
      // Every node ran the same plan; node 0's sequences stand for all.
      return outcomes[0]!;
    },
    close: async () => {},
  };
  return {
    kind: 'uws-ceiling',
    protocol: 'ceiling',
    endpoints: () => nodes.map((n) => ({ host: '127.0.0.1', port: n.listening.port })),
    servers: () => nodes.map((n, i) => ({ name: `uws-ceiling-${i}`, role: 'server' as const, pid: n.pid, metricsUrl: `http://127.0.0.1:${n.listening.port}/metrics` })),
    publisher,
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}
