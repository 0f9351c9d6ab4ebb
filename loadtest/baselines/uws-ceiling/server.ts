/**
 * Ceiling: a bare uWebSockets.js fan-out. No authentication (the organizations are read from the
 * token's payload without checking its signature), no broker: the server generates the events
 * itself when its parent tells it to (IPC), serialises each once like the gateway does, and
 * publishes it to the organization's topic. What is left is the cost of the stack itself.
 *
 * Env: PORT (0 = any), HOST. Prints {"listening":true,"port":…,"metricsPort":…}; GET /metrics on
 * the same port gives the event-loop lag p99. IPC: {type:"publish", plan} → {type:"published", outcome}.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as uws from 'uWebSockets.js';
import type { PublishOutcome, PublishPlan } from '../../src/publisher/event-publisher.js';
import { loadEventData, monotonicMicros } from '../../src/protocol/payload-scan.js';
import { runRateLoop } from '../../src/publisher/rate-loop.js';

interface UserData {
  organizations: string[];
}

const lag = monitorEventLoopDelay({ resolution: 20 });
lag.enable();
const podName = process.env.POD_NAME ?? `ceiling-${process.pid}`;
const ESTABLISHED = '{"event_type":"connection.established","data":{}}';
const PONG = '{"event_type":"pong"}';

function organizationsOf(authorization: string): string[] {
  const token = authorization.startsWith('Bearer ') ? authorization.slice(7) : '';
  const payload = token.split('.')[1];
  if (payload === undefined) return [];
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { org_ids?: unknown };
    return Array.isArray(claims.org_ids) ? claims.org_ids.filter((o): o is string => typeof o === 'string') : [];
  } catch {
    // Not a JWT payload: no organizations, the connection just receives nothing.
    return [];
  }
}

const app = uws.App();
app.ws<UserData>('/api/ws', {
  maxPayloadLength: 4_096,
  maxBackpressure: 1024 * 1024,
  idleTimeout: 0,
  sendPingsAutomatically: false,
  upgrade: (res, req, context) => {
    res.upgrade<UserData>(
      { organizations: organizationsOf(req.getHeader('authorization')) },
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      context,
    );
  },
  open: (ws) => {
    for (const org of ws.getUserData().organizations) ws.subscribe(org);
    ws.send(ESTABLISHED, false);
  },
  message: (ws) => {
    ws.send(PONG, false);
  },
});
app.get('/metrics', (res) => {
  const p99 = lag.percentile(99) / 1e9;
  lag.reset();
  res.writeHeader('content-type', 'text/plain').end(`baseline_nodejs_eventloop_lag_p99_seconds ${p99}\n`);
});

let sequence = 0;

async function publish(plan: PublishPlan): Promise<PublishOutcome> {
  const finalSeqs = new Array<number>(plan.orgCount).fill(0);
  const pad = 'x'.repeat(plan.padBytes);
  const result = await runRateLoop({ ratePerSecond: plan.ratePerSecond, durationMs: plan.durationMs, maxEvents: plan.maxEvents }, (i) => {
    const org = plan.orgs[i % plan.orgs.length]!;
    const seq = (finalSeqs[org] ?? 0) + 1;
    finalSeqs[org] = seq;
    sequence += 1;
    const organizationId = `${plan.orgPrefix}-${org}`;
    const text = JSON.stringify({
      event_type: 'task.event.created',
      id: `${podName}-${sequence}`,
      organization_id: organizationId,
      data: loadEventData(org, seq, monotonicMicros(), pad),
      timestamp: new Date().toISOString(),
    });
    app.publish(organizationId, text, false, false);
    return true;
  }, async () => {});
  return { sent: result.sent, elapsedMs: result.elapsedMs, finalSeqs };
}

process.on('message', (message: { type: string; plan?: PublishPlan }) => {
  if (message.type !== 'publish' || message.plan === undefined) return;
  void publish(message.plan).then(
    (outcome) => process.send?.({ type: 'published', outcome }),
    (error: unknown) => process.send?.({ type: 'publish-failed', message: String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

app.listen(process.env.HOST ?? '127.0.0.1', Number(process.env.PORT ?? 0), (socket) => {
  if (socket === false) {
    process.stderr.write('uws ceiling: cannot listen\n');
    process.exit(1);
  }
  const port = uws.us_socket_local_port(socket as unknown as uws.us_socket);
  process.stdout.write(`${JSON.stringify({ listening: true, port, metricsPort: port })}\n`);
});
