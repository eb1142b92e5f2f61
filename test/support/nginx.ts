/**
 * Debian's nginx as a real reverse proxy in front of mcplane replicas, in a temporary prefix (as
 * bench/candidates.ts runs it): bound to 127.0.0.1, killed with the test process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './ports.js';

/** The nginx binary; throws (never skips) with what to install when there is none. */
export function nginxBinary(): string {
  const found = ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx'].find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      'nginx is not installed, and this test needs a real reverse proxy: install it (apt-get install nginx) and run again',
    );
  }
  return found;
}

export interface Nginx {
  readonly port: number;
  /** The access log so far (format set by the caller). */
  accessLog(): Promise<string>;
  /** The error log so far (warnings and up: why a request got a 502, for instance). */
  errorLog(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Start nginx with `http` as the body of its http {} block: it must define `log_format calls`;
 * `{{port}}` there is nginx's listen port.
 */
export async function startNginx(http: string): Promise<Nginx> {
  const binary = nginxBinary();
  const dir = await mkdtemp(join(tmpdir(), 'mcplane-nginx-'));
  const port = await freePort();
  const config = `daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${http.replaceAll('{{port}}', String(port))}
  access_log ${dir}/access.log calls;
}
`;
  await writeFile(join(dir, 'nginx.conf'), config);
  const child: ChildProcess = spawn(
    binary,
    ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // If the test process goes away first, nginx (and its worker) go with it.
  const kill = () => child.kill('SIGTERM');
  process.once('exit', kill);
  try {
    await Promise.race([
      waitForPort(port, 10_000),
      exited.then(() => {
        throw new Error(`nginx exited at start: ${stderr}`);
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    port,
    accessLog: () => readFile(join(dir, 'access.log'), 'utf8').catch(() => ''),
    errorLog: () => readFile(join(dir, 'error.log'), 'utf8').catch(() => ''),
    async stop() {
      process.off('exit', kill);
      if (child.exitCode === null) child.kill('SIGTERM'); // fast shutdown: master and worker exit
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
