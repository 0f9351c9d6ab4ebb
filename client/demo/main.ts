import { startDemo } from './server.js';

/** `npm run demo`: the live task board on http://127.0.0.1:8080 (DEMO_PORT, DEMO_HOST to change). */
const port = Number(process.env.DEMO_PORT ?? 8080);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write(`DEMO_PORT must be a port number, got ${process.env.DEMO_PORT}\n`);
  process.exit(78);
}
const amqpUrl = process.env.AMQP_URL?.trim();
const redisUrl = process.env.REDIS_URL?.trim();
if ((amqpUrl === undefined || amqpUrl === '') !== (redisUrl === undefined || redisUrl === '')) {
  process.stderr.write('the connected demo needs both AMQP_URL and REDIS_URL (or neither, for the embedded one)\n');
  process.exit(78);
}
const demo = await startDemo({
  port,
  host: process.env.DEMO_HOST ?? '127.0.0.1',
  tasksFile: process.env.DEMO_TASKS_FILE?.trim() || undefined,
  connected: amqpUrl ? { amqpUrl, redisUrl: redisUrl!, exchange: process.env.AMQP_EXCHANGE?.trim() || undefined } : undefined,
  onGatewayLog: process.env.DEMO_GATEWAY_LOGS === '1' ? (line) => process.stdout.write(`gateway: ${line}\n`) : undefined,
});
process.stdout.write([
  '',
  `  orgcast live task board: ${demo.url}`,
  demo.mode === 'connected'
    ? `  gateway (connected to RabbitMQ and Redis; the task service publishes to RabbitMQ): ${demo.gatewayUrl}`
    : `  gateway (embedded; the task service publishes through its dev endpoint): ${demo.gatewayUrl}`,
  `  tasks stored in ${process.env.DEMO_TASKS_FILE?.trim() || '.orgcast-dev/demo-tasks.json'} (kept across restarts)`,
  '',
  '  Open it in two windows as different users (Alice: acme, Bob: globex, Carol: both).',
  '  Add ?pollAfter=0 to the page URL to start on long-polling. Ctrl-C stops everything.',
  '',
].join('\n'));

let stopping = false;
const stop = (): void => {
  if (stopping) process.exit(130);
  stopping = true;
  demo.stop().then(() => process.exit(0), (error: unknown) => {
    process.stderr.write(`demo: stop failed: ${String(error)}\n`);
    process.exit(1);
  });
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
