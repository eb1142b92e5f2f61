/**
 * Start a whole mcplane in-process from manifests, as main.ts would, with test-friendly settings.
 */
import { type Config, loadConfig } from '../../src/config.js';
import { type Gateway, startGateway } from '../../src/gateway.js';
import { silentLogger } from '../../src/shared/logger.js';
import { createMetrics } from '../../src/shared/metrics.js';

export async function startTestGateway(
  args: string[],
  overrides: Partial<Config> = {},
  /** The OTEL_* variables the gateway sees (none by default: tracing off). */
  env: Readonly<Record<string, string>> = {},
): Promise<Gateway> {
  const config: Config = {
    ...loadConfig(
      [
        '--bind-address',
        '127.0.0.1',
        '--admin-address',
        '127.0.0.1',
        '--admin-port',
        '0',
        '--debounce',
        '5ms',
        ...args,
      ],
      {},
    ),
    ...overrides,
  };
  const gateway = await startGateway(
    config,
    silentLogger,
    createMetrics(undefined, { processMetrics: false }),
    env,
  );
  const deadline = Date.now() + 10_000;
  while (!gateway.readiness().ready) {
    if (Date.now() > deadline)
      throw new Error(`gateway not ready: ${JSON.stringify(gateway.readiness().details)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return gateway;
}
