import { mintDevToken } from '../../src/tools/dev-token.js';
import { CLIENT_KINDS, ClientLog, type ClientKind } from './client-log.js';
import { PollChaosClient } from './poll-chaos-client.js';
import { SdkChaosClient } from './sdk-chaos-client.js';
import type { Random } from './seeded-random.js';
import { WsChaosClient } from './ws-chaos-client.js';

/** Any client of the run, whatever its transport. */
export interface ChaosClient {
  readonly log: ClientLog;
  start(): void;
  stop(): Promise<void>;
  /** Where the client would resume the organization now (its own cursor). */
  position(organization: string): string | undefined;
}

export interface ClientPopulationOptions {
  readonly counts: Readonly<Record<ClientKind, number>>;
  readonly organizations: readonly string[];
  /** `ws://…/api/ws` and `http://…` of the load balancer. */
  readonly wsUrl: string;
  readonly httpUrl: string;
  readonly secret: string;
  readonly tokenTtlSeconds: number;
  readonly random: Random;
}

/**
 * The run's clients: each a user of its own, member of one to three organizations (drawn from its
 * own stream), with an HS256 token the pods accept.
 * - `ws-stay`: raw WebSocket, never leaves on its own (resumes after a pod or the broker drops it);
 * - `ws-churn`: raw WebSocket that disconnects every few seconds and resumes after a pause;
 * - `sdk-ws`: @orgcast/client whose socket is cut now and then (the SDK resumes);
 * - `sdk-poll`: @orgcast/client long-polling from the start (some switch to the WebSocket later);
 * - `poll`: raw long-poller, GET and POST.
 */
export async function createClients(options: ClientPopulationOptions): Promise<ChaosClient[]> {
  const clients: ChaosClient[] = [];
  for (const kind of CLIENT_KINDS) {
    for (let i = 0; i < options.counts[kind]; i += 1) {
      const name = `${kind}-${i}`;
      const random = options.random.fork(name);
      const count = Math.min(options.organizations.length, random.chance(0.5) ? 1 : random.chance(0.7) ? 2 : 3);
      const organizations = random.shuffle(options.organizations).slice(0, count);
      const token = await mintDevToken({ secret: options.secret, userId: name, organizations, ttlSeconds: options.tokenTtlSeconds });
      const log = new ClientLog(name, kind, organizations);
      clients.push(create(kind, { log, token, random, options }));
    }
  }
  return clients;
}

function create(kind: ClientKind, input: { log: ClientLog; token: string; random: Random; options: ClientPopulationOptions }): ChaosClient {
  const { log, token, random, options } = input;
  const attach = <T extends { start(): void; stop(): Promise<void>; position(o: string): string | undefined }>(client: T): ChaosClient => ({
    log,
    start: () => client.start(),
    stop: () => client.stop(),
    position: (organization) => client.position(organization),
  });
  switch (kind) {
    case 'ws-stay': return attach(new WsChaosClient({ url: options.wsUrl, token, log, random }));
    case 'ws-churn': return attach(new WsChaosClient({ url: options.wsUrl, token, log, random, churn: { minMs: 3_000, maxMs: 20_000, offlineMaxMs: 4_000 } }));
    case 'sdk-ws': return attach(new SdkChaosClient({ url: options.httpUrl, token, log, random, polling: false, churn: { minMs: 5_000, maxMs: 25_000 } }));
    case 'sdk-poll': return attach(new SdkChaosClient({ url: options.httpUrl, token, log, random, polling: true }));
    case 'poll': return attach(new PollChaosClient({ url: options.httpUrl, token, log, random }));
  }
}
