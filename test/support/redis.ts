/**
 * Debian's redis-server on 127.0.0.1 for rate-limit tests: no persistence, and restartable on the
 * same port (to test an outage and the recovery after it), or paused (to test a Redis that hangs).
 *
 * It dies with the test process even when that is killed outright: it runs under a small `sh`
 * that reads our pipe and kills it at end of file, which the kernel delivers when we are gone.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { GUARD } from './guard.js';
import { freePort } from './ports.js';

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
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Stop the server (its data goes with it). */
  stop(): Promise<void>;
  /** Start it again on the same port (after stop()). */
  start(): Promise<void>;
  /** stop() then start(): an empty Redis on the same port. */
  restart(): Promise<void>;
  /** Freeze the server (SIGSTOP): connections stay open, nothing answers. */
  pause(): void;
  /** Thaw it (SIGCONT). */
  resume(): void;
}

/** Whether Redis on 127.0.0.1:port answers PING with PONG (within 500 ms). */
export function pingRedis(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let reply = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 500);
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
  });
}

export async function startRedis(): Promise<RedisServer> {
  const binary = redisBinary();
  const port = await freePort();
  let guard: ChildProcess | undefined;
  let redisPid: number | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async () => {
    if (guard && guard.exitCode === null && guard.signalCode === null) {
      throw new Error('redis-server is already running');
    }
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    const child = spawn('sh', ['-c', GUARD, 'sh', binary, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    guard = child;
    child.stdin?.on('error', () => {}); // EPIPE when the guard has already gone
    let output = '';
    let pid = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      if (redisPid === undefined) {
        pid += chunk;
        const newline = pid.indexOf('\n');
        if (newline >= 0) {
          redisPid = Number(pid.slice(0, newline));
          output += pid.slice(newline + 1);
        }
      } else {
        output += chunk;
      }
    });
    child.stderr?.on('data', (chunk) => (output += chunk));
    exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 10_000;
    while (!(await pingRedis(port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(`redis-server did not answer PING on 127.0.0.1:${port}:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };

  const stop = async () => {
    const child = guard;
    if (!child) return;
    if (redisPid !== undefined) {
      try {
        process.kill(redisPid, 'SIGCONT'); // a paused server must be able to die
      } catch {
        // already gone
      }
    }
    child.stdin?.end(); // the guard kills redis-server, waits for it, and exits
    await exited;
    guard = undefined;
    redisPid = undefined;
  };

  const signal = (name: 'SIGSTOP' | 'SIGCONT') => {
    if (redisPid === undefined) throw new Error('redis-server is not running');
    process.kill(redisPid, name);
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    stop,
    async restart() {
      await stop();
      await start();
    },
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
  };
}

/** Stop for good (undefined: nothing started). */
export async function closeRedis(server: RedisServer | undefined): Promise<void> {
  await server?.stop();
}
