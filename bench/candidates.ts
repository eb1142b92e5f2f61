/**
 * What the benchmark measures side by side: the upstream alone (direct), nginx as a plain reverse proxy,
 * the node relay (relay.ts: the floor of a Node proxy) and mcplane standalone. Each is a child process on
 * 127.0.0.1 that the harness starts and stops.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { type BenchBackend, benchManifests } from './manifests.js';
import { type Child, childPids, freePort, spawnChild, trackStray, waitForLine } from './proc.js';

export const ROOT = resolve(import.meta.dirname, '..');

export interface Running {
  readonly name: string;
  /** Base URLs clients use, e.g. `http://127.0.0.1:1234/mcp`. */
  readonly urls: readonly string[];
  /** Processes whose CPU counts against this candidate. */
  readonly pids: () => number[];
  readonly stop: () => Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Upstreams

export interface UpstreamSpec {
  readonly name: string;
  readonly extraTools: number;
  readonly sse: boolean;
  readonly maxSessions: number;
  /** The fast upstream (fast-upstream.ts: raw node:http, canned answers) instead of the SDK one. */
  readonly fast?: boolean;
}

export interface RunningUpstream extends Running {
  readonly port: number;
}

export async function startUpstream(spec: UpstreamSpec): Promise<RunningUpstream> {
  const child = spawnChild(
    `upstream ${spec.name}`,
    process.execPath,
    [
      '--import',
      'tsx',
      spec.fast ? 'bench/fast-upstream.ts' : 'bench/upstream.ts',
      '--port',
      '0',
      '--name',
      spec.name,
      '--extra-tools',
      String(spec.extraTools),
      '--max-sessions',
      String(spec.maxSessions),
      ...(spec.sse ? ['--sse'] : []),
    ],
    ROOT,
  );
  const line = await waitForLine(child, (l) => l.startsWith('{"ready"'), 20_000);
  const { port } = JSON.parse(line) as { port: number };
  return {
    name: spec.name,
    port,
    urls: [`http://127.0.0.1:${port}/mcp`],
    pids: () => [child.pid],
    stop: child.stop,
  };
}

// ---------------------------------------------------------------------------------------------
// The node relay

/** relay.ts in front of the upstream at `upstreamPort`, as its own process. */
export async function startRelay(upstreamPort: number): Promise<Running> {
  const child = spawnChild(
    'node relay',
    process.execPath,
    ['--import', 'tsx', 'bench/relay.ts', '--port', '0', '--upstream', `http://127.0.0.1:${upstreamPort}`],
    ROOT,
  );
  const line = await waitForLine(child, (l) => l.startsWith('{"ready"'), 20_000);
  const { port } = JSON.parse(line) as { port: number };
  return {
    name: 'node relay',
    urls: [`http://127.0.0.1:${port}/mcp`],
    pids: () => [child.pid],
    stop: child.stop,
  };
}

// ---------------------------------------------------------------------------------------------
// Readiness

async function httpStatus(url: string): Promise<number | undefined> {
  try {
    const res = await request(url, { method: 'GET', headersTimeout: 1000, bodyTimeout: 1000 });
    await res.body.dump();
    return res.statusCode;
  } catch {
    return undefined;
  }
}

/** Poll until `ok(status)`; fail early if the child exits. Returns ms from `since`. */
export async function waitHttp(
  child: Child,
  url: string,
  ok: (status: number | undefined) => boolean,
  since: bigint,
  timeoutMs: number,
): Promise<number> {
  let exited = false;
  void child.exited.then(() => {
    exited = true;
  });
  while (true) {
    if (ok(await httpStatus(url))) return Number(process.hrtime.bigint() - since) / 1e6;
    if (exited) throw new Error(`${child.name} exited before it was ready:\n${child.tail()}`);
    if (Number(process.hrtime.bigint() - since) / 1e6 > timeoutMs) {
      throw new Error(`${child.name} not ready at ${url} after ${timeoutMs} ms:\n${child.tail()}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

// ---------------------------------------------------------------------------------------------
// nginx

/** Debian's nginx binary, installing the package when we may; undefined with the reason when not. */
export function findNginx(allowInstall: boolean): { path?: string; reason?: string } {
  const known = ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx'].find((p) => existsSync(p));
  if (known) return { path: known };
  if (!allowInstall) return { reason: 'nginx is not installed (and --no-install was given)' };
  if (process.getuid?.() !== 0) return { reason: 'nginx is not installed and apt-get needs root' };
  try {
    process.stderr.write('bench: nginx not found, running apt-get update && apt-get install -y nginx …\n');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update'], { stdio: 'ignore', timeout: 180_000, env });
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'nginx'], {
      stdio: 'ignore',
      timeout: 300_000,
      env,
    });
  } catch (err) {
    return { reason: `apt-get install nginx failed: ${(err as Error).message.split('\n')[0]}` };
  }
  return existsSync('/usr/sbin/nginx')
    ? { path: '/usr/sbin/nginx' }
    : { reason: 'apt-get ran, no nginx binary' };
}

function nginxConfig(dir: string, port: number, upstreamPort: number): string {
  return `daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream mcp {
    server 127.0.0.1:${upstreamPort};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://mcp;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 300s;
    }
  }
}
`;
}

export async function startNginx(binary: string, upstreamPort: number): Promise<Running> {
  const dir = await mkdtemp(join(tmpdir(), 'mcplane-bench-nginx-'));
  const port = await freePort();
  await writeFile(join(dir, 'nginx.conf'), nginxConfig(dir, port, upstreamPort));
  const child = spawnChild('nginx', binary, [
    '-p',
    dir,
    '-c',
    join(dir, 'nginx.conf'),
    '-e',
    join(dir, 'error.log'),
  ]);
  await waitHttp(child, `http://127.0.0.1:${port}/`, (s) => s !== undefined, process.hrtime.bigint(), 10_000);
  const workers = childPids(child.pid);
  for (const pid of workers) trackStray(pid);
  return {
    name: 'nginx',
    urls: [`http://127.0.0.1:${port}/mcp`],
    pids: () => [child.pid, ...workers],
    stop: async () => {
      await child.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// mcplane

/**
 * How mcplane is started. Production runs compiled JavaScript, so the sources are transpiled afresh with
 * esbuild (tsx's own dependency; a stale dist/ would mislead) into .tmp/bench-dist, once per run. When
 * that is not possible: dist/main.js if built, else the sources through tsx (slower to start).
 */
export async function prepareMcplane(
  /** The checkout whose src/ to build (another commit's worktree for A/B runs). */
  root = ROOT,
  outdir = join(ROOT, '.tmp/bench-dist'),
): Promise<{ args: string[]; mode: string } | undefined> {
  if (!existsSync(join(root, 'src/main.ts'))) return undefined;
  try {
    const esbuild = await import('esbuild');
    // Only what main.ts reaches (as tsc's dist would load it, file by file, not bundled).
    const graph = await esbuild.build({
      entryPoints: [join(root, 'src/main.ts')],
      absWorkingDir: root,
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const sources = Object.keys(graph.metafile.inputs).map((f) => join(root, f));
    await rm(outdir, { recursive: true, force: true });
    await esbuild.build({
      entryPoints: sources,
      outdir,
      outbase: join(root, 'src'),
      format: 'esm',
      platform: 'node',
      target: 'node20',
      logLevel: 'silent',
    });
    return { args: [join(outdir, 'main.js')], mode: 'node main.js (src transpiled by esbuild)' };
  } catch (err) {
    if (root !== ROOT) throw err; // another commit: the fallbacks below would run this one
    const why = `esbuild could not transpile src/ (${(err as Error).message.split('\n').slice(0, 2).join(' ')})`;
    if (existsSync(join(ROOT, 'dist/main.js')))
      return { args: ['dist/main.js'], mode: `node dist/main.js; ${why}` };
    return { args: ['--import', 'tsx', 'src/main.ts'], mode: `node --import tsx src/main.ts; ${why}` };
  }
}

let entry: { args: string[]; mode: string } | undefined;

/** Set once by the runner after prepareMcplane(). */
export function useMcplaneEntry(chosen: { args: string[]; mode: string } | undefined): void {
  entry = chosen;
}

export function mcplaneMode(): string | undefined {
  return entry?.mode;
}

export interface RunningMcplane extends Running {
  /** Spawn → /readyz 200. */
  readonly readyMs: number;
  readonly pid: number;
  /** /metrics, /readyz. */
  readonly adminPort: number;
}

let runDir: string | undefined;

/** The run's temporary folder (mcplane's logs), made on first use and removed when the harness exits. */
function runTemp(): string {
  if (runDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'mcplane-bench-run-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    runDir = dir;
  }
  return runDir;
}
let logs = 0;

/**
 * Spawn mcplane on 127.0.0.1 with a free admin port and its default flags otherwise, and wait for
 * /readyz. Its stdout (the access log: one JSON line per request at the default `info`) goes to a
 * file in the run's temporary folder, as production pipes it; pass `--log-level warn` in `source` to
 * turn the access log off. `source` says where its configuration comes from (`--manifests <dir>` or
 * `--kubeconfig <file> …`) and carries any further flags.
 */
export async function launchMcplane(
  name: string,
  source: readonly string[],
  /** Node flags before the entry (e.g. `--cpu-prof`). */
  nodeArgs: readonly string[] = [],
  /** Environment added for mcplane (e.g. OTEL_* to turn tracing on). */
  env: Readonly<Record<string, string>> = {},
): Promise<{ child: Child; adminPort: number; readyMs: number; logFile: string }> {
  if (!entry) throw new Error('src/main.ts does not exist yet');
  const adminPort = await freePort();
  const logFile = join(runTemp(), `mcplane-${++logs}.log`);
  const since = process.hrtime.bigint();
  const child = spawnChild(
    name,
    process.execPath,
    [
      ...nodeArgs,
      ...entry.args,
      ...source,
      '--bind-address',
      '127.0.0.1',
      '--admin-port',
      String(adminPort),
      '--admin-address',
      '127.0.0.1',
    ],
    ROOT,
    env,
    logFile,
  );
  try {
    const ready = `http://127.0.0.1:${adminPort}/readyz`;
    const readyMs = await waitHttp(child, ready, (s) => s === 200, since, 30_000);
    return { child, adminPort, readyMs, logFile };
  } catch (err) {
    await child.stop();
    await rm(logFile, { force: true });
    throw err;
  }
}

export async function startMcplane(
  backends: readonly BenchBackend[],
  /** Node flags before the entry (e.g. `--cpu-prof`). */
  nodeArgs: readonly string[] = [],
  /** mcplane flags (e.g. `--list-cache=false`). */
  flags: readonly string[] = [],
  env: Readonly<Record<string, string>> = {},
): Promise<RunningMcplane> {
  const dir = await mkdtemp(join(tmpdir(), 'mcplane-bench-manifests-'));
  await writeFile(join(dir, 'bench.yaml'), benchManifests(backends));
  try {
    const source = ['--manifests', dir, ...flags];
    const { child, adminPort, readyMs, logFile } = await launchMcplane('mcplane', source, nodeArgs, env);
    return {
      name: 'mcplane',
      urls: backends.map((b) => `http://127.0.0.1:${b.listenerPort}/mcp`),
      pids: () => [child.pid],
      pid: child.pid,
      readyMs,
      adminPort,
      stop: async () => {
        await child.stop();
        await rm(dir, { recursive: true, force: true });
        await rm(logFile, { force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
