/**
 * npm run cluster -- --pods 3 [--port 8080] [--hash-key arg_access_token|$http_x_user_id|...]
 *                    [--embedded] [--logs] [--name-prefix gw]
 *
 * Starts N gateway processes against the local Redis and RabbitMQ (or each embedded and alone with
 * --embedded) and nginx in front of them with consistent hashing, prints the URLs, and stops
 * everything on Ctrl-C / SIGTERM. Gateway variables set in this shell (JWT_SECRET, AMQP_URL,
 * REDIS_KEY_PREFIX, LOG_LEVEL, ...) are passed to every pod; HOST, PORT, MANAGEMENT_PORT and
 * POD_NAME are the harness's. With no JWT key set, every pod gets the development secret of the
 * embedded mode (DEV_SECRET_FILE, default .orgcast-dev/jwt-secret), which `npm run token` signs with.
 */
import { parseArgs } from 'node:util';
import { envSchema } from '../gateway/src/config/schema.js';
import { loadOrCreateDevSecret } from '../gateway/src/tools/dev-token.js';
import { startCluster, type Cluster } from '../gateway/test/harness/cluster.js';
import { DEFAULT_HASH_KEY, normalizeHashKey } from '../gateway/test/harness/nginx-config.js';

const USAGE = `usage: npm run cluster -- [--pods 3] [--port 8080] [--hash-key KEY] [--embedded] [--logs] [--name-prefix gw]
  --pods N          gateway processes (default 3)
  --port P          nginx's port on 127.0.0.1 (default 8080)
  --hash-key KEY    nginx variable(s) to hash on: arg_access_token, $http_x_user_id, $arg_user:$arg_org
                    (default ${DEFAULT_HASH_KEY}: the token)
  --embedded        no RabbitMQ/Redis: every pod alone (default: the local RabbitMQ and Redis)
  --logs            print every log line of every pod (default: warnings and errors)
  --name-prefix P   pods are named P-0, P-1, ... (default gw)
`;
const HARNESS_OWNED = new Set(['HOST', 'PORT', 'MANAGEMENT_PORT', 'POD_NAME']);
const LOCAL_BROKERS = { AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672', REDIS_URL: 'redis://127.0.0.1:6379' };
const LOUD_LEVELS = new Set(['warn', 'error', 'fatal', 40, 50, 60]);
const KEY_VARIABLES = ['JWT_SECRET', 'JWT_PUBLIC_KEY', 'JWT_JWKS_URL'] as const;
/** The embedded mode's default (gateway/src/config): the token CLI reads the same file. */
const DEFAULT_DEV_SECRET_FILE = '.orgcast-dev/jwt-secret';
/**
 * A terminal's Ctrl-C reaches npm, tsx and this script at once, and tsx relays it once more: signals
 * this close to the first are that one keypress. A later one means "stop waiting".
 */
const SAME_KEYPRESS_MS = 1_000;
/** Pods stop quickly (nginx is already gone, there is nobody to drain for) unless the shell says otherwise. */
const QUICK_STOP = { SHUTDOWN_TIMEOUT_MS: '3000', DRAIN_WINDOW_MS: '500' };

function fail(message: string): never {
  process.stderr.write(`cluster: ${message}\n${USAGE}`);
  process.exit(64);
}

function positiveInt(value: string, name: string, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) fail(`--${name} must be an integer from 1 to ${max}, got "${value}"`);
  return n;
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        pods: { type: 'string', default: '3' },
        port: { type: 'string', default: '8080' },
        'hash-key': { type: 'string', default: DEFAULT_HASH_KEY },
        embedded: { type: 'boolean', default: false },
        logs: { type: 'boolean', default: false },
        'name-prefix': { type: 'string', default: 'gw' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    fail((error as Error).message);
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return;
  }
  const pods = positiveInt(args.pods, 'pods', 64);
  const port = positiveInt(args.port, 'port', 65_535);
  let hashKey: string;
  try {
    hashKey = normalizeHashKey(args['hash-key']);
  } catch (error) {
    fail((error as Error).message);
  }
  const namePrefix = args['name-prefix'];
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(namePrefix)) fail('--name-prefix: letters, digits, dot, dash, underscore');

  const env: Record<string, string> = args.embedded ? {} : { ...LOCAL_BROKERS };
  for (const name of Object.keys(envSchema.shape)) {
    const value = process.env[name];
    if (value !== undefined && !HARNESS_OWNED.has(name)) env[name] = value;
  }
  if (args.embedded) {
    delete env.AMQP_URL;
    delete env.REDIS_URL;
  }
  const devSecretFile = env.DEV_SECRET_FILE ?? DEFAULT_DEV_SECRET_FILE;
  const usesDevSecret = KEY_VARIABLES.every((name) => env[name] === undefined || env[name].trim() === '');
  if (usesDevSecret) env.JWT_SECRET = await loadOrCreateDevSecret(devSecretFile);
  if (env.SHUTDOWN_TIMEOUT_MS === undefined && env.DRAIN_WINDOW_MS === undefined) Object.assign(env, QUICK_STOP);

  const print = (text: string): void => void process.stdout.write(text);
  process.stdout.write(`starting ${pods} gateway pod(s)${args.embedded ? ' (embedded, each alone)' : ` against ${env.AMQP_URL?.replace(/\/\/[^@]*@/, '//') ?? ''} and ${env.REDIS_URL ?? ''}`} and nginx on 127.0.0.1:${port} ...\n`);
  let cluster: Cluster | undefined;
  let stoppingSince: number | undefined;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stoppingSince !== undefined) {
      if (Date.now() - stoppingSince < SAME_KEYPRESS_MS) return;
      // Not waiting any longer: the harness's exit handler kills what is left and removes its files.
      process.stderr.write(`cluster: ${signal} again: killing the pods and nginx now\n`);
      process.exit(130);
    }
    stoppingSince = Date.now();
    process.stdout.write(`\n${signal}: stopping nginx and the pods (Ctrl-C again to kill them) ...\n`);
    await cluster?.stop();
    process.stdout.write('stopped.\n');
    process.exit(0);
  };
  process.on('SIGINT', (signal) => void stop(signal));
  process.on('SIGTERM', (signal) => void stop(signal));

  cluster = await startCluster({
    pods,
    port,
    hashKey,
    env,
    namePrefix,
    detached: true,
    onLog: (pod, entry) => {
      if (args.logs || LOUD_LEVELS.has(entry.level as string | number)) print(`[${pod}] ${JSON.stringify(entry)}\n`);
    },
    onStderr: (source, text) => {
      for (const line of text.split('\n').filter((l) => l.length > 0)) {
        // nginx's notices (worker starts, signals) only with --logs.
        if (args.logs || source !== 'nginx' || !/\[(notice|info)\]/.test(line)) process.stderr.write(`[${source}] ${line}\n`);
      }
    },
  });
  for (const pod of cluster.pods) {
    void pod.process.exited.then((code) => {
      if (stoppingSince === undefined) process.stderr.write(`[${pod.name}] exited (${code})\n`);
    });
  }

  const width = Math.max(...cluster.pods.map((p) => p.name.length));
  print(`
orgcast cluster: ${cluster.pods.length} pod(s) behind nginx (hash ${hashKey} consistent)
  WebSocket   ${cluster.wsUrl}
  HTTP        ${cluster.httpUrl}  (GET /api/poll)
${cluster.pods.map((p) => `  ${p.name.padEnd(width)}  direct ${p.wsUrl}  management ${p.managementUrl}  (/readyz /metrics)`).join('\n')}
  temp files  ${cluster.nginx.dir}  (nginx.conf; removed on exit)
Tokens (${usesDevSecret ? `signed with the development secret in ${devSecretFile}` : 'with the JWT key set in this shell'}):
  TOKEN=$(npm run -s token -- --user alice --org acme)${usesDevSecret ? '' : '   (needs the same JWT_SECRET in that shell)'}
  ${cluster.wsUrl}?access_token=$TOKEN
Ctrl-C stops everything.
`);
}

main().catch((error: unknown) => {
  process.stderr.write(`cluster: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
