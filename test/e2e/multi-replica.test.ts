/**
 * Acceptance: three mcplane processes (one --session-key) behind Debian's nginx (round robin, HTTP/1.1
 * upstream keep-alive, no buffering either way), in front of a real SDK MCP server. One SDK client
 * session through nginx makes 300 tools/call, 4 at a time, while one replica is stopped part-way:
 *
 *  - SIGTERM: no call fails. nginx keeps reusing its idle keep-alive connections to the draining
 *    replica, which answers them with `Connection: close`; new connections are refused, so nginx
 *    retries them on the other replicas (a refused connect carries no request). nginx keeps an idle
 *    connection 500 ms, under the 1 s after which the draining replica closes one: with nginx's
 *    default 60 s, now and then a run had one of its 300 calls sent into a connection at the instant
 *    the replica closed it, and nginx does not retry a POST (502). A 20 s call on the draining
 *    replica (--drain-timeout 25s) completes.
 *  - SIGKILL: the calls that fail are the ones the killed replica had been handed and never answered.
 *    Each call is tagged (`x-call`: its JSON-RPC id) and nginx names the replica that served it in
 *    `X-Upstream`; a call counts as in flight on the killed replica when nginx handed it to that
 *    replica, it began before the process was gone, and it had not completed when the kill was sent.
 *
 * nginx missing is a failure that says to install it, never a skip.
 */
import { rm } from 'node:fs/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textOf } from '../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { type Nginx, nginxBinary, startNginx } from '../support/nginx.js';
import { freePort } from '../support/ports.js';
import { type GatewayProcess, spawnGateway } from '../support/process.js';
import { writeManifests } from '../support/standalone.js';

const KEY = `k1:${'5a'.repeat(32)}`;
const CALLS = 300;
const CONCURRENCY = 4;
const CALL_MS = 10;
/** Stop a replica once this many calls have completed. */
const STOP_AFTER = 100;
const LONG_CALL_MS = 20_000;

/** One HTTP exchange the SDK client made through nginx. */
interface Exchange {
  /** JSON-RPC id of a tools/call (sent to nginx as `x-call`, so its access log names it too). */
  readonly call: number | undefined;
  /** The call a notifications/cancelled gives up on (the SDK sends one when a call times out). */
  readonly cancels: number | undefined;
  readonly start: number;
  end?: number;
  status?: number;
  /** nginx's $upstream_addr: the replicas tried, the one that answered last. */
  upstream?: string;
}

/** fetch for the SDK transport that tags tools/call requests and records each exchange. */
function recordingFetch(log: Exchange[], extra: Record<string, string> = {}): FetchLike {
  return async (url, init) => {
    const headers = new Headers(init?.headers);
    for (const [name, value] of Object.entries(extra)) headers.set(name, value);
    let call: number | undefined;
    let cancels: number | undefined;
    if (typeof init?.body === 'string') {
      const message = JSON.parse(init.body) as {
        method?: string;
        id?: number;
        params?: { requestId?: number };
      };
      if (message.method === 'tools/call') call = message.id;
      if (message.method === 'notifications/cancelled') cancels = message.params?.requestId;
    }
    if (call !== undefined) headers.set('x-call', String(call));
    const exchange: Exchange = { call, cancels, start: performance.now() };
    log.push(exchange);
    const response = await fetch(url, { ...init, headers }).catch((err: unknown) => {
      exchange.end = performance.now();
      throw err;
    });
    exchange.status = response.status;
    exchange.upstream = response.headers.get('x-upstream') ?? undefined;
    if (!response.body) {
      exchange.end = performance.now();
      return response;
    }
    // Complete when the body has been read to its end (an SSE reply ends after the result).
    const body = response.body.pipeThrough(
      new TransformStream({
        flush() {
          exchange.end = performance.now();
        },
      }),
    );
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

const lastUpstream = (e: Exchange) => e.upstream?.split(', ').at(-1);

async function connect(url: string, log: Exchange[], extra?: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'replicas', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), { fetch: recordingFetch(log, extra) }),
  );
  return client;
}

/** CALLS short calls, CONCURRENCY at a time; `onCompleted` sees the running count. */
async function callMany(
  client: Client,
  timeoutMs: number,
  onCompleted: (count: number) => void,
): Promise<{ ok: number; failures: string[] }> {
  let started = 0;
  let completed = 0;
  let ok = 0;
  const failures: string[] = [];
  const worker = async () => {
    while (started < CALLS) {
      started += 1;
      try {
        const result = await client.callTool({ name: 'sleep', arguments: { ms: CALL_MS } }, undefined, {
          timeout: timeoutMs,
        });
        if (textOf(result) === `slept ${CALL_MS}`) ok += 1;
        else failures.push(`unexpected result ${JSON.stringify(result)}`);
      } catch (err) {
        failures.push((err as Error).message);
      }
      completed += 1;
      onCompleted(completed);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { ok, failures };
}

describe('three replicas behind nginx', () => {
  let upstream: FixtureServer;
  let nginx: Nginx;
  const replicas: GatewayProcess[] = [];
  /** Every process started, restarted ones included: all are killed after the file, even on failure. */
  const spawned: GatewayProcess[] = [];
  const ports: number[] = [];
  const dirs: string[] = [];
  let url: string;
  const killAll = () => {
    for (const r of spawned)
      if (r.process.exitCode === null && r.process.signalCode === null) r.process.kill('SIGKILL');
  };

  const startReplica = async (i: number) => {
    const replica = await spawnGateway([
      '--manifests',
      dirs[i]!,
      '--session-key',
      KEY,
      '--drain-timeout',
      '25s',
      '--log-level',
      'warn',
    ]);
    replicas[i] = replica;
    spawned.push(replica);
    await replica.ready();
  };

  beforeAll(async () => {
    nginxBinary(); // fails with "install nginx" before anything starts
    upstream = await startFixture({ name: 'up' });
    for (let i = 0; i < 3; i++) {
      ports.push(await freePort());
      dirs.push(
        await writeManifests(ports[i]!, [{ name: 'mcp', targets: [{ name: 'up', port: upstream.port }] }]),
      );
    }
    process.once('exit', killAll);
    await Promise.all([0, 1, 2].map(startReplica));
    const servers = ports.map((p) => `server 127.0.0.1:${p};`).join(' ');
    nginx = await startNginx(`
  log_format calls '$msec $http_x_call "$upstream_addr" "$upstream_status" $status';
  # Idle connections kept for less than the 1 s after which a draining replica closes them, as the
  # README advises: nginx then never sends a call into a connection the replica is closing.
  upstream replicas { ${servers} keepalive 16; keepalive_timeout 500ms; }
  # A client that sends x-pin: a reaches replica 0 only (the one that gets SIGTERM).
  upstream pinned { server 127.0.0.1:${ports[0]}; keepalive 4; keepalive_timeout 500ms; }
  map $http_x_pin $pool { default replicas; a pinned; }
  server {
    listen 127.0.0.1:{{port}};
    location / {
      proxy_pass http://$pool;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 120s;
      add_header X-Upstream $upstream_addr always;
    }
  }`);
    url = `http://127.0.0.1:${nginx.port}/mcp`;
  }, 60_000);

  afterAll(async () => {
    killAll();
    process.off('exit', killAll);
    await nginx?.stop();
    await upstream?.close();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('SIGTERM on a replica part-way through 300 calls: none fails, and its 20 s call completes', async () => {
    const draining = replicas[0]!;
    const pinnedLog: Exchange[] = [];
    const pinned = await connect(url, pinnedLog, { 'x-pin': 'a' });
    const long = pinned
      .callTool({ name: 'sleep', arguments: { ms: LONG_CALL_MS } }, undefined, { timeout: 60_000 })
      .then(textOf, (err: Error) => `failed: ${err.message}`);
    await new Promise((resolve) => setTimeout(resolve, 300)); // in flight upstream, through replica 0

    const log: Exchange[] = [];
    const client = await connect(url, log);
    let signalled = 0;
    const run = callMany(client, 30_000, (completed) => {
      if (completed !== STOP_AFTER) return;
      signalled = performance.now();
      draining.process.kill('SIGTERM');
    });
    const { ok, failures } = await run;
    const drained = `127.0.0.1:${ports[0]}`;
    const servedWhileDraining = log.filter(
      (e) => e.call !== undefined && e.start > signalled && lastUpstream(e) === drained,
    ).length;
    console.log(
      `SIGTERM: ${ok} calls ok, ${failures.length} failed; replica 0 served ${servedWhileDraining} calls after the signal`,
    );
    // A failure says why nginx gave up on a replica (its error log) and which exchanges failed.
    const why = failures.length === 0 ? '' : `\nnginx error log:\n${(await nginx.errorLog()).slice(-3000)}`;
    expect(failures, JSON.stringify(failures).slice(0, 2000) + why).toEqual([]);
    expect(ok).toBe(CALLS);

    expect(await long).toBe(`slept ${LONG_CALL_MS}`);
    expect(lastUpstream(pinnedLog.find((e) => e.call !== undefined)!)).toBe(drained);
    expect(await draining.exited, draining.logs()).toBe(0);
    await Promise.all([client.close(), pinned.close()]);
  }, 60_000);

  it('SIGKILL on a replica part-way: failures are at most the calls in flight on it', async () => {
    // Back after its drain (still running when this test runs alone or the previous one failed early).
    const first = replicas[0]!.process;
    if (first.exitCode === null && first.signalCode === null) first.kill('SIGKILL');
    await replicas[0]!.exited;
    await startReplica(0);
    const killed = replicas[1]!;
    const log: Exchange[] = [];
    const client = await connect(url, log);
    let killedAt = 0;
    let goneAt = Number.POSITIVE_INFINITY;
    // An SDK client waits out its timeout for a call whose SSE reply was cut after its headers.
    const run = callMany(client, 5000, (completed) => {
      if (completed !== STOP_AFTER) return;
      killedAt = performance.now();
      killed.process.kill('SIGKILL');
      void killed.exited.then(() => {
        goneAt = performance.now();
      });
    });
    const { ok, failures } = await run;
    const target = `127.0.0.1:${ports[1]}`;
    const calls = log.filter((e) => e.call !== undefined);
    const inFlight = new Set(
      calls
        .filter(
          (e) => lastUpstream(e) === target && e.start <= goneAt && (e.end === undefined || e.end > killedAt),
        )
        .map((e) => e.call),
    );
    // The calls that failed: answered with an error status by nginx, or given up by the client after
    // their SSE reply was cut (it then sends notifications/cancelled for them).
    const failed = new Set([
      ...calls.filter((e) => e.status !== undefined && e.status !== 200).map((e) => e.call),
      ...log.filter((e) => e.cancels !== undefined).map((e) => e.cancels),
    ]);
    console.log(
      `SIGKILL: ${ok} calls ok, ${failures.length} failed; ${inFlight.size} in flight on the killed replica (${[...inFlight].join(', ')}); failed: ${[...failed].join(', ')}`,
    );
    expect(ok + failures.length).toBe(CALLS);
    expect(failed.size).toBe(failures.length);
    for (const call of failed)
      expect([...inFlight], `call ${call} failed but was not in flight there`).toContain(call);
    expect(failures.length).toBeLessThanOrEqual(inFlight.size);
    expect(inFlight.size).toBeLessThanOrEqual(CONCURRENCY);
    await client.close();
  }, 60_000);
});
