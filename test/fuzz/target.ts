/**
 * What the fuzzer shoots at: one real mcplane process (standalone manifests) in front of real SDK
 * fixture servers, a transparent backend (`/solo`, one target) and a multiplexed one (`/multi`,
 * three targets). Also the /proc readings (the serving process, its RSS) and a raw HTTP client
 * that sends exactly the bytes and headers a case holds.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { freePort, waitForPort } from '../support/ports.js';
import { type GatewayProcess, spawnGateway } from '../support/process.js';
import { writeManifests } from '../support/standalone.js';
import { type Backend, type Body, MAX_BODY_BYTES } from './generate.js';

/**
 * The gateway's V8 heap limit, MiB, as a container memory limit would set it. Without one V8 grows
 * its heap lazily, and how far depends on how busy the machine is (the same run peaked at 254 MiB
 * alone and 330 MiB beside the rest of the suite), so peak RSS would measure GC timing rather than
 * what the gateway holds. The run needs well under 96 MiB; a leak ends the process, which fails
 * the run.
 */
const HEAP_MIB = 128;

export interface Target {
  readonly port: number;
  readonly adminPort: number;
  /** The process that owns the listening socket (not a wrapper that may have started it). */
  readonly pid: number;
  readonly gateway: GatewayProcess;
  readonly fixtures: readonly FixtureServer[];
  url(backend: Backend | string, path?: string): string;
  close(): Promise<void>;
}

export async function startTarget(): Promise<Target> {
  const [solo, alpha, beta, gamma] = await Promise.all([
    startFixture({ name: 'solo', prompts: true, resources: true, links: true, notifications: true }),
    startFixture({ name: 'alpha', prompts: true, resources: true, notifications: true }),
    startFixture({ name: 'beta', resources: true }),
    startFixture({ name: 'gamma' }),
  ]);
  const fixtures = [solo!, alpha!, beta!, gamma!];
  const port = await freePort();
  const dir = await writeManifests(port, [
    { name: 'solo', pathPrefix: '/solo', targets: [{ name: 'solo', port: solo!.port }] },
    {
      name: 'multi',
      pathPrefix: '/multi',
      targets: [
        { name: 'alpha', port: alpha!.port },
        { name: 'beta', port: beta!.port },
        { name: 'gamma', port: gamma!.port },
      ],
    },
  ]);
  const gateway = await spawnGateway(
    ['--manifests', dir, '--log-level', 'error', '--max-body-bytes', String(MAX_BODY_BYTES)],
    { nodeArgs: [`--max-old-space-size=${HEAP_MIB}`] },
  );
  const stopAll = async () => {
    if (gateway.process.exitCode === null && gateway.process.signalCode === null) {
      gateway.process.kill('SIGKILL');
      await gateway.exited;
    }
    await Promise.all(fixtures.map((f) => f.close()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await gateway.ready();
    await waitForPort(port);
  } catch (error) {
    await stopAll();
    throw error;
  }
  const pid = servingPid(gateway.process.pid!, port);
  return {
    port,
    adminPort: gateway.adminPort,
    pid,
    gateway,
    fixtures,
    url: (backend, path = '/mcp') => `http://127.0.0.1:${port}/${backend}${path}`,
    close: stopAll,
  };
}

/**
 * The pid, among `root` and its descendants, holding the socket that listens on 127.0.0.1:port.
 * `node --import tsx` serves in the spawned process itself, but a launcher (npx, a tsx CLI that
 * forks) would not, and its RSS would be the wrong one to watch.
 */
export function servingPid(root: number, port: number): number {
  const inode = listeningInode(port);
  for (const pid of [root, ...descendants(root)]) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) return pid;
      } catch {
        // The fd closed while we looked.
      }
    }
  }
  throw new Error(`no process under ${root} holds the socket listening on port ${port}`);
}

function listeningInode(port: number): string {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    // local_address, rem_address, st (0A = LISTEN), …, inode is the 10th field.
    if (fields[1] === local && fields[3] === '0A') return fields[9]!;
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} in /proc/net/tcp`);
}

function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone already.
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [pid, ppid] of parents) {
      if (ppid === parent) {
        out.push(pid);
        queue.push(pid);
      }
    }
  }
  return out;
}

/** VmRSS and VmHWM (the kernel's peak RSS) in KiB, or undefined once the process is gone. */
export function memoryKiB(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
    const peak = /^VmHWM:\s+(\d+) kB/m.exec(status);
    if (!rss || !peak) return undefined;
    return { rss: Number(rss[1]), peak: Number(peak[1]) };
  } catch {
    return undefined;
  }
}

export interface RawAnswer {
  /** HTTP status, or 0 when no answer came: see `failure`. */
  readonly status: number;
  readonly failure?: 'timeout' | 'reset' | 'refused' | 'client';
  /** What the HTTP client said when there was no answer. */
  readonly error?: string;
  readonly contentType: string;
  readonly sessionId: string | undefined;
  readonly text: string;
  readonly ms: number;
}

export type RawClient = ReturnType<typeof rawClient>;

/** One connection pool for all fuzz traffic; a case's own headers are sent as they are. */
export function rawClient(connections: number) {
  const agent = new Agent({ connections, keepAliveTimeout: 5_000, headersTimeout: 0, bodyTimeout: 0 });
  async function send(
    url: string,
    method: string,
    headers: Record<string, string>,
    body: Body | undefined,
    timeoutMs: number,
    /** GET opens an event stream: keep the headers, hang up after a moment. */
    headOnly = false,
  ): Promise<RawAnswer> {
    const started = performance.now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const response = await request(url, {
        method: method as 'POST',
        headers,
        body:
          body === undefined || typeof body === 'string' || body instanceof Uint8Array
            ? body
            : Readable.from(body.chunks),
        signal: controller.signal,
        dispatcher: agent,
      });
      const type = response.headers['content-type'];
      const sid = response.headers['mcp-session-id'];
      let text: string;
      if (headOnly && String(type ?? '').startsWith('text/event-stream')) {
        await new Promise((r) => setTimeout(r, 50));
        response.body.on('error', () => {}); // destroying it reports an abort
        response.body.destroy();
        text = '';
      } else {
        text = await response.body.text();
      }
      return {
        status: response.statusCode,
        contentType: String(type ?? ''),
        sessionId: typeof sid === 'string' ? sid : undefined,
        text,
        ms: performance.now() - started,
      };
    } catch (error) {
      const code = String((error as { code?: unknown }).code ?? '');
      const failure = controller.signal.aborted
        ? 'timeout'
        : code === 'ECONNREFUSED'
          ? 'refused'
          : code.startsWith('UND_ERR_INVALID') || code === 'ERR_INVALID_CHAR'
            ? 'client'
            : 'reset';
      const ms = performance.now() - started;
      const message = `${code} ${(error as Error).message}`.trim();
      return { status: 0, failure, error: message, contentType: '', sessionId: undefined, text: '', ms };
    } finally {
      clearTimeout(timer);
    }
  }
  return { send, close: () => agent.close() };
}
