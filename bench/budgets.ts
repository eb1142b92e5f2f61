/**
 * The performance budgets mcplane is held to, checked against figures from one run.
 */
import { memoryBudgets } from './memory.js';
import { openLoopBudgets } from './open-loop.js';
import { rampBudgets } from './ramp.js';
import { type Budget, median, RELAY, type Results } from './report.js';

type Figures = Omit<Results, 'budgets'>;

/** The merged-list candidate with the session's kept lists turned off: every list fans out. */
export const UNCACHED = 'mcplane (3 targets, --list-cache=false)';
/** The 64 KiB results of the big-c8 scenario. */
const BIG_KIB = 64;
/** mcplane serving a 2026-07-28 client (no session) in the echo scenarios. */
export const MODERN_CLIENT = 'mcplane (2026-07-28 client)';

function find(r: Figures, scenario: string, candidate: string) {
  return r.scenarios.find((s) => s.id === scenario)?.measurements.find((m) => m.candidate === candidate);
}

function check(
  name: string,
  limit: string,
  value: number | undefined,
  ok: (v: number) => boolean,
  show: (v: number) => string,
  missing: string,
): Budget {
  if (value === undefined || !Number.isFinite(value))
    return { name, figure: missing, limit, pass: undefined };
  return { name, figure: show(value), limit, pass: ok(value) };
}

export function checkBudgets(r: Figures): Budget[] {
  const budgets: Budget[] = [];
  const notRun = 'not measured';

  // The same budgets for a 2025 client (its session) and a 2026-07-28 client (no session).
  for (const [candidate, suffix] of [
    ['mcplane', ''],
    [MODERN_CLIENT, ', 2026-07-28 client'],
  ] as const) {
    budgets.push(...callBudgets(r, candidate, suffix));
  }
  budgets.push(...eraBudgets(r));

  const fan = r.scenarios.find((s) => s.id === 'list-fanout');
  const merged = fan?.measurements.find((m) => m.candidate === 'mcplane (3 targets)');
  const fannedOut = fan?.measurements.find((m) => m.candidate === UNCACHED);
  const singles = fan?.measurements.filter((m) => m.candidate.startsWith('direct')) ?? [];
  const slowest = singles.length > 0 ? Math.max(...singles.map((m) => m.p50Ms)) : undefined;
  // The client keeps its GET stream open, as SDK clients do; the figure with every list fanned
  // out (--list-cache=false) is shown beside it.
  const everyTime =
    fannedOut && slowest
      ? `; every list fanned out: ${(fannedOut.p50Ms / slowest).toFixed(2)}× (${fannedOut.p50Ms.toFixed(3)} ms)`
      : '';
  budgets.push(
    check(
      'merged tools/list over 3 targets vs slowest single target (p50, c=1)',
      '≤ 1.2×',
      merged && slowest ? merged.p50Ms / slowest : undefined,
      (v) => v <= 1.2,
      (v) => `${v.toFixed(2)}× (${merged!.p50Ms.toFixed(3)} vs ${slowest!.toFixed(3)} ms)${everyTime}`,
      notRun,
    ),
  );

  budgets.push(...openLoopBudgets(r.openLoop, r.openLoopFast));
  const count = (key: string) => (typeof r.settings[key] === 'number' ? (r.settings[key] as number) : 0);
  budgets.push(
    ...memoryBudgets(r.memory, {
      abandonCycles: count('abandonCycles'),
      modernClients: count('modernClients'),
    }),
  );
  budgets.push(...rampBudgets(r.ramp));

  const t = r.translate;
  budgets.push(
    check(
      t && !('error' in t)
        ? `translate() ${t.services}/${t.backends}/${t.routes} (median)`
        : 'translate() 10k/1k/1k',
      '≤ 200 ms',
      t && !('error' in t) ? t.medianMs : undefined,
      (v) => v <= 200,
      (v) => `${v.toFixed(1)} ms`,
      t && 'error' in t ? `failed: ${t.error}` : notRun,
    ),
  );

  budgets.push(
    check(
      'cold start to ready (median)',
      '≤ 1000 ms',
      r.coldStartMs ? median(r.coldStartMs) : undefined,
      (v) => v <= 1000,
      (v) => `${Math.round(v)} ms`,
      notRun,
    ),
  );
  return budgets;
}

/** What a 2026-07-28 message costs beyond a 2025 one (its `_meta` parsed, and written again without it). */
const MODERN_OVER_LEGACY = 1.1;

/**
 * The 2026-07-28 client against the 2025 one on the same process, from windows that ran in the same
 * rounds: the median over rounds of the two CPU-per-call figures' ratio. Pooled figures of a whole
 * run drift apart by ±15 % on a shared machine (a neighbour's burst lands in one window); a round's
 * two windows run seconds apart. The other lines hold the 2026 client to the same limits as the 2025
 * one; this one says whether it costs what the 2025 client costs.
 */
function eraBudgets(r: Figures): Budget[] {
  return (
    [
      ['echo-c32', 'c=32'],
      ['echo-c1', 'c=1'],
    ] as const
  ).map(([scenario, label]) => {
    const legacy = find(r, scenario, 'mcplane')?.roundCpuUsPerCall ?? [];
    const modern = find(r, scenario, MODERN_CLIENT)?.roundCpuUsPerCall ?? [];
    const ratios: number[] = [];
    for (let i = 0; i < Math.min(legacy.length, modern.length); i++) {
      const ratio = modern[i]! / legacy[i]!;
      if (Number.isFinite(ratio)) ratios.push(ratio);
    }
    return check(
      `CPU per tools/call, 2026-07-28 client vs 2025 client (echo, ${label}, median of rounds)`,
      `≤ ${MODERN_OVER_LEGACY.toFixed(2)}× the 2025 client`,
      ratios.length > 0 ? median(ratios) : undefined,
      (v) => v <= MODERN_OVER_LEGACY,
      (v) => `${v.toFixed(3)}× (rounds: ${ratios.map((x) => x.toFixed(2)).join(', ')})`,
      'not measured',
    );
  });
}

/**
 * The data-plane budgets for one mcplane candidate: CPU per call against the node relay (the floor of a
 * Node proxy) and nginx, added latency against nginx's, throughput against direct. The fast-upstream
 * line only for the 2025 client (the only mcplane row of that scenario).
 */
function callBudgets(r: Figures, candidate: string, suffix: string): Budget[] {
  const budgets: Budget[] = [];
  const notRun = 'not measured';
  const cpuRatio = (scenario: string, base: string, limit: number, title: string) => {
    const m = find(r, scenario, candidate);
    const b = find(r, scenario, base);
    return check(
      `${title}${suffix}`,
      `≤ ${limit}× ${base}`,
      m?.cpuUsPerCall !== undefined && b?.cpuUsPerCall ? m.cpuUsPerCall / b.cpuUsPerCall : undefined,
      (v) => v <= limit,
      (v) => `${v.toFixed(2)}× (${m!.cpuUsPerCall!.toFixed(1)} vs ${b!.cpuUsPerCall!.toFixed(1)} µs)`,
      m && !b ? `${base} not measured` : notRun,
    );
  };
  const throughput = (scenario: string, base: string, limit: number, title: string) => {
    const m = find(r, scenario, candidate);
    const b = find(r, scenario, base);
    return check(
      `${title}${suffix}`,
      `≥ ${limit.toFixed(2)}× ${base}`,
      m && b ? m.callsPerSecond / b.callsPerSecond : undefined,
      (v) => v >= limit,
      (v) =>
        `${v.toFixed(2)}× (${Math.round(m!.callsPerSecond)} vs ${Math.round(b!.callsPerSecond)} calls/s)`,
      m && !b ? `${base} not measured` : notRun,
    );
  };
  budgets.push(
    cpuRatio('echo-c32', RELAY, 1.2, 'CPU per tools/call vs the node relay (echo, c=32)'),
    cpuRatio('echo-c32', 'nginx', 2.5, 'CPU per tools/call vs nginx (echo, c=32)'),
    cpuRatio('echo-c1', 'nginx', 3, 'CPU per tools/call vs nginx (echo, c=1)'),
  );

  const d1 = find(r, 'echo-c1', 'direct');
  const n1 = find(r, 'echo-c1', 'nginx');
  const m1 = find(r, 'echo-c1', candidate);
  budgets.push(
    check(
      `added p50 latency at c=1 over nginx's${suffix}`,
      "≤ nginx's added p50 + 0.10 ms",
      m1 && n1 && d1 ? m1.p50Ms - n1.p50Ms : undefined,
      (v) => v <= 0.1,
      (v) =>
        `${v >= 0 ? '+' : ''}${v.toFixed(3)} ms (adds ${(m1!.p50Ms - d1!.p50Ms).toFixed(3)} ms, nginx ${(n1!.p50Ms - d1!.p50Ms).toFixed(3)}; p50 ${m1!.p50Ms.toFixed(3)} / ${n1!.p50Ms.toFixed(3)} / direct ${d1!.p50Ms.toFixed(3)} ms)`,
      m1 && !n1 ? 'nginx not measured' : notRun,
    ),
    throughput('echo-c32', 'direct', 0.95, 'throughput at c=32 vs direct (echo, SDK upstream)'),
  );
  if (candidate === 'mcplane') {
    budgets.push(
      throughput('fast-c32', 'nginx', 0.5, 'throughput with the fast upstream vs nginx (echo, c=32)'),
    );
  }
  budgets.push(
    throughput('big-c8', 'direct', 0.9, `throughput with ${BIG_KIB} KiB results at c=8 vs direct`),
    cpuRatio('big-c8', 'nginx', 2.5, `CPU per call with ${BIG_KIB} KiB results vs nginx (c=8)`),
  );
  return budgets;
}
