import { parseArgs } from 'node:util';
import { loadOrCreateDevSecret, mintDevToken } from './dev-token.js';

const USAGE = `usage: npm run -s token -- --user <id> [--org <id>]... [--ttl <seconds>] [--scope <scope>]...

Prints a development JWT (HS256) on stdout. Secret: JWT_SECRET, else the dev secret file
(DEV_SECRET_FILE, default .orgcast-dev/jwt-secret; created if missing). JWT_ISSUER and
JWT_AUDIENCE are honoured.
  --user   the token's sub (required)
  --org    an organization id; repeat for several
  --ttl    lifetime in seconds (default 3600)
  --scope  a scope, e.g. events:publish; repeat or space-separate for several`;

class UsageError extends Error {
  override readonly name = 'UsageError';
}

function parse(argv: readonly string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        user: { type: 'string' },
        org: { type: 'string', multiple: true },
        ttl: { type: 'string' },
        scope: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), { cause: error });
  }
  if (values.help === true) return undefined;
  const userId = values.user?.trim() ?? '';
  if (userId.length === 0) throw new UsageError('--user is required');
  const ttlText = values.ttl ?? '3600';
  const ttlSeconds = Number(ttlText);
  if (!/^\d+$/.test(ttlText) || !Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) throw new UsageError(`--ttl must be a positive integer number of seconds`);
  const organizations = (values.org ?? []).map((org) => org.trim());
  if (organizations.some((org) => org.length === 0)) throw new UsageError('--org must not be empty');
  const scopes = (values.scope ?? []).flatMap((scope) => scope.split(/\s+/)).filter((scope) => scope.length > 0);
  return { userId, organizations, ttlSeconds, scopes };
}

async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  let request;
  try {
    request = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`token: ${error.message}\n${USAGE}\n`);
    return 2;
  }
  if (request === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const secret = nonEmpty(env.JWT_SECRET) ?? await loadOrCreateDevSecret(nonEmpty(env.DEV_SECRET_FILE) ?? '.orgcast-dev/jwt-secret');
  const token = await mintDevToken({ ...request, secret, issuer: nonEmpty(env.JWT_ISSUER), audience: nonEmpty(env.JWT_AUDIENCE) });
  process.stdout.write(`${token}\n`);
  return 0;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed.length === 0 ? undefined : trimmed;
}

try {
  process.exitCode = await main(process.argv.slice(2), process.env);
} catch (error) {
  process.stderr.write(`token: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
