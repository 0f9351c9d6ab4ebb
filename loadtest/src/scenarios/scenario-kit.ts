import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { generateEs256KeyPair, type SigningKey } from '../auth/jwt-mint.js';
import type { Progress } from '../report/progress.js';
import type { CaseResult } from '../report/result.js';
import { pidsByCommand } from '../sampling/proc-stat.js';
import { eventsPerSecondFor, type RunSettings } from '../settings.js';
import { startCeilingTarget } from '../targets/ceiling-target.js';
import { startGatewayTarget, type Verification } from '../targets/gateway-target.js';
import { startSocketIoTarget } from '../targets/socketio-target.js';
import { profileOptions } from '../targets/spawned-server.js';
import type { Target, TargetKind } from '../targets/target.js';
import { runLoadCase, type LoadCaseOptions, type PublishPhase } from './load-case.js';

/** Everything a scenario needs besides its settings. */
export interface ScenarioEnv {
  readonly runId: string;
  readonly progress: Progress;
  /** Stop between cases (SIGINT). */
  readonly signal: AbortSignal;
}

export type Scenario = (settings: RunSettings, env: ScenarioEnv) => Promise<CaseResult[]>;

/** Event cap of a publish phase; the duration is what normally ends it. */
export const MAX_EVENTS = 100_000_000;

export function newRunId(): string {
  return randomBytes(4).toString('hex');
}

/** A signing key for the clients and what the servers verify it with. */
export interface Keys {
  readonly alg: 'HS256' | 'ES256';
  readonly signing: SigningKey;
  readonly verification: Verification;
}

export function makeKeys(alg: 'HS256' | 'ES256'): Keys {
  if (alg === 'HS256') {
    const secret = randomBytes(32).toString('base64url');
    return { alg, signing: { alg, secret }, verification: { secret } };
  }
  const pair = generateEs256KeyPair();
  return { alg, signing: { alg, privateKeyPem: pair.privateKeyPem }, verification: { publicKeyPem: pair.publicKeyPem } };
}

/** Starts one target for a case; Socket.IO only verifies HS256 (the secret). */
export async function startTarget(kind: TargetKind, settings: RunSettings, runId: string, verification: Verification, extraGatewayEnv: Record<string, string> = {}): Promise<Target> {
  switch (kind) {
    case 'orgcast':
      return startGatewayTarget({
        runId,
        pods: settings.pods,
        verification,
        amqpUrl: settings.amqpUrl,
        ...(settings.redisUrl !== undefined && { redisUrl: settings.redisUrl }),
        maxConnectionsPerPod: Math.max(1_000, Math.ceil((settings.connections * 1.2) / settings.pods)),
        env: { ...extraGatewayEnv, ...settings.gatewayEnv },
        profileDir: settings.profileDir,
      });
    case 'socketio':
      if (verification.secret === undefined) throw new Error('the Socket.IO baseline verifies HS256 only: it needs the secret');
      return startSocketIoTarget({
        runId,
        nodes: settings.pods,
        secret: verification.secret,
        amqpUrl: settings.amqpUrl,
        redisUrl: settings.redisUrl ?? 'redis://127.0.0.1:6379',
        profileDir: settings.profileDir,
      });
    case 'uws-ceiling':
      return startCeilingTarget({ nodes: settings.pods, profileDir: settings.profileDir });
  }
}

/** The broker and Redis server processes, sampled as shared infrastructure (empty if not found). */
export function infraProcesses(): Array<{ name: string; pid: number }> {
  const readComm = (pid: string): string | undefined => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8');
    } catch (error) {
      // The process ended between the listing and the read.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };
  const pids = pidsByCommand(['beam.smp', 'redis-server'], () => readdirSync('/proc'), readComm);
  return pids.map((pid) => ({ name: `${readComm(String(pid))?.trim() ?? 'infra'}-${pid}`, pid }));
}

export function sourceAddresses(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `127.0.0.${2 + i}`);
}

export interface CaseSpec {
  readonly label: string;
  readonly caseIndex: number;
  readonly target: Target;
  readonly keys: Keys;
  readonly members: number;
  readonly publish?: PublishPhase;
  readonly overrides?: Partial<LoadCaseOptions>;
}

/** A case with the run's settings filled in. */
export function caseOptions(settings: RunSettings, env: ScenarioEnv, spec: CaseSpec): LoadCaseOptions {
  return {
    label: spec.label,
    target: spec.target,
    pods: settings.pods,
    signing: spec.keys.signing,
    layout: {
      users: settings.connections,
      membersPerOrg: spec.members,
      orgsPerUser: settings.orgsPerUser,
      prefix: `lt${env.runId}c${spec.caseIndex}`,
    },
    clientProcesses: settings.clientProcesses,
    tokenInQuery: settings.tokenInQuery,
    tokenTtlSeconds: 6 * 3600,
    sourceAddresses: sourceAddresses(settings.sourceAddresses),
    connect: {
      concurrency: settings.concurrency,
      ratePerSecond: settings.connectRate,
      timeoutMs: 15_000,
      retries: 3,
      phaseTimeoutMs: Math.max(60_000, settings.connections * 2),
    },
    heartbeatMs: settings.heartbeatMs,
    reconnect: false,
    reconnectJitterMs: 1_000,
    trackIds: false,
    targetBy: 'user',
    settleMs: settings.settleMs,
    holdMs: settings.holdMs,
    ...(spec.publish !== undefined && { publish: spec.publish }),
    progress: env.progress,
    clientNodeOptions: profileOptions(settings.profileDir),
    infraPids: infraProcesses(),
    ...spec.overrides,
  };
}

/** Runs `body` against a freshly started target and always stops it. */
export async function withTarget<T>(start: () => Promise<Target>, body: (target: Target) => Promise<T>): Promise<T> {
  const target = await start();
  try {
    return await body(target);
  } finally {
    await target.stop();
  }
}

/** A publishing case as fan-out, latency and soak run it. */
export interface PublishingCase {
  readonly kind: TargetKind;
  readonly caseIndex: number;
  /** Organization size; events are published at the rate that gives --deliveries-per-second. */
  readonly members: number;
  readonly label: (eventsPerSecond: number) => string;
  readonly gatewayEnv?: Record<string, string>;
}

/** Starts a target of `kind`, runs one HS256 case publishing for --duration against it, stops it. */
export function runPublishingCase(settings: RunSettings, env: ScenarioEnv, spec: PublishingCase): Promise<CaseResult> {
  const keys = makeKeys('HS256');
  const rate = eventsPerSecondFor(settings, spec.members);
  return withTarget(() => startTarget(spec.kind, settings, `${env.runId}${spec.caseIndex}`, keys.verification, spec.gatewayEnv), (target) => runLoadCase(caseOptions(settings, env, {
    label: spec.label(rate),
    caseIndex: spec.caseIndex,
    target,
    keys,
    members: spec.members,
    publish: { ratePerSecond: rate, durationMs: settings.durationMs, maxEvents: MAX_EVENTS, padBytes: settings.padBytes, drainTimeoutMs: 15_000 },
  })));
}
