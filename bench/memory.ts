/**
 * The memory phase: mcplane's RSS with idle sessions, and whether sessions that are opened and abandoned
 * (or 2026-07-28 clients that make one call and never come back) leave anything behind.
 *
 * Flatness is judged on the heap after a forced full collection, not on RSS: RSS follows where the
 * collector happens to be (a single sample swings by ±20 %), the collected heap does not. mcplane has no
 * endpoint for it (and production builds should not), so the phase starts its process with
 * `--expose-gc --inspect=127.0.0.1:<port>` and asks over the DevTools protocol: two
 * `HeapProfiler.collectGarbage`, then `Runtime.evaluate('process.memoryUsage().heapUsed')`. The slope
 * of a least-squares line through those samples, once the session store is full, is the growth per
 * cycle; RSS is sampled beside it (before the forced collection, as the process runs) and reported,
 * labelled, as the plateau it reaches.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { request, WebSocket } from 'undici';
import { startMcplane } from './candidates.js';
import { openSessions } from './load.js';
import { freePort, rssKiB } from './proc.js';
import type { Budget } from './report.js';
import { type Fresh, type Plan, rssGrowth } from './scenarios.js';

/** One sample of a run of cycles: its RSS as it ran, and the heap after two forced collections. */
export interface HeapSample {
  readonly cycles: number;
  readonly rssKiB: number;
  readonly heapBytes: number;
}

/** A run of initialize-then-abandon cycles (or one-call 2026-07-28 clients) with its samples. */
export interface CycleSeries {
  readonly total: number;
  readonly samples: HeapSample[];
  readonly failures: number;
  /** Sessions mcplane holds (--max-sessions): the store is full, and the heap should stop growing, past these. */
  readonly heldSessions: number;
  /** The slope is fitted over the samples from this many cycles on. */
  readonly fitFrom: number;
  /** Least-squares slope of the heap after collection, bytes per 1,000 cycles (undefined with failures). */
  readonly heapSlopePer1k: number | undefined;
  /** RSS growth over the second half (rssGrowth): shown beside the slope, not judged. */
  readonly rssGrowth: number | undefined;
}

export interface MemoryFigures {
  readonly baselineKiB: number;
  /** [sessions, RSS KiB] after opening that many idle sessions. */
  readonly idle: [number, number][];
  /** [sessions, heap bytes after collection] at the same points. */
  readonly idleHeap: [number, number][];
  readonly idleFailures: number;
  readonly kibPerIdleSession: number | undefined;
  /** Heap (after collection) per idle session, bytes: the slope between the two counts. */
  readonly heapPerIdleSession: number | undefined;
  readonly abandoned: CycleSeries;
  readonly modern: CycleSeries;
  readonly problems: readonly string[];
}

/** Heap growth allowed once the store is full, bytes per cycle (see bench/README.md, Memory). */
export const HEAP_SLOPE_LIMIT = 50;

// ---------------------------------------------------------------------------------------------
// The DevTools protocol, just enough of it

/** A DevTools session with a node process started with `--inspect=127.0.0.1:<port>`. */
export class Inspector {
  #next = 1;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(readonly socket: WebSocket) {
    socket.addEventListener('message', (event) => {
      const reply = JSON.parse(String(event.data)) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
      };
      const waiter = reply.id === undefined ? undefined : this.#waiting.get(reply.id);
      if (!waiter) return;
      this.#waiting.delete(reply.id!);
      if (reply.error) waiter.reject(new Error(`inspector: ${reply.error.message}`));
      else waiter.resolve(reply.result);
    });
    socket.addEventListener('close', () => {
      for (const waiter of this.#waiting.values()) waiter.reject(new Error('inspector: connection closed'));
      this.#waiting.clear();
    });
  }

  static async connect(port: number): Promise<Inspector> {
    const res = await request(`http://127.0.0.1:${port}/json/list`, { headersTimeout: 5000 });
    const targets = (await res.body.json()) as { webSocketDebuggerUrl?: string }[];
    const url = targets.find((t) => t.webSocketDebuggerUrl)?.webSocketDebuggerUrl;
    if (!url) throw new Error(`inspector at 127.0.0.1:${port} lists no target`);
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve(), { once: true });
      socket.addEventListener('error', () => reject(new Error(`inspector: cannot connect to ${url}`)), {
        once: true,
      });
    });
    return new Inspector(socket);
  }

  call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** `heapUsed` after two full collections (the second frees what finalizers of the first let go). */
  async heapAfterGc(): Promise<number> {
    await this.call('HeapProfiler.collectGarbage');
    await this.call('HeapProfiler.collectGarbage');
    const reply = (await this.call('Runtime.evaluate', {
      expression: 'process.memoryUsage().heapUsed',
      returnByValue: true,
    })) as { result?: { value?: unknown } };
    const value = reply.result?.value;
    if (typeof value !== 'number')
      throw new Error(`inspector: heapUsed came back as ${JSON.stringify(value)}`);
    return value;
  }

  close(): void {
    this.socket.close();
  }
}

/** A fresh mcplane with one static target, inspectable, holding at most `maxSessions` sessions. */
async function inspectableMcplane(
  upstreamPort: number,
  maxSessions: number | undefined,
): Promise<Fresh & { inspector: Inspector }> {
  const [listenerPort, inspectPort] = [await freePort(), await freePort()];
  const m = await startMcplane(
    [{ name: 'one', listenerPort, targets: [{ name: 'one', port: upstreamPort }] }],
    ['--expose-gc', `--inspect=127.0.0.1:${inspectPort}`],
    maxSessions === undefined ? [] : ['--max-sessions', String(maxSessions)],
  );
  try {
    const inspector = await Inspector.connect(inspectPort);
    return {
      pid: m.pid,
      url: m.urls[0]!,
      inspector,
      stop: async () => {
        inspector.close();
        await m.stop();
      },
    };
  } catch (err) {
    await m.stop();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Figures

/** Least-squares slope of y over x (undefined below two distinct x). */
export function slope(points: readonly (readonly [number, number])[]): number | undefined {
  if (points.length < 2) return undefined;
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  return sxx === 0 ? undefined : sxy / sxx;
}

/** The slope fit must read a flat sawtooth as flat and a leak as a leak: checked before the phase runs. */
function checkSlope(): void {
  const flat = Array.from({ length: 40 }, (_, i): [number, number] => [i * 5000, 20e6 + (i % 3) * 300e3]);
  const leak = Array.from({ length: 40 }, (_, i): [number, number] => [i * 5000, 20e6 + i * 5000 * 100]);
  const flatSlope = slope(flat)!;
  const leakSlope = slope(leak)!;
  if (Math.abs(flatSlope) > 5 || Math.abs(leakSlope - 100) > 0.01) {
    throw new Error(
      `the heap slope fit is off: flat ${flatSlope} B/cycle, 100 B/cycle leak read ${leakSlope}`,
    );
  }
}

/** Rounded down to two significant digits, at least 1. */
function roundDown(n: number): number {
  if (n < 100) return Math.max(1, Math.floor(n));
  const unit = 10 ** (Math.floor(Math.log10(n)) - 1);
  return Math.floor(n / unit) * unit;
}

/**
 * Sessions the abandon runs' mcplane holds: the default 10,000, or fewer when the run is too short to
 * fill that many several times over (quick), so the fitted part of the run has a full store.
 */
const heldFor = (cycles: number) => Math.min(10_000, Math.floor(cycles / 6));

async function cycleSeries(
  fresh: Fresh & { inspector: Inspector },
  plan: Plan,
  modern: boolean,
  held: number,
  log: (line: string) => void,
  problems: Set<string>,
): Promise<CycleSeries> {
  const total = modern ? plan.modernClients : plan.abandonCycles;
  // As many samples in either run (every 3,300 of 100,000 clients, say, rather than every 3,333).
  const every = roundDown((plan.abandonSampleEvery * total) / plan.abandonCycles);
  const samples: HeapSample[] = [];
  const what = modern ? 'one-call 2026-07-28 clients' : 'initialize-then-abandon cycles';
  await openSessions(fresh.url, 20, 4, { keep: false, modern });
  log(`memory: ${total} ${what}`);
  const r = await openSessions(fresh.url, total, plan.sessionConcurrency, {
    keep: false,
    modern,
    every,
    onProgress: async (done) => {
      // Every worker is paused at the gate once its request is answered: let those in flight finish.
      await sleep(50);
      const rss = rssKiB(fresh.pid);
      const heapBytes = await fresh.inspector.heapAfterGc();
      samples.push({ cycles: done, rssKiB: rss, heapBytes });
      log(
        `memory: ${done} ${what}, heap after GC ${(heapBytes / 2 ** 20).toFixed(2)} MiB, RSS ${(rss / 1024).toFixed(1)} MiB`,
      );
    },
  });
  for (const p of r.problems) problems.add(p);
  // Past twice the held sessions the store has been full for a while; at least the last two thirds.
  const fitFrom = Math.max(2 * held, Math.round(total / 3));
  const fitted = samples
    .filter((s) => s.cycles >= fitFrom)
    .map((s): [number, number] => [s.cycles, s.heapBytes]);
  const perCycle = r.failures === 0 ? slope(fitted) : undefined;
  return {
    total,
    samples,
    failures: r.failures,
    heldSessions: held,
    fitFrom,
    heapSlopePer1k: perCycle === undefined ? undefined : perCycle * 1000,
    rssGrowth:
      r.failures === 0
        ? rssGrowth(
            samples.map((s) => [s.cycles, s.rssKiB]),
            total,
          )
        : undefined,
  };
}

export async function measureMemory(
  upstreamPort: number,
  plan: Plan,
  log: (line: string) => void,
): Promise<MemoryFigures> {
  checkSlope();
  const problems = new Set<string>();
  const settledRss = async (pid: number) => {
    await sleep(plan.settleMs);
    return rssKiB(pid);
  };

  // Idle sessions: open them, keep them, sample RSS (and the collected heap) at each count.
  let m = await inspectableMcplane(upstreamPort, undefined);
  let baselineKiB: number;
  const idle: [number, number][] = [];
  const idleHeap: [number, number][] = [];
  let idleFailures = 0;
  try {
    await openSessions(m.url, 20, 4, { keep: false }); // JIT warm-up
    baselineKiB = await settledRss(m.pid);
    let opened = 0;
    for (const count of plan.idleCounts) {
      log(`memory: opening idle sessions up to ${count}`);
      const r = await openSessions(m.url, count - opened, plan.sessionConcurrency, { keep: true });
      opened = count;
      idleFailures += r.failures;
      for (const p of r.problems) problems.add(p);
      idle.push([count, await settledRss(m.pid)]);
      idleHeap.push([count, await m.inspector.heapAfterGc()]);
    }
  } finally {
    await m.stop();
  }
  const between = (points: [number, number][]) => {
    const [lo, hi] = points;
    return lo && hi && idleFailures === 0 ? (hi[1] - lo[1]) / (hi[0] - lo[0]) : undefined;
  };

  // Each run of cycles on a fresh process: abandoned 2025 sessions, then one-call 2026-07-28 clients.
  const series = async (modern: boolean) => {
    const held = heldFor(modern ? plan.modernClients : plan.abandonCycles);
    m = await inspectableMcplane(upstreamPort, held === 10_000 ? undefined : held);
    try {
      return await cycleSeries(m, plan, modern, held, log, problems);
    } finally {
      await m.stop();
    }
  };
  const abandoned = await series(false);
  const modern = await series(true);
  return {
    baselineKiB,
    idle,
    idleHeap,
    idleFailures,
    kibPerIdleSession: between(idle),
    heapPerIdleSession: between(idleHeap),
    abandoned,
    modern,
    problems: [...problems],
  };
}

// ---------------------------------------------------------------------------------------------
// Budgets and report

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '—';
const mib = (kib: number) => fmt(kib / 1024, 1);

/** RSS over the fitted part of a run, as it ran: mean, and the range of single samples. */
function rssPlateau(s: CycleSeries): string {
  const kib = s.samples.filter((x) => x.cycles >= s.fitFrom).map((x) => x.rssKiB);
  if (kib.length === 0) return 'no RSS samples';
  const mean = kib.reduce((a, b) => a + b, 0) / kib.length;
  return `RSS plateau ${mib(mean)} MiB (samples ${mib(Math.min(...kib))}–${mib(Math.max(...kib))})`;
}

function heapBudget(s: CycleSeries | undefined, what: string, planned: number): Budget {
  const name = `heap after GC over ${fmt(s ? s.total : planned)} ${what}: growth once the store is full`;
  const limit = `≤ ${HEAP_SLOPE_LIMIT} bytes per cycle (${fmt(HEAP_SLOPE_LIMIT * 1000)} per 1,000)`;
  const slope1k = s?.heapSlopePer1k;
  if (s === undefined || slope1k === undefined) {
    const figure = s === undefined ? 'not measured' : `${s.failures} failures`;
    return { name, figure, limit, pass: undefined };
  }
  const growth =
    s.rssGrowth === undefined ? '' : `, RSS growth over the second half ${(s.rssGrowth * 100).toFixed(1)} %`;
  return {
    name,
    figure: `${fmt(slope1k)} bytes per 1,000 cycles (from ${fmt(s.fitFrom)} on); ${rssPlateau(s)}${growth}`,
    limit,
    pass: slope1k <= HEAP_SLOPE_LIMIT * 1000,
  };
}

/** The memory lines; `planned` names the run's counts when the phase did not run. */
export function memoryBudgets(
  mem: MemoryFigures | undefined,
  planned: { readonly abandonCycles: number; readonly modernClients: number },
): Budget[] {
  const top = mem?.idle.at(-1);
  const perIdle = mem?.kibPerIdleSession;
  const heapPerIdle = mem?.heapPerIdleSession;
  return [
    {
      name: 'RSS per idle session',
      figure:
        perIdle === undefined || !Number.isFinite(perIdle)
          ? 'not measured'
          : `${perIdle.toFixed(2)} KiB${heapPerIdle === undefined ? '' : ` (heap after GC: ${(heapPerIdle / 1024).toFixed(2)} KiB)`}`,
      limit: '≤ 8 KiB',
      pass: perIdle === undefined || !Number.isFinite(perIdle) ? undefined : perIdle <= 8,
    },
    {
      name: `RSS with ${top ? fmt(top[0]) : '10,000'} idle sessions`,
      figure: top ? `${(top[1] / 1024).toFixed(1)} MiB` : 'not measured',
      limit: '≤ 256 MiB',
      pass: top ? top[1] / 1024 <= 256 : undefined,
    },
    heapBudget(mem?.abandoned, 'initialize-then-abandon cycles', planned.abandonCycles),
    heapBudget(mem?.modern, '2026-07-28 clients making one call each', planned.modernClients),
  ];
}

function seriesTable(s: CycleSeries, what: string): string[] {
  const out = [
    `| ${what} | heap after GC MiB | RSS MiB (as it ran) |`,
    '|---|---|---|',
    // Every tenth of the run in the table; the fit uses every sample from fitFrom on.
  ];
  const step = Math.max(1, Math.ceil(s.samples.length / 10));
  s.samples.forEach((x, i) => {
    if ((i + 1) % step === 0 || i === s.samples.length - 1)
      out.push(`| ${fmt(x.cycles)} | ${fmt(x.heapBytes / 2 ** 20, 2)} | ${mib(x.rssKiB)} |`);
  });
  const growth = s.rssGrowth === undefined ? '—' : `${(s.rssGrowth * 100).toFixed(1)} %`;
  out.push(
    '',
    `${fmt(s.samples.length)} samples, mcplane holding at most ${fmt(s.heldSessions)} sessions. Heap slope from ${fmt(s.fitFrom)} cycles on (least squares): ` +
      `${s.heapSlopePer1k === undefined ? '—' : `${fmt(s.heapSlopePer1k)} bytes per 1,000 cycles`}. ${rssPlateau(s)}; ` +
      `RSS growth over the second half (mean of the last fifth against the middle fifth): ${growth}. Failures: ${s.failures}.`,
    '',
  );
  return out;
}

export function memoryMarkdown(m: MemoryFigures | undefined): string[] {
  const out = ['## Memory (mcplane RSS, heap after forced GC)', ''];
  if (!m) return [...out, 'Not measured (mcplane not running).', ''];
  out.push(`Fresh process after start and 20 warm-up sessions: ${mib(m.baselineKiB)} MiB RSS.`, '');
  out.push('| idle sessions | RSS MiB | heap after GC MiB |', '|---|---|---|');
  m.idle.forEach(([n, kib], i) => {
    const heap = m.idleHeap[i]?.[1];
    out.push(`| ${fmt(n)} | ${mib(kib)} | ${heap === undefined ? '—' : fmt(heap / 2 ** 20, 2)} |`);
  });
  out.push(
    '',
    `Per idle session (slope between the two counts): RSS ${m.kibPerIdleSession === undefined ? '—' : `${fmt(m.kibPerIdleSession, 2)} KiB`}, ` +
      `heap ${m.heapPerIdleSession === undefined ? '—' : `${fmt(m.heapPerIdleSession / 1024, 2)} KiB`}; failures: ${m.idleFailures}.`,
    '',
  );
  out.push(...seriesTable(m.abandoned, 'initialize-then-abandon cycles'));
  out.push(...seriesTable(m.modern, '2026-07-28 clients, one call each'));
  if (m.problems.length > 0) out.push(`Problems: ${m.problems.join('; ')}`, '');
  return out;
}
