/**
 * Fixed arrival rate (open loop): `tools/call echo` sent at a constant rate on a precomputed schedule
 * (request i is due at start + i / rate), whatever the candidate answers. Latency runs from each
 * request's scheduled send time, so a stall shows up in every request that should have been sent
 * during it (a closed loop would send fewer and hide them: coordinated omission); a request the
 * generator could not send on time still counts from when it was due.
 *
 * Requests go round-robin over many established sessions and a pool of keep-alive connections large
 * enough that the generator never waits for a free one at these rates (the most in flight is reported);
 * the schedule is served by a timer that wakes every millisecond or so and sends every request due by
 * then, so up to ~1 ms of a request's latency can be its wait for the tick, the same for every candidate.
 *
 * Rates are shares of direct's closed-loop capacity at c=32 in the same run (the `echo-c32` figure when
 * the run measured it, else a few closed-loop windows here), for direct, nginx and mcplane alike, the
 * candidates alternating window by window as in the closed-loop scenarios.
 */
import { echoOperation, McpWire, type Operation, percentile, runLoad, type Session } from './load.js';
import { totalCpuMicros } from './proc.js';
import type { Budget } from './report.js';
import type { Contender } from './scenarios.js';

export interface OpenLoopPlan {
  /** Shares of direct's capacity to run at. */
  readonly levels: readonly number[];
  readonly rounds: number;
  readonly windowMs: number;
  readonly warmupMs: number;
  /** Sessions each window's requests go round-robin over, and connections they share. */
  readonly sessions: number;
  readonly connections: number;
  /** After the last scheduled request, how long answers may still take before they count as errors. */
  readonly drainMs: number;
  /** Closed-loop windows (c=32, direct) when the run has no echo-c32 figure. */
  readonly capacityWindows: number;
}

export const OPEN_LOOP_PLANS: Record<'quick' | 'full', OpenLoopPlan> = {
  quick: {
    levels: [0.25, 0.5, 0.75],
    rounds: 1,
    windowMs: 500,
    warmupMs: 200,
    sessions: 16,
    connections: 32,
    drainMs: 5000,
    capacityWindows: 1,
  },
  full: {
    levels: [0.25, 0.5, 0.75],
    rounds: 4,
    windowMs: 3000,
    warmupMs: 1000,
    sessions: 64,
    connections: 128,
    drainMs: 10_000,
    capacityWindows: 3,
  },
};

/** Who runs open loop, among the run's echo contenders. */
export const OPEN_LOOP_CANDIDATES = ['direct', 'nginx', 'mcplane'];

/** The share of direct's capacity the budget is judged at. */
export const BUDGET_SHARE = 0.5;

export interface OpenLoopResult {
  readonly candidate: string;
  /** Requests on the schedule, answered correctly, failed (wrong, error, or no answer in time). */
  readonly scheduled: number;
  readonly ok: number;
  readonly errors: number;
  readonly problems: readonly string[];
  /** Correct answers per second, from the first scheduled send to the last answer. */
  readonly achievedPerSecond: number;
  /** From the scheduled send time to the last byte of the answer, correct answers only. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  /** How late the generator sent requests (tick wait plus any stall of its own), p99. */
  readonly sendLagP99Ms: number;
  /** Most requests in flight at once (the generator had `connections` connections). */
  readonly maxInFlight: number;
  /** p99 of each round's window (NaN for a window lost), to pair with direct's window of the round. */
  readonly roundP99Ms: number[];
  /** Proxy CPU per correct answer (absent for direct). */
  readonly cpuUsPerCall: number | undefined;
}

export interface OpenLoopFigures {
  /** Direct's closed-loop calls/s at c=32, and where the figure comes from. */
  readonly capacity: number;
  readonly capacitySource: string;
  readonly connections: number;
  readonly sessions: number;
  readonly levels: { readonly share: number; readonly rate: number; readonly results: OpenLoopResult[] }[];
}

// ---------------------------------------------------------------------------------------------
// The generator

export interface ScheduleWindow {
  readonly latencies: Float64Array;
  readonly sendLags: Float64Array;
  readonly scheduled: number;
  readonly ok: number;
  readonly errors: number;
  readonly problems: Set<string>;
  /** First scheduled send → last answer (or the drain deadline), ms. */
  readonly elapsedMs: number;
  readonly maxInFlight: number;
}

/** Judge one answer: undefined when right, else what is wrong. */
export function judge(
  reply: Awaited<ReturnType<McpWire['rpc']>>,
  check: (result: unknown) => string | undefined,
): string | undefined {
  if (reply.status < 200 || reply.status > 299) return `HTTP ${reply.status}`;
  if (!reply.message) return 'no JSON-RPC response in the body';
  if (reply.message.error)
    return `JSON-RPC error ${reply.message.error.code}: ${reply.message.error.message}`;
  return check(reply.message.result);
}

/**
 * Send `count` requests at `rate` per second over `sessions` (round-robin), each timed from its
 * scheduled send. `request(i, session)` sends request i and resolves with a problem or undefined.
 */
export async function runSchedule(
  rate: number,
  count: number,
  sessions: readonly Session[],
  request: (i: number, session: Session) => Promise<string | undefined>,
  drainMs: number,
): Promise<ScheduleWindow> {
  const intervalNs = 1e9 / rate;
  const latencies = new Float64Array(count).fill(Number.NaN);
  const sendLags = new Float64Array(count);
  const problems = new Set<string>();
  let ok = 0;
  let errors = 0;
  let next = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let answered = 0;
  let lastDone = 0n;
  const start = process.hrtime.bigint() + 2_000_000n;
  const due = (i: number) => start + BigInt(Math.round(i * intervalNs));
  let allDone: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    allDone = resolve;
  });
  const fail = (problem: string) => {
    errors++;
    if (problems.size < 5) problems.add(problem);
  };
  const fire = (i: number, now: bigint) => {
    const scheduled = due(i);
    sendLags[i] = Number(now - scheduled) / 1e6;
    inFlight++;
    if (inFlight > maxInFlight) maxInFlight = inFlight;
    request(i, sessions[i % sessions.length]!).then(
      (problem) => {
        const at = process.hrtime.bigint();
        inFlight--;
        answered++;
        lastDone = at;
        if (problem) fail(problem);
        else {
          ok++;
          latencies[i] = Number(at - scheduled) / 1e6;
        }
        if (answered === count) allDone();
      },
      (err: unknown) => {
        inFlight--;
        answered++;
        lastDone = process.hrtime.bigint();
        fail(`request failed: ${(err as Error).message}`);
        if (answered === count) allDone();
      },
    );
  };
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = process.hrtime.bigint();
      while (next < count && due(next) <= now) fire(next++, now);
      if (next >= count) return resolve();
      // Node's timers have millisecond resolution: wake for the next due request (at least 1 ms on).
      setTimeout(tick, Math.max(0, Number(due(next) - now) / 1e6 - 0.5));
    };
    setTimeout(tick, 1);
  });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    count === 0 ? Promise.resolve() : finished,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, drainMs);
    }),
  ]);
  clearTimeout(timer);
  const unanswered = count - answered;
  if (unanswered > 0) {
    errors += unanswered;
    problems.add(`${unanswered} requests unanswered ${drainMs} ms after the last was due`);
  }
  const end = unanswered > 0 ? process.hrtime.bigint() : lastDone;
  return {
    latencies: latencies.filter((l) => !Number.isNaN(l)),
    sendLags,
    scheduled: count,
    ok,
    errors,
    problems,
    elapsedMs: Math.max(0, Number(end - start) / 1e6),
    maxInFlight,
  };
}

/**
 * A candidate's sessions and connections, opened once for the whole phase: a session per window would
 * pile hundreds of abandoned sessions (each an `McpServer`) into the SDK upstream, whose collections
 * then stall every candidate for hundreds of ms.
 */
class Clients {
  readonly #wires = new Map<string, { wire: McpWire; sessions: Promise<Session[]> }>();

  constructor(readonly plan: OpenLoopPlan) {}

  of(c: Contender): { wire: McpWire; sessions: Promise<Session[]> } {
    let entry = this.#wires.get(c.name);
    if (!entry) {
      const wire = new McpWire(c.url, this.plan.connections, c.headers);
      const sessions = Promise.all(
        Array.from({ length: this.plan.sessions }, (_, w) => wire.open(`open-loop-${w}`)),
      );
      entry = { wire, sessions };
      this.#wires.set(c.name, entry);
      // A candidate whose sessions could not be opened is asked again in its next window.
      sessions.catch(() => {
        this.#wires.delete(c.name);
        void wire.close();
      });
    }
    return entry;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#wires.values()].map((e) => e.wire.close()));
    this.#wires.clear();
  }
}

/** One open-loop window of `operation` against a candidate at `rate`, with its proxy CPU. */
async function window(
  clients: Clients,
  c: Contender,
  operation: Operation,
  rate: number,
  durationMs: number,
) {
  const { wire, sessions: opening } = clients.of(c);
  const sessions = await opening;
  const cpuBefore = c.pids ? totalCpuMicros(c.pids()) : 0;
  const count = Math.max(1, Math.round((rate * durationMs) / 1000));
  const result = await runSchedule(
    rate,
    count,
    sessions,
    async (i, session) => {
      const reply = await wire.rpc(session, operation.method, operation.params(0, i));
      return judge(reply, (r) => operation.check(r, 0, i));
    },
    clients.plan.drainMs,
  );
  const cpuUs = c.pids ? totalCpuMicros(c.pids()) - cpuBefore : undefined;
  return { result, cpuUs };
}

function sorted(parts: readonly Float64Array[]): Float64Array {
  const all = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all.sort();
}

/** Direct's closed-loop capacity at c=32: the run's figure, else measured here. */
async function capacityOf(
  direct: Contender,
  runFigure: number | undefined,
  plan: OpenLoopPlan,
  windowMs: number,
  log: (line: string) => void,
): Promise<{ capacity: number; source: string }> {
  if (runFigure !== undefined && runFigure > 0)
    return { capacity: runFigure, source: "this run's echo-c32 direct figure" };
  log(`open loop: direct's capacity at c=32, ${plan.capacityWindows} closed-loop windows`);
  await runLoad({ url: direct.url, concurrency: 32, operation: echoOperation(), durationMs: plan.warmupMs });
  let calls = 0;
  let ms = 0;
  for (let i = 0; i < plan.capacityWindows; i++) {
    const r = await runLoad({
      url: direct.url,
      concurrency: 32,
      operation: echoOperation(),
      durationMs: windowMs,
    });
    calls += r.calls;
    ms += r.elapsedMs;
  }
  return {
    capacity: (calls * 1000) / ms,
    source: `measured here: ${plan.capacityWindows} closed-loop windows of ${windowMs} ms, c=32`,
  };
}

/** One rate: warm-up, then `rounds` windows per candidate, the order rotated each round. */
async function measureLevel(
  clients: Clients,
  who: readonly Contender[],
  share: number,
  rate: number,
  log: (line: string) => void,
): Promise<OpenLoopFigures['levels'][number]> {
  const plan = clients.plan;
  const operation = echoOperation();
  const tallies = new Map(
    who.map((c) => [
      c.name,
      {
        latencies: [] as Float64Array[],
        lags: [] as Float64Array[],
        scheduled: 0,
        ok: 0,
        errors: 0,
        elapsedMs: 0,
        cpuUs: 0,
        maxInFlight: 0,
        roundP99: [] as number[],
        problems: new Set<string>(),
      },
    ]),
  );
  const title = `open loop at ${Math.round(share * 100)} % of direct (${rate} calls/s)`;
  log(`${title}: warm-up`);
  for (const c of who) await window(clients, c, operation, rate, plan.warmupMs).catch(() => undefined);
  for (let round = 0; round < plan.rounds; round++) {
    log(`${title}: round ${round + 1}/${plan.rounds}`);
    for (let i = 0; i < who.length; i++) {
      const c = who[(i + round) % who.length]!;
      const t = tallies.get(c.name)!;
      try {
        const { result, cpuUs } = await window(clients, c, operation, rate, plan.windowMs);
        t.latencies.push(result.latencies);
        t.lags.push(result.sendLags);
        t.scheduled += result.scheduled;
        t.ok += result.ok;
        t.errors += result.errors;
        t.elapsedMs += result.elapsedMs;
        t.cpuUs += cpuUs ?? 0;
        t.maxInFlight = Math.max(t.maxInFlight, result.maxInFlight);
        t.roundP99[round] = percentile(sorted([result.latencies]), 99);
        for (const p of result.problems) t.problems.add(p);
      } catch (err) {
        // Its sessions could not be opened: the whole window is lost.
        t.roundP99[round] = Number.NaN;
        const lost = Math.round((rate * plan.windowMs) / 1000);
        t.scheduled += lost;
        t.errors += lost;
        t.problems.add((err as Error).message.split('\n')[0]!.slice(0, 300));
      }
    }
  }
  const results = who.map((c): OpenLoopResult => {
    const t = tallies.get(c.name)!;
    const all = sorted(t.latencies);
    return {
      candidate: c.name,
      scheduled: t.scheduled,
      ok: t.ok,
      errors: t.errors,
      problems: [...t.problems],
      achievedPerSecond: t.elapsedMs > 0 ? (t.ok * 1000) / t.elapsedMs : 0,
      p50Ms: percentile(all, 50),
      p99Ms: percentile(all, 99),
      p999Ms: percentile(all, 99.9),
      maxMs: all.length > 0 ? all[all.length - 1]! : Number.NaN,
      sendLagP99Ms: percentile(sorted(t.lags), 99),
      maxInFlight: t.maxInFlight,
      roundP99Ms: t.roundP99,
      cpuUsPerCall: c.pids && t.ok > 0 ? t.cpuUs / t.ok : undefined,
    };
  });
  return { share, rate, results };
}

export async function measureOpenLoop(
  contenders: readonly Contender[],
  /** Direct's echo-c32 calls/s from this run, when it was measured. */
  runCapacity: number | undefined,
  plan: OpenLoopPlan,
  /** The closed-loop window length of the run (for measuring capacity here). */
  closedWindowMs: number,
  log: (line: string) => void,
  /** Says where `runCapacity` comes from when it is not this run's echo-c32 direct figure. */
  capacitySource?: string,
): Promise<OpenLoopFigures> {
  const who = contenders.filter((c) => OPEN_LOOP_CANDIDATES.includes(c.name) && !c.modern);
  const direct = who.find((c) => c.name === 'direct');
  if (!direct) throw new Error('open loop needs the direct candidate');
  const measured = await capacityOf(direct, runCapacity, plan, closedWindowMs, log);
  const { capacity } = measured;
  const source = capacitySource ?? measured.source;
  const levels: OpenLoopFigures['levels'] = [];
  const clients = new Clients(plan);
  try {
    for (const share of plan.levels) {
      levels.push(await measureLevel(clients, who, share, Math.max(1, Math.round(capacity * share)), log));
    }
  } finally {
    await clients.close();
  }
  return { capacity, capacitySource: source, connections: plan.connections, sessions: plan.sessions, levels };
}

// ---------------------------------------------------------------------------------------------
// Budgets and report

export const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '—';

const pct = (share: number) => `${Math.round(share * 100)} %`;

/**
 * Added p99 as the budget reads it: each round's p99 minus direct's p99 in the same round, the median
 * of those. A stall of the SDK upstream (tens to hundreds of ms, now and then) lands in one window of
 * one candidate and would decide the p99 of all its windows pooled, either way.
 */
export function roundAddedP99(r: OpenLoopResult, direct: OpenLoopResult): number {
  const diffs = r.roundP99Ms
    .map((p, i) => p - (direct.roundP99Ms[i] ?? Number.NaN))
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  if (diffs.length === 0) return Number.NaN;
  const mid = diffs.length >> 1;
  return diffs.length % 2 === 1 ? diffs[mid]! : (diffs[mid - 1]! + diffs[mid]!) / 2;
}

export function openLoopBudgets(
  o: OpenLoopFigures | undefined,
  /** The same rates in front of the fast upstream: shown beside the figure, not judged. */
  fast?: OpenLoopFigures,
): Budget[] {
  const name = `open loop: added p99 latency over direct at ${pct(BUDGET_SHARE)} of direct's capacity (median of rounds)`;
  const limit = '≤ 1 ms, no errors';
  const level = o?.levels.find((l) => l.share === BUDGET_SHARE);
  const direct = level?.results.find((r) => r.candidate === 'direct');
  const mcplane = level?.results.find((r) => r.candidate === 'mcplane');
  const added = mcplane && direct ? roundAddedP99(mcplane, direct) : Number.NaN;
  if (!level || !direct || !mcplane || !Number.isFinite(added))
    return [{ name, figure: 'not measured', limit, pass: undefined }];
  const rounds = mcplane.roundP99Ms.map((p, i) => fmt(p - direct.roundP99Ms[i]!, 1)).join(', ');
  const errors = mcplane.errors > 0 ? `; ${fmt(mcplane.errors)} errors` : '';
  const fastLevel = fast?.levels.find((l) => l.share === BUDGET_SHARE);
  const fastDirect = fastLevel?.results.find((r) => r.candidate === 'direct');
  const fastMcplane = fastLevel?.results.find((r) => r.candidate === 'mcplane');
  const besideFast =
    fastDirect && fastMcplane
      ? `; the same rate in front of the fast upstream: ${roundAddedP99(fastMcplane, fastDirect).toFixed(3)} ms`
      : '';
  return [
    {
      name,
      figure:
        `${added.toFixed(3)} ms at ${fmt(level.rate)} calls/s (rounds: ${rounds} ms; pooled p99 ` +
        `${mcplane.p99Ms.toFixed(3)} vs ${direct.p99Ms.toFixed(3)})${errors}${besideFast}`,
      limit,
      pass: added <= 1 && mcplane.errors === 0,
    },
  ];
}

export function openLoopMarkdown(
  o: OpenLoopFigures | undefined,
  title = 'tools/call echo at a fixed arrival rate (open loop)',
): string[] {
  if (!o) return [];
  const out = [
    `### ${title}`,
    '',
    `Rates are shares of direct's closed-loop capacity at c=32: ${fmt(o.capacity)} calls/s (${o.capacitySource}). ` +
      `Latency from each request's scheduled send time; ${o.sessions} sessions over ${o.connections} keep-alive connections. ` +
      "`added` = p99 minus direct's p99 at the same rate: of all windows pooled, and the median over rounds of each " +
      "window's p99 minus direct's window in the same round (what the budget reads).",
    '',
    '| rate | candidate | achieved/s | p50 ms | p99 ms | p99.9 ms | max ms | added p99 ms, pooled | added p99 ms, round median | send lag p99 ms | most in flight | proxy CPU µs/call | errors |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const level of o.levels) {
    const direct = level.results.find((r) => r.candidate === 'direct');
    for (const r of level.results) {
      const self = r.candidate === 'direct' || !direct;
      const added = self ? '—' : fmt(r.p99Ms - direct.p99Ms, 3);
      const median = self ? '—' : fmt(roundAddedP99(r, direct), 3);
      const errors = `${fmt(r.errors)}${r.problems.length ? ` (${r.problems[0]})` : ''}`;
      out.push(
        `| ${pct(level.share)} (${fmt(level.rate)}/s) | ${r.candidate} | ${fmt(r.achievedPerSecond)} | ${fmt(r.p50Ms, 3)} | ${fmt(r.p99Ms, 3)} | ${fmt(r.p999Ms, 3)} | ${fmt(r.maxMs, 1)} | ${added} | ${median} | ${fmt(r.sendLagP99Ms, 3)} | ${fmt(r.maxInFlight)} | ${r.cpuUsPerCall === undefined ? '—' : fmt(r.cpuUsPerCall, 1)} | ${errors} |`,
      );
    }
  }
  out.push('');
  return out;
}
