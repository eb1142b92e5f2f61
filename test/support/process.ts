/**
 * A real mcplane process (`node --import tsx src/main.ts …`) for tests that need signals, exits or
 * two processes: loopback addresses, a free admin port, output captured, and a wait for /readyz.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface GatewayProcess {
  readonly process: ChildProcess;
  readonly adminPort: number;
  /** Everything the process wrote to stdout and stderr so far. */
  readonly logs: () => string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string | null>;
  /** Waits until /readyz answers 200; throws with the logs if it does not within the timeout. */
  ready(timeoutMs?: number): Promise<void>;
  readyzStatus(): Promise<number | undefined>;
}

export async function spawnGateway(
  args: readonly string[],
  options: { bindAddress?: string; adminPort?: number; nodeArgs?: readonly string[] } = {},
): Promise<GatewayProcess> {
  const adminPort = options.adminPort ?? (await freePort());
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      '--import',
      'tsx',
      'src/main.ts',
      '--bind-address',
      options.bindAddress ?? '127.0.0.1',
      '--admin-address',
      '127.0.0.1',
      '--admin-port',
      String(adminPort),
      ...args,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let logs = '';
  child.stdout?.on('data', (chunk) => (logs += chunk));
  child.stderr?.on('data', (chunk) => (logs += chunk));
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  const readyzStatus = async () =>
    (await fetch(`http://127.0.0.1:${adminPort}/readyz`).catch(() => undefined))?.status;
  return {
    process: child,
    adminPort,
    logs: () => logs,
    exited,
    readyzStatus,
    async ready(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while ((await readyzStatus()) !== 200) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`mcplane not ready:\n${logs}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}
