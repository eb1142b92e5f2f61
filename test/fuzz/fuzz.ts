/**
 * The bounded fuzzer: rounds of generated cases sent with bounded concurrency to one real mcplane
 * process, a liveness check after every round (a fresh SDK client initializes and calls a tool on
 * both backends), and throughout: the status histogram, every 5xx with its request (minimised when
 * the body is JSON), the process's RSS, /healthz latency as a view of its event loop, and the
 * oracle's findings. Used by fuzz.test.ts (a short fixed-seed run) and run.ts (`npm run fuzz`).
 *
 * The same seed sends the same sequence of request shapes; session ids, timing and the order in
 * which concurrent answers arrive differ from run to run.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  BACKENDS,
  type Backend,
  type Case,
  type FlowCase,
  Generator,
  type HttpCase,
  postHeaders,
  requestsOf,
  type SessionRef,
  type Version,
} from './generate.js';
import { describeCase, judge, type Violation } from './oracle.js';
import { Rng } from './prng.js';
import { memoryKiB, type RawAnswer, type RawClient, rawClient, startTarget, type Target } from './target.js';

export interface FuzzOptions {
  readonly seed: number;
  readonly requests: number;
  readonly concurrency: number;
  /** Requests per round; a liveness check follows every round. */
  readonly roundSize: number;
  readonly requestTimeoutMs: number;
  readonly livenessTimeoutMs: number;
  readonly families?: ReadonlySet<string>;
  /** Shrink the bodies of the first few distinct 5xx cases. */
  readonly minimise: boolean;
  readonly log?: (line: string) => void;
}

export const DEFAULTS: FuzzOptions = {
  seed: 1,
  requests: 3000,
  concurrency: 8,
  roundSize: 250,
  requestTimeoutMs: 15_000,
  livenessTimeoutMs: 5_000,
  minimise: true,
};

export interface Finding {
  readonly rule: string;
  readonly key: string;
  readonly why: string;
  count: number;
  readonly request: string;
  readonly status: string;
  readonly answer: string;
}

export interface ServerError {
  readonly key: string;
  count: number;
  readonly request: string;
  readonly status: number;
  readonly answer: string;
  minimised?: string;
}

export interface FuzzReport {
  readonly seed: number;
  readonly requests: number;
  /** Rounds run; each ends with a liveness check. */
  readonly rounds: number;
  readonly durationMs: number;
  /** Status (or timeout/reset/refused/client) → count. */
  readonly statuses: Record<string, number>;
  readonly byFamily: Record<string, Record<string, number>>;
  /** Family → total time its requests took (ms), to see where a run's time goes. */
  readonly familyMs: Record<string, number>;
  readonly serverErrorCount: number;
  readonly serverErrors: ServerError[];
  /** Set when the gateway process exited during the run. */
  readonly exit: { readonly code: number | string | null; readonly logTail: string } | undefined;
  readonly rss: {
    readonly startMiB: number;
    readonly maxMiB: number;
    readonly peakMiB: number;
    readonly endMiB: number;
  };
  /** RSS after each round, MiB. */
  readonly rssByRound: number[];
  readonly liveness: {
    readonly checks: number;
    readonly failures: Array<{ readonly round: number; readonly error: string }>;
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly maxMs: number;
  };
  readonly healthz: {
    readonly samples: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly maxMs: number;
  };
  readonly findings: Finding[];
  /** From /metrics at the end: its status and size, series of one upstream metric, sessions held. */
  readonly metrics: {
    readonly status: number;
    readonly bytes: number;
    readonly upstreamSeries: number;
    readonly sessionsActive: number;
    /** mcplane_limit_rejections_total by limit, where not 0: which bounds the run hit. */
    readonly limits: Readonly<Record<string, number>>;
  };
  /** Upstream sessions still open in the fixtures after every session the fuzzer saw was deleted. */
  readonly upstreamSessionsLeft: number;
  /** Error lines the gateway logged (at --log-level error), first distinct ones. */
  readonly gatewayErrors: string[];
}

const VERSIONS: readonly Version[] = ['2025-03-26', '2025-06-18'];
const PER_POOL = 3;
const MAX_FINDINGS = 200;
const MINIMISE_CASES = 4;
const MINIMISE_SENDS = 150;

/** Live sessions per backend and version for the cases to use, and every id to clean up. */
class Sessions {
  readonly #live = new Map<string, string[]>();
  readonly #deleted: string[] = [];
  /**
   * Ids issued to fuzzed initializes and flows → their backend: deleted after each round so that
   * upstream sessions do not pile up (on the right backend: a foreign id is a case of its own).
   */
  readonly issued = new Map<string, Backend>();
  #turn = 0;

  constructor(
    private readonly target: Target,
    private readonly client: RawClient,
  ) {}

  async open(backend: Backend, version: Version): Promise<string> {
    const answer = await this.client.send(
      this.target.url(backend),
      'POST',
      postHeaders({ kind: 'none' }),
      JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: {
          protocolVersion: version,
          capabilities: {},
          clientInfo: { name: 'fuzz-pool', version: '1' },
        },
      }),
      10_000,
    );
    if (answer.status !== 200 || !answer.sessionId) {
      throw new Error(
        `pool initialize on ${backend} failed: ${answer.status} ${answer.failure ?? ''} ${answer.text.slice(0, 200)}`,
      );
    }
    const headers = { ...postHeaders({ kind: 'live', version }), 'mcp-session-id': answer.sessionId };
    await this.client.send(
      this.target.url(backend),
      'POST',
      headers,
      '{"jsonrpc":"2.0","method":"notifications/initialized"}',
      10_000,
    );
    return answer.sessionId;
  }

  /** Close every session of the last round (the pool's too: their ids become "deleted") and open new ones. */
  async rotate(): Promise<void> {
    const old = [...this.#live.entries()];
    this.#live.clear();
    for (const [key, ids] of old) {
      const backend = key.split(' ')[0] as Backend;
      for (const id of ids) {
        await this.delete(backend, id);
        this.#deleted.push(id);
      }
    }
    this.#deleted.splice(0, Math.max(0, this.#deleted.length - 20));
    for (const [id, backend] of this.issued) await this.delete(backend, id);
    this.issued.clear();
    for (const backend of BACKENDS) {
      for (const version of VERSIONS) {
        const ids: string[] = [];
        for (let i = 0; i < PER_POOL; i++) ids.push(await this.open(backend, version));
        this.#live.set(`${backend} ${version}`, ids);
      }
    }
  }

  async delete(backend: Backend, id: string): Promise<void> {
    await this.client.send(this.target.url(backend), 'DELETE', { 'mcp-session-id': id }, undefined, 10_000);
  }

  live(backend: Backend, version: Version): string {
    const ids = this.#live.get(`${backend} ${version}`) ?? [];
    this.#turn += 1;
    return ids[this.#turn % ids.length] ?? 'no-live-session';
  }

  /** A case deleted this id: later cases get another. */
  dropped(id: string): void {
    for (const [key, ids] of this.#live) {
      const at = ids.indexOf(id);
      if (at >= 0) {
        ids.splice(at, 1);
        this.#live.set(key, ids);
        this.#deleted.push(id);
      }
    }
  }

  /** The Mcp-Session-Id header value for a case, or undefined for none. */
  header(backend: Backend, ref: SessionRef): string | undefined {
    const other: Backend = backend === 'solo' ? 'multi' : 'solo';
    switch (ref.kind) {
      case 'none':
        return undefined;
      case 'live':
        return this.live(backend, ref.version);
      case 'foreign':
        return this.live(other, '2025-06-18');
      case 'deleted':
        return (
          this.#deleted[this.#turn++ % Math.max(1, this.#deleted.length)] ?? this.live(other, '2025-03-26')
        );
      case 'variant':
        return ref.prefix + this.live(backend, ref.version) + ref.suffix;
      case 'literal':
        return ref.value;
    }
  }
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const MiB = (kib: number) => Math.round((kib / 1024) * 10) / 10;

export async function runFuzz(partial: Partial<FuzzOptions> = {}): Promise<FuzzReport> {
  const options = { ...DEFAULTS, ...partial };
  const log = options.log ?? (() => {});
  const started = performance.now();
  const target = await startTarget();
  const client = rawClient(options.concurrency + 4);
  const sessions = new Sessions(target, client);
  const generator = new Generator(new Rng(options.seed), options.families);

  const statuses: Record<string, number> = {};
  const byFamily: Record<string, Record<string, number>> = {};
  const findings = new Map<string, Finding>();
  const serverErrors = new Map<string, ServerError & { case: HttpCase }>();
  let serverErrorCount = 0;
  const livenessMs: number[] = [];
  const livenessFailures: Array<{ round: number; error: string }> = [];
  const healthzMs: number[] = [];
  const rssByRound: number[] = [];
  const startMem = memoryKiB(target.pid);
  let maxRss = startMem?.rss ?? 0;
  let peak = startMem?.peak ?? 0;
  let sent = 0;
  let exit: FuzzReport['exit'];
  let running = true;

  const familyMs: Record<string, number> = {};
  const count = (family: string, status: string, ms = 0) => {
    familyMs[family] = (familyMs[family] ?? 0) + ms;
    statuses[status] = (statuses[status] ?? 0) + 1;
    const f = byFamily[family] ?? {};
    f[status] = (f[status] ?? 0) + 1;
    byFamily[family] = f;
  };
  const statusOf = (a: RawAnswer) => (a.failure ? a.failure : String(a.status));
  const note = (v: Violation, request: () => string, answer: RawAnswer) => {
    const key = `${v.rule} | ${v.key}`;
    const known = findings.get(key);
    if (known) known.count += 1;
    else if (findings.size < MAX_FINDINGS) {
      findings.set(key, {
        rule: v.rule,
        key: v.key,
        why: v.why,
        count: 1,
        request: request(),
        status: statusOf(answer),
        answer: answer.failure ? `${answer.failure}: ${answer.error ?? ''}` : answer.text.slice(0, 300),
      });
    }
  };

  const sampler = setInterval(() => {
    const mem = memoryKiB(target.pid);
    if (!mem) return;
    maxRss = Math.max(maxRss, mem.rss);
    peak = Math.max(peak, mem.peak);
  }, 200);
  // The admin server shares the gateway's event loop: its latency under load is the loop's lag.
  const healthz = (async () => {
    while (running) {
      const t0 = performance.now();
      const ok = await fetch(`http://127.0.0.1:${target.adminPort}/healthz`, {
        signal: AbortSignal.timeout(10_000),
      })
        .then((r) => r.text())
        .then(() => true)
        .catch(() => false);
      if (ok) healthzMs.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 250));
    }
  })();

  const sendCase = async (c: HttpCase, body = c.body): Promise<RawAnswer> => {
    const sid = sessions.header(c.backend, c.session);
    const headers = sid === undefined ? { ...c.headers } : { ...c.headers, 'mcp-session-id': sid };
    const answer = await client.send(
      `http://127.0.0.1:${target.port}${c.path}`,
      c.method,
      headers,
      body,
      options.requestTimeoutMs,
      c.method === 'GET',
    );
    if (c.method === 'DELETE' && c.session.kind === 'live' && sid !== undefined) sessions.dropped(sid);
    if (answer.sessionId) sessions.issued.set(answer.sessionId, c.backend);
    return answer;
  };

  const runHttp = async (c: HttpCase) => {
    const answer = await sendCase(c);
    sent += 1;
    count(c.family, statusOf(answer), answer.ms);
    if (answer.error?.includes('HEADERS_OVERFLOW')) {
      note(
        {
          rule: 'initialize-params-uncapped',
          key: 'headers-overflow',
          why: "the answer's headers were too large for the HTTP client (undici's 16 KiB default): the issued Mcp-Session-Id carries the client's initialize params",
        },
        () => describeCase(c),
        answer,
      );
    }
    if (answer.failure === 'reset' && !answer.error?.includes('HEADERS_OVERFLOW')) {
      note(
        {
          rule: 'connection-reset',
          key: c.family,
          why: 'the connection closed before an answer came; a client that reused a keep-alive connection cannot tell whether a POST was served',
        },
        () => describeCase(c),
        answer,
      );
    }
    if (answer.failure === 'timeout') {
      note(
        {
          rule: 'no-answer',
          key: `${c.family} ${c.backend}`,
          why: `no answer within ${options.requestTimeoutMs} ms`,
        },
        () => describeCase(c),
        answer,
      );
    }
    if (answer.failure) return;
    for (const v of judge(c, answer)) {
      note(v, () => describeCase(c), answer);
      if (v.rule !== 'server-error') continue;
      serverErrorCount += 1;
      const known = serverErrors.get(v.key);
      if (known) known.count += 1;
      else {
        serverErrors.set(v.key, {
          key: v.key,
          count: 1,
          request: describeCase(c),
          status: answer.status,
          answer: answer.text.slice(0, 300),
          case: c,
        });
      }
    }
  };

  const runFlow = async (c: FlowCase) => {
    const url = target.url(c.backend);
    const step = async (name: string, answer: RawAnswer, ok: boolean) => {
      sent += 1;
      count('flow', statusOf(answer), answer.ms);
      if (!ok) {
        note(
          {
            rule: 'valid-flow-failed',
            key: `${c.backend} ${name}`,
            why: `a well-behaved client's ${name} (protocol ${c.version}) failed`,
          },
          () => `flow on /${c.backend} at ${name}`,
          answer,
        );
      }
      return ok;
    };
    const init = await client.send(
      url,
      'POST',
      postHeaders({ kind: 'none' }),
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: c.version,
          capabilities: {},
          clientInfo: { name: 'fuzz-flow', version: '1' },
        },
      }),
      options.requestTimeoutMs,
    );
    const sid = init.sessionId;
    if (!(await step('initialize', init, init.status === 200 && sid !== undefined)) || sid === undefined)
      return;
    sessions.issued.set(sid, c.backend);
    let version = c.version;
    try {
      version = String(
        (JSON.parse(init.text) as { result: { protocolVersion: string } }).result.protocolVersion,
      );
    } catch {
      // step() below fails on the next answers if initialize's answer was unusable.
    }
    const headers = {
      ...postHeaders({ kind: 'none' }),
      'mcp-session-id': sid,
      'mcp-protocol-version': version,
    };
    const post = (body: unknown) =>
      client.send(url, 'POST', headers, JSON.stringify(body), options.requestTimeoutMs);
    const last = (a: RawAnswer) => {
      const lines = a.contentType.startsWith('text/event-stream')
        ? a.text
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5))
        : [a.text];
      try {
        return JSON.parse(lines.at(-1) ?? '') as { result?: any };
      } catch {
        return {};
      }
    };
    const initialized = await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    if (!(await step('notifications/initialized', initialized, initialized.status === 202))) return;
    const tool = c.backend === 'solo' ? 'echo' : 'alpha_echo';
    const listed = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    const names = ((last(listed).result?.tools ?? []) as Array<{ name: string }>).map((t) => t.name);
    if (!(await step('tools/list', listed, listed.status === 200 && names.includes(tool)))) return;
    const called = await post({
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: tool, arguments: { message: c.message } },
    });
    const text = last(called).result?.content?.[0]?.text;
    if (!(await step('tools/call', called, called.status === 200 && text === `Echo: ${c.message}`))) return;
    const deleted = await client.send(
      url,
      'DELETE',
      { 'mcp-session-id': sid },
      undefined,
      options.requestTimeoutMs,
    );
    if (await step('DELETE', deleted, deleted.status === 200)) sessions.issued.delete(sid);
  };

  let round = 0;
  let end: ReturnType<typeof memoryKiB>;
  let metricsText = '';
  let metricsStatus = 0;
  let upstreamSessionsLeft = 0;
  let gatewayErrors: string[] = [];
  try {
    try {
      await sessions.rotate();
      while (sent < options.requests && exit === undefined) {
        round += 1;
        const cases: Case[] = [];
        for (let planned = 0; planned < options.roundSize && sent + planned < options.requests; ) {
          const c = generator.next();
          cases.push(c);
          planned += requestsOf(c);
        }
        let next = 0;
        await Promise.all(
          Array.from({ length: options.concurrency }, async () => {
            while (next < cases.length) {
              const c = cases[next++]!;
              await (c.kind === 'flow' ? runFlow(c) : runHttp(c));
            }
          }),
        );
        if (target.gateway.process.exitCode !== null || target.gateway.process.signalCode !== null) {
          exit = { code: await target.gateway.exited, logTail: target.gateway.logs().slice(-4000) };
          break;
        }
        try {
          livenessMs.push(await liveness(target, options.livenessTimeoutMs));
        } catch (error) {
          livenessFailures.push({ round, error: (error as Error).message });
        }
        try {
          await sessions.rotate();
        } catch (error) {
          livenessFailures.push({
            round,
            error: `new sessions for the next round: ${(error as Error).message}`,
          });
        }
        const mem = memoryKiB(target.pid);
        rssByRound.push(MiB(mem?.rss ?? 0));
        // The fixtures remember every request they saw: forget them, the fuzzer never reads them.
        for (const fixture of target.fixtures) fixture.seen.length = 0;
        log(
          `round ${round}: ${sent} requests, rss ${MiB(mem?.rss ?? 0)} MiB, liveness ${Math.round(livenessMs.at(-1) ?? -1)} ms, 5xx ${serverErrorCount}, findings ${findings.size}`,
        );
      }
      if (options.minimise && exit === undefined) {
        for (const error of [...serverErrors.values()].slice(0, MINIMISE_CASES)) {
          error.minimised = await minimise(error.case, async (body) => {
            const answer = await sendCase(error.case, body);
            return answer.status >= 500 && answer.status !== 503;
          });
        }
        await sessions.rotate();
      }
    } finally {
      running = false;
      clearInterval(sampler);
      await healthz;
    }
    end = memoryKiB(target.pid);
    if (end) peak = Math.max(peak, end.peak);
    if (exit === undefined) {
      const response = await fetch(`http://127.0.0.1:${target.adminPort}/metrics`);
      metricsStatus = response.status;
      metricsText = await response.text();
    }
    upstreamSessionsLeft = target.fixtures.reduce((n, f) => n + f.sessions.size, 0);
    gatewayErrors = [...new Set(target.gateway.logs().split('\n').filter(Boolean).map(errorLine))].slice(
      0,
      20,
    );
  } finally {
    await client.close();
    await target.close();
  }
  return {
    seed: options.seed,
    requests: sent,
    rounds: round,
    durationMs: Math.round(performance.now() - started),
    statuses,
    byFamily,
    familyMs: Object.fromEntries(Object.entries(familyMs).map(([f, ms]) => [f, Math.round(ms)])),
    serverErrorCount,
    serverErrors: [...serverErrors.values()].map(({ case: _, ...rest }) => rest),
    exit,
    rss: {
      startMiB: MiB(startMem?.rss ?? 0),
      maxMiB: MiB(maxRss),
      peakMiB: MiB(peak),
      endMiB: MiB(end?.rss ?? 0),
    },
    rssByRound,
    liveness: {
      checks: livenessMs.length + livenessFailures.length,
      failures: livenessFailures,
      p50Ms: Math.round(percentile(livenessMs, 50)),
      p99Ms: Math.round(percentile(livenessMs, 99)),
      maxMs: Math.round(Math.max(0, ...livenessMs)),
    },
    healthz: {
      samples: healthzMs.length,
      p50Ms: Math.round(percentile(healthzMs, 50) * 10) / 10,
      p99Ms: Math.round(percentile(healthzMs, 99) * 10) / 10,
      maxMs: Math.round(Math.max(0, ...healthzMs) * 10) / 10,
    },
    findings: [...findings.values()].sort((a, b) => a.rule.localeCompare(b.rule) || b.count - a.count),
    metrics: {
      status: metricsStatus,
      bytes: Buffer.byteLength(metricsText),
      upstreamSeries: metricsText.split('\n').filter((l) => l.startsWith('mcplane_upstream_requests_total{'))
        .length,
      sessionsActive: Number(/^mcplane_sessions_active (\d+)/m.exec(metricsText)?.[1] ?? -1),
      limits: Object.fromEntries(
        [...metricsText.matchAll(/^mcplane_limit_rejections_total\{limit="(\w+)"\} (\d+)/gm)]
          .filter((m) => m[2] !== '0')
          .map((m) => [m[1]!, Number(m[2])]),
      ),
    },
    upstreamSessionsLeft,
    gatewayErrors,
  };
}

/** A pino JSON line reduced to its message and error (the stack's first frame), for grouping. */
function errorLine(line: string): string {
  try {
    const parsed = JSON.parse(line) as { msg?: string; err?: { message?: string; stack?: string } };
    const frame = parsed.err?.stack
      ?.split('\n')
      .find((l) => l.trim().startsWith('at '))
      ?.trim();
    return [parsed.msg, parsed.err?.message, frame].filter(Boolean).join(' | ').slice(0, 300);
  } catch {
    return line.slice(0, 300);
  }
}

/** A fresh SDK client initializes and calls a tool on both backends; resolves with the time taken. */
export async function liveness(target: Target, timeoutMs: number): Promise<number> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`liveness check took over ${timeoutMs} ms`)), timeoutMs);
  });
  const clients: Array<{ client: Client; transport: StreamableHTTPClientTransport }> = [];
  const check = async (backend: Backend) => {
    const client = new Client({ name: 'fuzz-liveness', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(target.url(backend)));
    clients.push({ client, transport });
    await client.connect(transport, { timeout: timeoutMs });
    const tool = backend === 'solo' ? 'echo' : 'alpha_echo';
    const result = await client.callTool({ name: tool, arguments: { message: 'alive' } }, undefined, {
      timeout: timeoutMs,
    });
    const text = (result.content as Array<{ text?: string }>)[0]?.text;
    if (text !== 'Echo: alive') throw new Error(`${backend}: ${tool} answered ${JSON.stringify(result)}`);
  };
  try {
    await Promise.race([Promise.all(BACKENDS.map(check)), deadline]);
    return performance.now() - started;
  } finally {
    clearTimeout(timer);
    await Promise.all(
      clients.map(async ({ client, transport }) => {
        await transport.terminateSession().catch(() => {});
        await client.close().catch(() => {});
      }),
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Minimising a 5xx: greedy shrinking of the JSON body while the 5xx persists.

type Json = unknown;

/** JSON text without recursion: the values that broke the gateway are often too deep to stringify. */
export function toText(value: Json): string {
  const out: string[] = [];
  const stack: Array<{ value: Json } | { text: string }> = [{ value }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    if ('text' in top) {
      out.push(top.text);
      continue;
    }
    const v = top.value;
    if (Array.isArray(v)) {
      stack.push({ text: ']' });
      for (let i = v.length - 1; i >= 0; i--) {
        stack.push({ value: v[i] });
        if (i > 0) stack.push({ text: ',' });
      }
      stack.push({ text: '[' });
    } else if (typeof v === 'object' && v !== null) {
      const entries = Object.entries(v);
      stack.push({ text: '}' });
      for (let i = entries.length - 1; i >= 0; i--) {
        stack.push({ value: entries[i]![1] });
        stack.push({ text: `${JSON.stringify(entries[i]![0])}:` });
        if (i > 0) stack.push({ text: ',' });
      }
      stack.push({ text: '{' });
    } else {
      out.push(JSON.stringify(v) ?? 'null');
    }
  }
  return out.join('');
}

type Path = ReadonlyArray<string | number>;

const isContainer = (v: Json): v is object => typeof v === 'object' && v !== null;

function childrenOf(v: Json): Array<[string | number, Json]> {
  if (Array.isArray(v)) return v.map((c, i) => [i, c]);
  if (isContainer(v)) return Object.entries(v);
  return [];
}

/** Replace the value at `path` (copies along the path; own `__proto__` keys stay own keys). */
function replaceAt(root: Json, path: Path, value: Json): Json {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (Array.isArray(root)) return root.map((c, i) => (i === head ? replaceAt(c, rest, value) : c));
  return Object.fromEntries(
    Object.entries(root as object).map(([k, c]) => [k, k === head ? replaceAt(c, rest, value) : c]),
  );
}

/** Smaller stand-ins for one value, most aggressive first. */
function candidates(v: Json): Json[] {
  const out: Json[] = [];
  // A deep chain: the descendant halfway down (follows first container children).
  let depth = 0;
  for (let at = v; isContainer(at); depth++) at = childrenOf(at).find(([, c]) => isContainer(c))?.[1];
  if (depth >= 4) {
    let at = v;
    for (let i = 0; i < Math.floor(depth / 2); i++) at = childrenOf(at).find(([, c]) => isContainer(c))![1];
    out.push(at);
  }
  if (Array.isArray(v)) {
    if (v.length > 1) out.push(v.slice(0, v.length >> 1), v.slice(v.length >> 1));
    if (v.length <= 16) for (let i = 0; i < v.length; i++) out.push(v.filter((_, j) => j !== i));
  } else if (isContainer(v)) {
    const entries = Object.entries(v);
    for (const [key] of entries.slice(0, 16))
      out.push(Object.fromEntries(entries.filter(([k]) => k !== key)));
  } else if (typeof v === 'string' && v.length > 8) {
    out.push(v.slice(0, v.length >> 1));
  }
  return out;
}

/** The case with the smallest body found that still fails, described; undefined if the body is not JSON. */
async function minimise(c: HttpCase, fails: (body: string) => Promise<boolean>): Promise<string | undefined> {
  if (typeof c.body !== 'string') return undefined;
  let root: Json;
  try {
    root = JSON.parse(c.body);
  } catch {
    return undefined;
  }
  if (!(await fails(toText(root)))) return `${describeCase(c)} (did not fail again when resent)`;
  let budget = MINIMISE_SENDS;
  for (let changed = true; changed && budget > 0; ) {
    changed = false;
    // Nodes breadth first, a bounded number: shrinking near the root pays most.
    const nodes: Path[] = [];
    const queue: Array<[Path, Json]> = [[[], root]];
    while (queue.length > 0 && nodes.length < 60) {
      const [path, value] = queue.shift()!;
      nodes.push(path);
      for (const [key, child] of childrenOf(value).slice(0, 16))
        if (isContainer(child)) queue.push([[...path, key], child]);
    }
    search: for (const path of nodes) {
      let value: Json = root;
      for (const key of path) value = (value as Record<string | number, Json>)[key];
      for (const candidate of candidates(value)) {
        if (--budget < 0) break search;
        const next = replaceAt(root, path, candidate);
        if (await fails(toText(next))) {
          root = next;
          changed = true;
          break search;
        }
      }
    }
  }
  return describeCase({ ...c, body: toText(root) });
}
