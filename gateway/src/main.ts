import { ConfigError, loadConfig } from './config/config.js';
import { RESERVED_DESCRIPTORS, connectionsWithinLimit, openFilesLimit } from './lifecycle/open-files-limit.js';
import { createLogger } from './logging/logger.js';
import { PortInUseError } from './transport/port-in-use-error.js';
import { uwsEnvironment } from './transport/uws-settings.js';

/** The only file that touches process.*: environment, signals, exit. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`orgcast: ${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel, pod: config.podName });
  const limit = openFilesLimit();
  const maxConnections = connectionsWithinLimit(config.server.maxConnections, limit);
  if (maxConnections < config.server.maxConnections) {
    // Out of descriptors, a pod could neither refuse connections nor answer its probes.
    logger.warn({ maxConnections: config.server.maxConnections, openFilesLimit: limit, reservedDescriptors: RESERVED_DESCRIPTORS, effectiveMaxConnections: maxConnections }, `MAX_CONNECTIONS is above what the open-files limit allows: this pod holds at most ${maxConnections} connections (raise the limit, or lower MAX_CONNECTIONS to silence this)`);
    config = { ...config, server: { ...config.server, maxConnections } };
  }
  // uWebSockets.js reads its settings once, when it loads: before the gateway's modules import it.
  Object.assign(process.env, uwsEnvironment());
  const { createGateway } = await import('./gateway.js');
  const gateway = await createGateway(config, { logger });

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    logger.info({ signal, timeoutMs: config.lifecycle.shutdownTimeoutMs }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error('shutdown deadline passed: exiting');
      process.exit(1);
    }, config.lifecycle.shutdownTimeoutMs);
    deadline.unref();
    gateway.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  await gateway.start();
}

main().catch((error: unknown) => {
  if (error instanceof PortInUseError) {
    process.stderr.write(`orgcast: cannot start: ${error.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`orgcast: failed to start: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
