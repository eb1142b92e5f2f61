/**
 * Measured windows: data-plane scenarios (candidates alternate A B C, B C A, … so drift on the shared
 * machine falls equally on all of them) and cold starts. The memory phase is in memory.ts.
 */
import { startMcplane } from './candidates.js';
import { type LoadResult, type Operation, percentile, runLoad } from './load.js';
import { freePort, totalCpuMicros } from './proc.js';
import type { Measurement, Scenario } from './report.js';

export interface Plan {
  readonly rounds: number;
  readonly windowMs: number;
  readonly warmupMs: number;
  readonly idleCounts: readonly [number, number];
  /** Initialize-then-abandon cycles of the memory phase, sampled (heap after GC, RSS) every so many. */
  readonly abandonCycles: number;
  readonly abandonSampleEvery: number;
  /** 2026-07-28 clients making one call each in the memory phase (sampled as often, in proportion). */
  readonly modernClients: number;
  readonly sessionConcurrency: number;
  readonly settleMs: number;
  readonly coldStarts: number;
  /** Label flips timed for the discovery lag (each waits for its list_changed). */
  readonly discoveryChanges: number;
  readonly translate: { services: number; backends: number; routes: number; runs: number };
}

export interface Contender {
  readonly name: string;
  readonly url: string;
  /** Proxy processes to charge CPU to (absent for direct). */
  readonly pids?: () => number[];
  /** Overrides the scenario's operation (a merged tools/list expects more tools). */
  readonly operation?: Operation;
  /** Its sessions open their GET stream before the window, as SDK clients do. */
  readonly listen?: boolean;
  /** Sent with every request (a bearer token for a route with a policy). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Speaks 2026-07-28: no session, `_meta` and `Mcp-Method`/`Mcp-Name` on every request. */
  readonly modern?: boolean;
}

interface Tally {
  latencies: Float64Array[];
  calls: number;
  errors: number;
  elapsedMs: number;
  cpuUs: number;
  /** Each round's CPU per call (pairs with other candidates' windows of the same round). */
  roundCpu: number[];
  problems: Set<string>;
  failed: boolean;
}

function summarize(name: string, t: Tally, chargesCpu: boolean): Measurement {
  const total = t.latencies.reduce((n, l) => n + l.length, 0);
  const all = new Float64Array(total);
  let offset = 0;
  for (const l of t.latencies) {
    all.set(l, offset);
    offset += l.length;
  }
  all.sort();
  return {
    candidate: name,
    calls: t.calls,
    errors: t.errors,
    elapsedMs: t.elapsedMs,
    callsPerSecond: t.elapsedMs > 0 ? (t.calls * 1000) / t.elapsedMs : 0,
    p50Ms: percentile(all, 50),
    p90Ms: percentile(all, 90),
    p99Ms: percentile(all, 99),
    cpuUsPerCall: chargesCpu && t.calls > 0 ? t.cpuUs / t.calls : undefined,
    ...(chargesCpu ? { roundCpuUsPerCall: t.roundCpu } : {}),
    problems: [...t.problems],
  };
}

async function window(c: Contender, operation: Operation, concurrency: number, durationMs: number) {
  let cpuBefore = 0;
  const result: LoadResult = await runLoad({
    url: c.url,
    concurrency,
    operation,
    durationMs,
    listen: c.listen,
    modern: c.modern,
    ...(c.headers ? { headers: c.headers } : {}),
    onStart: () => {
      if (c.pids) cpuBefore = totalCpuMicros(c.pids());
    },
  });
  const cpuUs = c.pids ? totalCpuMicros(c.pids()) - cpuBefore : 0;
  return { result, cpuUs };
}

export async function measureScenario(
  id: string,
  title: string,
  contenders: readonly Contender[],
  operation: Operation,
  concurrency: number,
  plan: Pick<Plan, 'rounds' | 'windowMs' | 'warmupMs'>,
  log: (line: string) => void,
): Promise<Scenario> {
  const tallies = new Map<string, Tally>(
    contenders.map((c) => [
      c.name,
      {
        latencies: [],
        calls: 0,
        errors: 0,
        elapsedMs: 0,
        cpuUs: 0,
        roundCpu: [],
        problems: new Set(),
        failed: false,
      },
    ]),
  );
  const attempt = async (c: Contender, durationMs: number, record: boolean) => {
    const tally = tallies.get(c.name)!;
    if (tally.failed) return;
    try {
      const { result, cpuUs } = await window(c, c.operation ?? operation, concurrency, durationMs);
      if (!record) return;
      tally.latencies.push(result.latencies);
      tally.calls += result.calls;
      tally.errors += result.errors;
      tally.elapsedMs += result.elapsedMs;
      tally.cpuUs += cpuUs;
      tally.roundCpu.push(result.calls > 0 ? cpuUs / result.calls : Number.NaN);
      for (const p of result.problems) tally.problems.add(p);
    } catch (err) {
      // Sessions could not even be opened: no point in more rounds against this candidate.
      tally.failed = true;
      tally.errors += 1;
      tally.problems.add((err as Error).message.split('\n')[0]!.slice(0, 300));
    }
  };
  log(`${title}: warm-up`);
  for (const c of contenders) await attempt(c, plan.warmupMs, false);
  for (let round = 0; round < plan.rounds; round++) {
    log(`${title}: round ${round + 1}/${plan.rounds}`);
    for (let i = 0; i < contenders.length; i++) {
      await attempt(contenders[(i + round) % contenders.length]!, plan.windowMs, true);
    }
  }
  return {
    id,
    title,
    measurements: contenders.map((c) => summarize(c.name, tallies.get(c.name)!, c.pids !== undefined)),
  };
}

// ---------------------------------------------------------------------------------------------
// Fresh processes

/** A freshly started server to measure: its pid, the URL clients use, and how to stop it. */
export interface Fresh {
  readonly pid: number;
  readonly url: string;
  readonly readyMs?: number;
  readonly stop: () => Promise<void>;
}

/** mcplane with one static target, as a new process. */
export async function freshMcplane(upstreamPort: number): Promise<Fresh> {
  const listenerPort = await freePort();
  const m = await startMcplane([
    { name: 'one', listenerPort, targets: [{ name: 'one', port: upstreamPort }] },
  ]);
  return { pid: m.pid, url: m.urls[0]!, readyMs: m.readyMs, stop: m.stop };
}

/**
 * Growth of RSS over the second half of a run: the mean of the samples in its last fifth against the
 * mean of those in its middle fifth. Means over many samples, because a single sample swings by
 * ±20 % with where garbage collection happens to be (a plateau between two collections looks like
 * growth when one sample is compared with another).
 */
export function rssGrowth(samples: readonly [number, number][], total: number): number | undefined {
  const mean = (from: number, to: number) => {
    const inside = samples.filter(([n]) => n > from * total && n <= to * total).map(([, kib]) => kib);
    return inside.length === 0 ? undefined : inside.reduce((a, b) => a + b, 0) / inside.length;
  };
  const middle = mean(0.4, 0.6);
  const last = mean(0.8, 1);
  return middle === undefined || last === undefined ? undefined : (last - middle) / middle;
}

export async function measureColdStarts(upstreamPort: number, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const m = await freshMcplane(upstreamPort);
    times.push(m.readyMs!);
    await m.stop();
  }
  return times;
}
