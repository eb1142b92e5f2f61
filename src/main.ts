#!/usr/bin/env node
/**
 * mcplane CLI: flags/env → config → start. SIGTERM/SIGINT drain gracefully and exit 0; a second
 * signal exits at once.
 */
import { ConfigError, helpText, loadConfig } from './config.js';
import { startGateway } from './gateway.js';
import { createLogger } from './shared/logger.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${helpText()}\n`);
    return;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(argv);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`mcplane: ${err.message}\n`);
    process.exit(2);
  }
  const logger = createLogger(config.logLevel, undefined, config.logFormat);
  const gateway = await startGateway(config, logger).catch((err: unknown) => {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`mcplane: ${err.message}\n`);
    process.exit(2);
  });
  let stoppingSince: number | undefined;
  const shutdown = (signal: string) => {
    if (stoppingSince !== undefined) {
      // One Ctrl-C can arrive twice (to the process group, and relayed by a parent such as npm or
      // tsx); only a second signal a moment later means "stop draining, exit now".
      if (Date.now() - stoppingSince < 1000) return;
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stoppingSince = Date.now();
    logger.info({ signal }, 'signal received');
    gateway.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`mcplane: failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
