/**
 * The performance budgets mcplane is held to, checked against figures from one run.
 */
import { type Budget, median, type Results } from './report.js';

type Figures = Omit<Results, 'budgets'>;

/** The merged-list candidate with the session's kept lists turned off: every list fans out. */
export const UNCACHED = 'mcplane (3 targets, --list-cache=false)';
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

  const mem = r.memory;
  budgets.push(
    check(
      'RSS per idle session',
      '≤ 8 KiB',
      mem?.kibPerIdleSession,
      (v) => v <= 8,
      (v) => `${v.toFixed(2)} KiB`,
      notRun,
    ),
  );
  const top = mem?.idle.at(-1);
  budgets.push(
    check(
      `RSS with ${top ? top[0].toLocaleString('en-US') : '10,000'} idle sessions`,
      '≤ 256 MiB',
      top ? top[1] / 1024 : undefined,
      (v) => v <= 256,
      (v) => `${v.toFixed(1)} MiB`,
      notRun,
    ),
  );
  const cycles = mem?.abandoned.at(-1)?.[0];
  budgets.push(
    check(
      `flat RSS over ${cycles ? cycles.toLocaleString('en-US') : '100,000'} initialize-then-abandon cycles`,
      '≤ 10 % growth over the second half (means of the last and middle fifths)',
      mem?.abandonGrowth,
      (v) => v <= 0.1,
      (v) => `${(v * 100).toFixed(1)} %`,
      notRun,
    ),
  );
  budgets.push(
    check(
      `flat RSS over ${cycles ? cycles.toLocaleString('en-US') : '100,000'} 2026-07-28 clients making one call each`,
      '≤ 10 % growth over the second half (means of the last and middle fifths)',
      mem?.modernGrowth,
      (v) => v <= 0.1,
      (v) => `${(v * 100).toFixed(1)} %`,
      notRun,
    ),
  );

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

/** Throughput at c=32, added p50 at c=1 and CPU per call vs nginx, for one mcplane candidate. */
function callBudgets(r: Figures, candidate: string, suffix: string): Budget[] {
  const budgets: Budget[] = [];
  const notRun = 'not measured';
  const d32 = find(r, 'echo-c32', 'direct');
  const m32 = find(r, 'echo-c32', candidate);
  budgets.push(
    check(
      `throughput at c=32 through mcplane vs direct${suffix}`,
      '≥ 0.90×',
      m32 && d32 ? m32.callsPerSecond / d32.callsPerSecond : undefined,
      (v) => v >= 0.9,
      (v) =>
        `${v.toFixed(2)}× (${Math.round(m32!.callsPerSecond)} vs ${Math.round(d32!.callsPerSecond)} calls/s)`,
      notRun,
    ),
  );

  const d1 = find(r, 'echo-c1', 'direct');
  const m1 = find(r, 'echo-c1', candidate);
  budgets.push(
    check(
      `added p50 latency at c=1 over direct${suffix}`,
      '≤ 0.20 ms',
      m1 && d1 ? m1.p50Ms - d1.p50Ms : undefined,
      (v) => v <= 0.2,
      (v) => `${v.toFixed(3)} ms (${m1!.p50Ms.toFixed(3)} vs ${d1!.p50Ms.toFixed(3)})`,
      notRun,
    ),
  );

  const n32 = find(r, 'echo-c32', 'nginx');
  budgets.push(
    check(
      `mcplane CPU per call vs nginx (echo, c=32)${suffix}`,
      '≤ 3×',
      m32?.cpuUsPerCall !== undefined && n32?.cpuUsPerCall ? m32.cpuUsPerCall / n32.cpuUsPerCall : undefined,
      (v) => v <= 3,
      (v) => `${v.toFixed(2)}× (${m32!.cpuUsPerCall!.toFixed(1)} vs ${n32!.cpuUsPerCall!.toFixed(1)} µs)`,
      n32 ? notRun : 'nginx not measured',
    ),
  );
  return budgets;
}
