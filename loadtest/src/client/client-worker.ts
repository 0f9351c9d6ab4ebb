import { createTokenMinter } from '../auth/jwt-mint.js';
import { OrgLayout } from '../layout/org-layout.js';
import { Histogram } from '../metrics/histogram.js';
import { orgcastProtocol } from '../protocol/orgcast-protocol.js';
import { monotonicMicros, scanEventId, type ScannedEvent } from '../protocol/payload-scan.js';
import { socketIoProtocol } from '../protocol/socketio-protocol.js';
import { TextKind, type ConnectTarget, type WireProtocol } from '../protocol/wire-protocol.js';
import { upgradeRequest } from '../ws/upgrade.js';
import { ConnectPacer } from './connect-pacer.js';
import { DUPLICATE, DeliveryTracker } from './delivery-tracker.js';
import { GIVE_UP, RetryPolicy, STAY_CLOSED, targetIndex } from './retry-policy.js';
import { ABNORMAL_CLOSE, ConnState, VirtualConnection, type ConnectionHost } from './virtual-connection.js';
import type { CloseSample, DuplicateSample, WorkerConfig, WorkerMessage } from './worker-messages.js';

const HEARTBEAT_TICK_MS = 100;
const CLOSE_GRACE_MS = 3_000;
const DUPLICATE_SAMPLES = 10;

function protocolFor(config: WorkerConfig): WireProtocol {
  if (config.protocol === 'socketio') return socketIoProtocol();
  return orgcastProtocol({ tokenInQuery: config.tokenInQuery });
}

/**
 * One client process: holds up to ~19k virtual connections, paces their connects, counts what
 * they receive and reports to the parent over IPC. Everything here is bounded: the connect queue
 * by the number of users, retries by `connectRetries`, the close phase by CLOSE_GRACE_MS.
 */
export class ClientWorker implements ConnectionHost {
  private readonly layout: OrgLayout;
  private readonly protocol: WireProtocol;
  private readonly conns: VirtualConnection[] = [];
  private readonly tracker: DeliveryTracker;
  private readonly pacer: ConnectPacer;
  private readonly retry: RetryPolicy;
  private readonly scanned: ScannedEvent = { org: 0, seq: 0, sentAtUs: 0 };
  private readonly latency = new Histogram();
  private readonly interval = new Histogram();
  private readonly connectLatency = new Histogram();
  private readonly reconnectLatency = new Histogram();
  private readonly refusals: Record<string, number> = {};
  private readonly closes: Record<string, number> = {};
  private readonly socketErrors: Record<string, number> = {};
  private readonly closeSamples: CloseSample[] = [];
  private readonly duplicateSamples: DuplicateSample[] = [];
  private nowUs = 0;
  private open = 0;
  private established = 0;
  private connectFailures = 0;
  private deliveries = 0;
  private reconnects = 0;
  private settled = 0;
  private connectStartedMs = 0;
  private connectDoneSent = true;
  private stopping = false;
  private heartbeatTick = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  readonly mintMs: number;

  constructor(private readonly config: WorkerConfig, private readonly send: (message: WorkerMessage) => void) {
    this.layout = new OrgLayout(config.layout);
    this.protocol = protocolFor(config);
    const minter = createTokenMinter(config.signing);
    const started = Date.now();
    const users: number[] = [];
    for (let user = config.usersFrom; user < config.usersTo; user++) users.push(user);
    for (const [index, user] of users.entries()) {
      const token = minter.mint({ sub: this.layout.userName(user), orgIds: this.layout.orgsOf(user).map((o) => this.layout.orgName(o)), ttlSeconds: config.tokenTtlSeconds });
      const conn = new VirtualConnection(index, user, token, this);
      if (config.trackIds) conn.lastIds = new Array<string | undefined>(this.layout.orgsPerUser).fill(undefined);
      this.conns.push(conn);
    }
    this.mintMs = Date.now() - started;
    this.tracker = new DeliveryTracker(this.layout, users);
    this.retry = new RetryPolicy(config);
    this.pacer = new ConnectPacer({ connections: users.length, concurrency: config.connectConcurrency, ratePerSecond: config.connectRatePerSecond }, (index) => this.start(this.conns[index]!));
  }

  startConnecting(): void {
    this.connectStartedMs = Date.now();
    this.connectDoneSent = false;
    if (this.config.heartbeatMs > 0 && this.protocol.heartbeat !== undefined) {
      this.timers.push(setInterval(() => this.heartbeat(), HEARTBEAT_TICK_MS));
    }
    this.pacer.start();
  }

  startStats(): void {
    this.timers.push(setInterval(() => this.sendStats(), this.config.statsIntervalMs));
  }

  mark(): void {
    this.latency.reset();
    for (const conn of this.conns) conn.counted = conn.state === ConnState.Open;
  }

  verify(finalSeqs: readonly number[]): void {
    const counts = this.tracker.totals(finalSeqs, (i) => this.conns[i]!.counted);
    this.send({
      type: 'verified',
      workerId: this.config.workerId,
      counts,
      counted: this.conns.filter((c) => c.counted).length,
      latency: this.latency.toSparse(),
      connectLatency: this.connectLatency.toSparse(),
      reconnectLatency: this.reconnectLatency.toSparse(),
      duplicateSamples: this.duplicateSamples,
      closeSamples: this.closeSamples,
      lossSamples: this.tracker.lossSamples(finalSeqs, (i) => this.conns[i]!.counted, DUPLICATE_SAMPLES),
    });
  }

  async closeAll(): Promise<void> {
    this.stopping = true;
    this.pacer.stop();
    for (const conn of this.conns) {
      if (conn.timer !== undefined) clearTimeout(conn.timer);
      conn.close(1000);
    }
    const deadline = Date.now() + CLOSE_GRACE_MS;
    while (this.conns.some((c) => c.state !== ConnState.Closed && c.state !== ConnState.Idle) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (const conn of this.conns) conn.destroy();
    this.sendStats();
    for (const timer of this.timers) clearInterval(timer);
  }

  // ---- ConnectionHost ----

  onChunk(): void {
    this.nowUs = monotonicMicros();
  }

  onText(conn: VirtualConnection, buf: Buffer, start: number, end: number): void {
    const kind = this.protocol.classify(buf, start, end, this.scanned);
    if (kind === TextKind.Event) {
      this.deliveries += 1;
      const latency = this.nowUs - this.scanned.sentAtUs;
      this.latency.record(latency);
      this.interval.record(latency);
      const layer = this.tracker.record(conn.index, this.scanned.org, this.scanned.seq);
      if (layer === DUPLICATE && this.duplicateSamples.length < DUPLICATE_SAMPLES) this.sampleDuplicate(conn, buf, start, end);
      else if (conn.lastIds !== undefined && layer >= 0) conn.lastIds[layer] = scanEventId(buf, start, end);
      return;
    }
    if (kind === TextKind.Established) {
      this.onEstablished(conn);
      return;
    }
    if (kind === TextKind.Reply) {
      const reply = this.protocol.reply(buf, start, end, this.connectTarget(conn));
      if (reply !== undefined) conn.write(reply);
      return;
    }
    if (kind === TextKind.Refused) {
      this.count(this.refusals, 'connect_error');
      conn.destroy();
    }
  }

  onUpgraded(): void {
    // Nothing to do: "established" comes from the protocol's first frame(s).
  }

  onRefused(_conn: VirtualConnection, status: number, error: string | undefined): void {
    this.count(this.refusals, `${status}${error === undefined ? '' : ` ${error}`}`);
  }

  onSocketError(_conn: VirtualConnection, code: string): void {
    this.count(this.socketErrors, code);
  }

  onClosed(conn: VirtualConnection, state: ConnState, code: number): void {
    if (conn.timer !== undefined) {
      clearTimeout(conn.timer);
      conn.timer = undefined;
    }
    if (state === ConnState.Open) {
      this.open -= 1;
      this.count(this.closes, String(code));
      if (this.closeSamples.length < DUPLICATE_SAMPLES) this.closeSamples.push({ user: conn.user, code, openForMs: Math.round((monotonicMicros() - conn.startedAtUs) / 1000), stopping: this.stopping });
      if (this.stopping) return;
      const delayMs = this.retry.afterDrop();
      if (delayMs === STAY_CLOSED) return;
      conn.droppedAtUs = monotonicMicros();
      conn.attempts = 0;
      this.pacer.reopenAfter(conn.index, delayMs);
      return;
    }
    // Never established on this attempt.
    this.pacer.release();
    if (this.stopping) return;
    if (state === ConnState.Upgrading || state === ConnState.Upgraded) {
      if (code !== ABNORMAL_CLOSE) this.count(this.closes, String(code));
      const delayMs = this.retry.afterFailedAttempt(conn.attempts, conn.everEstablished);
      if (delayMs >= 0) {
        this.pacer.reopenAfter(conn.index, delayMs);
        return;
      }
      if (delayMs === GIVE_UP) {
        this.connectFailures += 1;
        this.settle();
      }
    }
    this.pacer.pump();
  }

  // ---- internals ----

  private onEstablished(conn: VirtualConnection): void {
    if (conn.state !== ConnState.Upgraded) return;
    conn.state = ConnState.Open;
    if (conn.timer !== undefined) {
      clearTimeout(conn.timer);
      conn.timer = undefined;
    }
    this.pacer.release();
    this.open += 1;
    const now = monotonicMicros();
    if (conn.everEstablished) {
      this.reconnects += 1;
      if (conn.droppedAtUs > 0) this.reconnectLatency.record(now - conn.droppedAtUs);
    } else {
      conn.everEstablished = true;
      this.established += 1;
      this.connectLatency.record(now - conn.startedAtUs);
      this.settle();
    }
    this.pacer.pump();
  }

  private sampleDuplicate(conn: VirtualConnection, buf: Buffer, start: number, end: number): void {
    const { org, seq } = this.scanned;
    const layer = this.layout.layerOf(org);
    this.duplicateSamples.push({
      user: conn.user,
      org,
      seq,
      lastSeq: this.tracker.lastSeq(conn.index, layer),
      eventId: scanEventId(buf, start, end),
      afterReconnect: conn.droppedAtUs > 0,
      previousId: conn.lastIds?.[layer],
    });
  }

  private settle(): void {
    this.settled += 1;
    if (!this.connectDoneSent && this.settled >= this.conns.length) {
      this.connectDoneSent = true;
      this.send({ type: 'connect-done', workerId: this.config.workerId, established: this.established, failed: this.connectFailures, elapsedMs: Date.now() - this.connectStartedMs });
    }
  }

  private start(conn: VirtualConnection): void {
    const { targets, sourceAddresses } = this.config;
    const home = this.config.targetBy === 'org' ? this.layout.orgOf(conn.user, 0) : conn.user;
    const endpoint = targets[targetIndex(home, conn.attempts, targets.length)]!;
    const target = this.connectTarget(conn);
    conn.attempts += 1;
    conn.startedAtUs = monotonicMicros();
    conn.timer = setTimeout(() => {
      conn.timer = undefined;
      this.count(this.refusals, 'timeout');
      conn.destroy();
    }, this.config.connectTimeoutMs);
    const authorization = this.protocol.authorization(target);
    conn.open({
      host: endpoint.host,
      port: endpoint.port,
      localAddress: sourceAddresses[conn.user % sourceAddresses.length]!,
      request: upgradeRequest({ host: endpoint.host, port: endpoint.port, path: this.protocol.upgradePath(target), ...(authorization !== undefined && { authorization }) }),
    });
  }

  private connectTarget(conn: VirtualConnection): ConnectTarget {
    const resume: Array<[string, string]> = [];
    if (conn.lastIds !== undefined) {
      for (let layer = 0; layer < conn.lastIds.length; layer++) {
        const id = conn.lastIds[layer];
        if (id !== undefined) resume.push([this.layout.orgName(this.layout.orgOf(conn.user, layer)), id]);
      }
    }
    return { token: conn.token, resume };
  }

  private heartbeat(): void {
    const frame = this.protocol.heartbeat;
    if (frame === undefined) return;
    const slots = Math.max(1, Math.round(this.config.heartbeatMs / HEARTBEAT_TICK_MS));
    const slot = this.heartbeatTick % slots;
    this.heartbeatTick += 1;
    for (let i = slot; i < this.conns.length; i += slots) {
      const conn = this.conns[i]!;
      if (conn.state === ConnState.Open) conn.write(frame);
    }
  }

  private sendStats(): void {
    const cpu = process.cpuUsage();
    this.send({
      type: 'stats',
      workerId: this.config.workerId,
      atMs: Date.now(),
      open: this.open,
      established: this.established,
      connectFailures: this.connectFailures,
      refusals: { ...this.refusals },
      closes: { ...this.closes },
      socketErrors: { ...this.socketErrors },
      deliveries: this.deliveries,
      reconnects: this.reconnects,
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
      rssBytes: process.memoryUsage.rss(),
      interval: this.interval.toSparse(),
    });
    this.interval.reset();
  }

  private count(into: Record<string, number>, key: string): void {
    into[key] = (into[key] ?? 0) + 1;
  }
}
