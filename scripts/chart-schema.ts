/**
 * Keeps the `config` section of charts/orgcast/values.schema.json in step with the gateway's
 * environment schema (gateway/src/config/schema.ts): one JSON-schema property per variable the
 * chart lets users set, so a misspelt or mistyped variable fails `helm install`.
 *
 * CLI: `npx tsx scripts/chart-schema.ts` rewrites the file; `--check` exits 1 when it is stale.
 * charts/test/chart-consistency.test.ts runs the same comparison.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { envSchema } from '../gateway/src/config/schema.js';

/** Set by the chart itself: container ports, the downward API, Kubernetes discovery (values `kubernetesDiscovery`). */
export const CHART_MANAGED_ENV = ['PORT', 'MANAGEMENT_PORT', 'POD_NAME', 'POD_NAMESPACE', 'DISCOVERY', 'KUBERNETES_SERVICE', 'POD_DELETION_COST_ENABLED'] as const;

/** Read from the existing Secret named by `secret.name` (values `secret.keys`). */
export const SECRET_ENV = ['JWT_SECRET', 'JWT_PUBLIC_KEY', 'JWT_JWKS_URL', 'AMQP_URL', 'REDIS_URL', 'ADMIN_TOKEN'] as const;

export const VALUES_SCHEMA_PATH = join(resolve(fileURLToPath(import.meta.url), '..', '..'), 'charts', 'orgcast', 'values.schema.json');

type JsonSchema = Record<string, unknown>;

/** JSON-schema properties of `config`: every gateway variable except chart-managed and secret ones. */
export function configPropertySchemas(): Record<string, JsonSchema> {
  const generated = z.toJSONSchema(envSchema, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, JsonSchema> };
  const parsed = z.toJSONSchema(envSchema, { io: 'output', unrepresentable: 'any' }) as { properties?: Record<string, JsonSchema> };
  const excluded = new Set<string>([...CHART_MANAGED_ENV, ...SECRET_ENV]);
  const properties: Record<string, JsonSchema> = {};
  for (const name of Object.keys(envSchema.shape).sort()) {
    if (excluded.has(name)) continue;
    const input = generated.properties?.[name] ?? {};
    // A decimal integer is read from a string (the environment) and checked as a number: the chart
    // takes the number, with the bounds the gateway checks after parsing.
    const output = parsed.properties?.[name];
    const integer = input.type === 'string' && typeof input.pattern === 'string' && output?.type === 'integer';
    properties[name] = toValuesProperty(integer ? output : input);
  }
  return properties;
}

/** null leaves a variable unset; YAML booleans are accepted where the gateway reads true/false. */
function toValuesProperty(source: JsonSchema): JsonSchema {
  const { default: defaultValue, format: _format, ...rest } = source;
  const property: JsonSchema = { ...rest };
  if (defaultValue !== undefined) property.description = `gateway default: ${JSON.stringify(defaultValue)}`;
  const type = typeof rest.type === 'string' ? rest.type : undefined;
  const enumValues = Array.isArray(rest.enum) ? rest.enum : undefined;
  if (type === 'string' && enumValues?.includes('true') === true && enumValues.includes('false')) {
    property.type = ['string', 'boolean', 'null'];
    property.enum = [...enumValues, true, false, null];
  } else if (type !== undefined) {
    property.type = [type, 'null'];
    if (enumValues !== undefined) property.enum = [...enumValues, null];
  }
  return property;
}

export async function readValuesSchema(path = VALUES_SCHEMA_PATH): Promise<JsonSchema & { properties: Record<string, JsonSchema> }> {
  return JSON.parse(await readFile(path, 'utf8')) as JsonSchema & { properties: Record<string, JsonSchema> };
}

export function withConfigProperties(schema: JsonSchema & { properties: Record<string, JsonSchema> }): JsonSchema {
  const config = schema.properties.config ?? {};
  return { ...schema, properties: { ...schema.properties, config: { ...config, properties: configPropertySchemas() } } };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const current = await readValuesSchema();
  const next = `${JSON.stringify(withConfigProperties(current), null, 2)}\n`;
  const stale = `${JSON.stringify(current, null, 2)}\n` !== next;
  if (process.argv.includes('--check')) {
    process.stdout.write(stale ? `${VALUES_SCHEMA_PATH} is stale: run npx tsx scripts/chart-schema.ts\n` : 'values.schema.json is up to date\n');
    process.exitCode = stale ? 1 : 0;
  } else if (stale) {
    await writeFile(VALUES_SCHEMA_PATH, next);
    process.stdout.write(`updated ${VALUES_SCHEMA_PATH}\n`);
  }
}
