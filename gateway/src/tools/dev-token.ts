import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SignJWT } from 'jose';

export interface DevTokenOptions {
  readonly secret: string;
  readonly userId: string;
  readonly organizations: readonly string[];
  readonly ttlSeconds: number;
  readonly scopes?: readonly string[] | undefined;
  readonly issuer?: string | undefined;
  readonly audience?: string | undefined;
  /** `iat`; default now. `exp` is `iat + ttlSeconds`. */
  readonly issuedAt?: Date | undefined;
}

/** A development or configuration file problem around the dev secret / dev tokens. */
export class DevTokenError extends Error {
  override readonly name = 'DevTokenError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** An HS256 JWT with `sub`, `org_ids`, `iat`, `exp` and, when given, `scope`, `iss`, `aud`. */
export async function mintDevToken(options: DevTokenOptions): Promise<string> {
  const { secret, userId, organizations, ttlSeconds, scopes = [], issuer, audience } = options;
  if (userId.length === 0) throw new DevTokenError('userId must not be empty');
  if (!(Number.isInteger(ttlSeconds) && ttlSeconds > 0)) throw new DevTokenError('ttlSeconds must be a positive integer');
  if (organizations.some((org) => org.length === 0)) throw new DevTokenError('organizations must not contain empty strings');
  const iat = Math.floor((options.issuedAt ?? new Date()).getTime() / 1000);
  const jwt = new SignJWT({ org_ids: [...organizations], ...(scopes.length > 0 && { scope: scopes.join(' ') }) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlSeconds);
  if (issuer !== undefined) jwt.setIssuer(issuer);
  if (audience !== undefined) jwt.setAudience(audience);
  return jwt.sign(new TextEncoder().encode(secret));
}

/**
 * The development secret in `file`; created on first use (parent folders too, file mode 0600)
 * with 48 random bytes, base64url. Concurrent first calls agree on one secret.
 */
export async function loadOrCreateDevSecret(file: string): Promise<string> {
  const existing = await readSecret(file);
  if (existing !== undefined) return existing;
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const secret = randomBytes(48).toString('base64url');
  // Written aside, then linked into place: a reader never sees a half-written file, and the
  // link fails with EEXIST when a concurrent creator won, whose secret is then used.
  const staging = `${file}.${randomBytes(8).toString('hex')}.tmp`;
  try {
    await writeFile(staging, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    await link(staging, file);
    return secret;
  } catch (error) {
    if (!isErrno(error, 'EEXIST')) throw new DevTokenError(`cannot create dev secret file ${file}`, { cause: error });
    const winner = await readSecret(file);
    if (winner === undefined) throw new DevTokenError(`dev secret file ${file} vanished while being created`, { cause: error });
    return winner;
  } finally {
    await rm(staging, { force: true });
  }
}

async function readSecret(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw new DevTokenError(`cannot read dev secret file ${file}`, { cause: error });
  }
  const secret = text.trim();
  if (secret.length < 32) throw new DevTokenError(`dev secret file ${file} holds fewer than 32 characters: delete it to regenerate`);
  return secret;
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
