import { join } from 'node:path';

export interface NginxUpstream {
  readonly host?: string;
  readonly port: number;
}

export interface NginxConfigOptions {
  /** The prefix directory (`nginx -p`): temp paths live below it. */
  readonly dir: string;
  /** Where nginx listens. */
  readonly host?: string;
  readonly port: number;
  /** The gateway pods' public ports (none: every request fails with 502). */
  readonly upstreams: readonly NginxUpstream[];
  /** An nginx variable expression, e.g. `$arg_access_token` or `$http_x_user_id` (see normalizeHashKey). */
  readonly hashKey: string;
  readonly workerProcesses?: number;
  readonly workerConnections?: number;
  /** How long a pod that failed once is skipped. Default 2 s. */
  readonly failTimeoutSeconds?: number;
  /** The hard limit of open files nginx may raise itself to (see hardOpenFilesLimit). */
  readonly maxOpenFiles?: number;
}

/**
 * The default hash key: the token, from whichever place the client put it. Every connection with
 * the same token lands on the same pod.
 */
export const DEFAULT_HASH_KEY = '$http_authorization$arg_access_token';

const VARIABLE = String.raw`\$(?:[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*\})`;
const KEY = new RegExp(String.raw`^(?:${VARIABLE}|[A-Za-z0-9_:.\-])+$`);

/**
 * Accepts a variable name without `$` (`arg_access_token`), or an expression of variables and
 * plain characters (`$http_x_user_id`, `$arg_user:$arg_org`); returns the nginx expression.
 * Throws on anything that could break out of the directive (spaces, quotes, `;`, braces).
 */
export function normalizeHashKey(key: string): string {
  const expression = key.includes('$') ? key : `$${key}`;
  if (!KEY.test(expression) || !new RegExp(VARIABLE).test(expression)) {
    throw new TypeError(`bad nginx hash key "${key}": use variables such as arg_access_token, $http_x_user_id or $arg_user:$arg_org`);
  }
  return expression;
}

/**
 * An nginx configuration in front of the gateway pods, as a consistent-hashing load balancer in a
 * cluster does it: `hash <key> consistent` over the pods, WebSocket upgrade proxying with an hour
 * of read timeout, X-Forwarded-For, and a failed pod's keys retried on the next pod of the ring
 * (`proxy_next_upstream error timeout`). Nothing outside `dir` is written: temp paths are below it,
 * the access log is off (request lines carry the token), the error log goes to stderr, where
 * startNginx removes the query strings from it.
 */
export function renderNginxConfig(options: NginxConfigOptions): string {
  const host = options.host ?? '127.0.0.1';
  const failTimeout = options.failTimeoutSeconds ?? 2;
  const servers = options.upstreams.length > 0
    ? options.upstreams.map((u) => `    server ${u.host ?? '127.0.0.1'}:${u.port} max_fails=1 fail_timeout=${failTimeout}s;`)
    : ['    server 127.0.0.1:9 down;'];
  const temp = (name: string): string => join(options.dir, 'temp', name);
  const workerConnections = options.workerConnections ?? 16_384;
  // Each proxied connection holds two descriptors in the worker.
  const openFiles = Math.min(options.maxOpenFiles ?? Number.POSITIVE_INFINITY, 2 * workerConnections + 64);
  return `# Written by the orgcast cluster harness.
worker_processes ${options.workerProcesses ?? 1};
worker_rlimit_nofile ${openFiles};
error_log stderr notice;

events {
  worker_connections ${workerConnections};
}

http {
  access_log off;
  client_body_temp_path ${temp('client_body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};

  map $http_upgrade $connection_upgrade {
    default upgrade;
    '' close;
  }

  upstream gateways {
    hash ${normalizeHashKey(options.hashKey)} consistent;
${servers.join('\n')}
  }

  server {
    listen ${host}:${options.port} backlog=4096;

    location / {
      proxy_pass http://gateways;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_connect_timeout 2s;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
      proxy_buffering off;
      proxy_next_upstream error timeout;
    }
  }
}
`;
}
