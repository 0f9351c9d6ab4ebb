export { loadConfig, ConfigError, type Config } from './config.js';
export { envSchema, type Env } from './schema.js';
