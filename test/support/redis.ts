/**
 * Debian's redis-server on 127.0.0.1 for rate-limit tests: no persistence, killed with the test
 * process, and restartable on the same port (to test an outage and the recovery after it).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort, waitForPort } from './ports.js';

/** The redis-server binary; throws (never skips) with what to install when there is none. */
export function redisBinary(): string {
  const found = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      'redis-server is not installed, and this test needs a real Redis: install it (apt-get install redis-server) and run again',
    );
  }
  return found;
}

export interface RedisServer {
  readonly port: number;
  /** Stop the server (its data goes with it). */
  stop(): Promise<void>;
  /** Start it again on the same port. */
  start(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  const binary = redisBinary();
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const kill = () => child?.kill('SIGKILL');
  process.once('exit', kill);
  const start = async () => {
    const proc = spawn(
      binary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'yes',
      ],
      { stdio: 'ignore' },
    );
    child = proc;
    exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    await waitForPort(port, 10_000);
  };
  const stop = async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    port,
    start,
    async stop() {
      await stop();
    },
  };
}

/** Stop for good: also forget the exit hook. */
export async function closeRedis(server: RedisServer | undefined): Promise<void> {
  await server?.stop();
}
