import { createTokenMinter } from '../auth/jwt-mint.js';
import { OrgLayout } from '../layout/org-layout.js';
import { orgcastProtocol } from '../protocol/orgcast-protocol.js';
import { monotonicMicros, scanEventId, type ScannedEvent } from '../protocol/payload-scan.js';
import { socketIoProtocol } from '../protocol/socketio-protocol.js';
import { TextKind, type ConnectTarget, type WireProtocol } from '../protocol/wire-protocol.js';
import { upgradeRequest } from '../ws/upgrade.js';
import { ConnectPacer } from './connect-pacer.js';
import { DUPLICATE, DeliveryTracker } from './delivery-tracker.js';
import { GIVE_UP, RetryPolicy, STAY_CLOSED, targetIndex } from './retry-policy.js';
import { StatsCollector } from './stats-collector.js';
import { ConnState, VirtualConnection, type ConnectionHost } from './virtual-connection.js';
import type { WorkerConfig, WorkerMessage } from './worker-messages.js';

const HEARTBEAT_TICK_MS = 100;
const CLOSE_GRACE_MS = 3_000;

function protocolFor(config: WorkerConfig): WireProtocol {
  if (config.protocol === 'socketio') return socketIoProtocol();
  return orgcastProtocol({ tokenInQuery: config.tokenInQuery });
}

/**
 * One client process: holds up to ~19k virtual connections and wires them to the wire protocol,
 * the ConnectPacer (when a connection opens), the RetryPolicy (whether and after how long it opens
 * again) and the StatsCollector (what is counted and reported to the parent over IPC). Everything
 * here is bounded: the connect queue by the number of users, retries by `connectRetries`, the
 * close phase by CLOSE_GRACE_MS.
 */
export class ClientWorker implements ConnectionHost {
  private readonly layout: OrgLayout;
  private readonly protocol: WireProtocol;
  private readonly conns: VirtualConnection[] = [];
  private readonly stats: StatsCollector;
  private readonly pacer: ConnectPacer;
  private readonly retry: RetryPolicy;
  private readonly scanned: ScannedEvent = { org: 0, seq: 0, sentAtUs: 0 };
  private nowUs = 0;
  private stopping = false;
  private heartbeatTick = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  readonly mintMs: number;

  constructor(private readonly config: WorkerConfig, send: (message: WorkerMessage) => void) {
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
    this.stats = new StatsCollector(config.workerId, users.length, new DeliveryTracker(this.layout, users), send);
    this.retry = new RetryPolicy(config);
    this.pacer = new ConnectPacer({ connections: users.length, concurrency: config.connectConcurrency, ratePerSecond: config.connectRatePerSecond }, (index) => this.start(this.conns[index]!));
  }

  startConnecting(): void {
    this.stats.connectStarted();
    if (this.config.heartbeatMs > 0 && this.protocol.heartbeat !== undefined) {
      this.timers.push(setInterval(() => this.heartbeat(), HEARTBEAT_TICK_MS));
    }
    this.pacer.start();
  }

  startStats(): void {
    this.timers.push(setInterval(() => this.sendStats(), this.config.statsIntervalMs));
  }

  mark(): void {
    this.stats.mark();
    for (const conn of this.conns) conn.counted = conn.state === ConnState.Open;
  }

  verify(finalSeqs: readonly number[]): void {
    this.stats.sendVerified(finalSeqs, (i) => this.conns[i]!.counted);
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
      const { org, seq, sentAtUs } = this.scanned;
      const layer = this.stats.delivered(conn.index, org, seq, this.nowUs - sentAtUs);
      if (layer === DUPLICATE && this.stats.wantsDuplicateSample()) this.sampleDuplicate(conn, buf, start, end);
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
      this.stats.refused('connect_error');
      conn.destroy();
    }
  }

  onUpgraded(): void {
    // Nothing to do: "established" comes from the protocol's first frame(s).
  }

  onRefused(_conn: VirtualConnection, status: number, error: string | undefined): void {
    this.stats.refused(`${status}${error === undefined ? '' : ` ${error}`}`);
  }

  onSocketError(_conn: VirtualConnection, code: string): void {
    this.stats.socketError(code);
  }

  onClosed(conn: VirtualConnection, state: ConnState, code: number): void {
    if (conn.timer !== undefined) {
      clearTimeout(conn.timer);
      conn.timer = undefined;
    }
    if (state === ConnState.Open) {
      this.stats.dropped(conn.user, code, conn.startedAtUs, this.stopping);
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
      this.stats.attemptClosed(code);
      const delayMs = this.retry.afterFailedAttempt(conn.attempts, conn.everEstablished);
      if (delayMs >= 0) {
        this.pacer.reopenAfter(conn.index, delayMs);
        return;
      }
      if (delayMs === GIVE_UP) this.stats.connectFailed();
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
    const now = monotonicMicros();
    if (conn.everEstablished) {
      this.stats.reconnected(conn.droppedAtUs > 0 ? now - conn.droppedAtUs : undefined);
    } else {
      conn.everEstablished = true;
      this.stats.connected(now - conn.startedAtUs);
    }
    this.pacer.pump();
  }

  private sampleDuplicate(conn: VirtualConnection, buf: Buffer, start: number, end: number): void {
    const { org, seq } = this.scanned;
    const layer = this.layout.layerOf(org);
    this.stats.duplicate({
      user: conn.user,
      org,
      seq,
      lastSeq: this.stats.lastSeq(conn.index, layer),
      eventId: scanEventId(buf, start, end),
      afterReconnect: conn.droppedAtUs > 0,
      previousId: conn.lastIds?.[layer],
    });
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
      this.stats.refused('timeout');
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
    this.stats.sendStats(process.cpuUsage(), process.memoryUsage.rss());
  }
}
