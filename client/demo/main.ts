import { startDemo } from './server.js';

/** `npm run demo`: the live task board on http://127.0.0.1:8080 (DEMO_PORT, DEMO_HOST to change). */
const port = Number(process.env.DEMO_PORT ?? 8080);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write(`DEMO_PORT must be a port number, got ${process.env.DEMO_PORT}\n`);
  process.exit(78);
}
const demo = await startDemo({
  port,
  host: process.env.DEMO_HOST ?? '127.0.0.1',
  onGatewayLog: process.env.DEMO_GATEWAY_LOGS === '1' ? (line) => process.stdout.write(`gateway: ${line}\n`) : undefined,
});
process.stdout.write([
  '',
  `  orgcast live task board: ${demo.url}`,
  `  gateway (embedded, behind the demo's /api proxy): ${demo.gatewayUrl}`,
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
