/**
 * Figures → markdown and JSON. Every figure is shown with its ratio to the baselines measured in the
 * same run (direct, nginx), and the budgets are checked with PASS/MISS.
 */
import type { DiscoveryLagFigures } from './discovery-lag.js';
import type { TranslateFigures } from './translate-bench.js';

export interface Measurement {
  readonly candidate: string;
  readonly calls: number;
  readonly errors: number;
  readonly elapsedMs: number;
  readonly callsPerSecond: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  /** CPU of the proxy process(es) per successful call; undefined for direct. */
  readonly cpuUsPerCall: number | undefined;
  readonly problems: readonly string[];
}

export interface Scenario {
  readonly id: string;
  readonly title: string;
  readonly measurements: Measurement[];
}

export interface MemoryFigures {
  readonly baselineKiB: number;
  /** [sessions, RSS KiB] after opening that many idle sessions. */
  readonly idle: [number, number][];
  readonly idleFailures: number;
  readonly kibPerIdleSession: number | undefined;
  /** [cycles, RSS KiB] every sample during initialize-then-abandon. */
  readonly abandoned: [number, number][];
  readonly abandonFailures: number;
  /** RSS growth over the second half of the abandon cycles (rssGrowth in scenarios.ts). */
  readonly abandonGrowth: number | undefined;
  /** [clients, RSS KiB] every sample while 2026-07-28 clients make one call each. */
  readonly modern: [number, number][];
  readonly modernFailures: number;
  /** RSS growth over the second half of those calls (rssGrowth). */
  readonly modernGrowth: number | undefined;
  readonly problems: readonly string[];
}

export interface Budget {
  readonly name: string;
  readonly figure: string;
  readonly limit: string;
  /** undefined: not measured in this run (the reason is in `figure`). */
  readonly pass: boolean | undefined;
}

export interface Results {
  readonly startedAt: string;
  readonly mode: 'quick' | 'full';
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly node: string;
    readonly memGiB: number;
    /** Share of all cores used by processes not ours during the run: neighbours skew the figures. */
    readonly othersShare: number;
  };
  readonly settings: Record<string, unknown>;
  readonly notes: string[];
  readonly scenarios: Scenario[];
  readonly memory: MemoryFigures | undefined;
  readonly translate: TranslateFigures | { readonly error: string } | undefined;
  readonly coldStartMs: number[] | undefined;
  readonly discoveryLag?: DiscoveryLagFigures | { readonly error: string };
  readonly mcplaneMode: string | undefined;
  readonly budgets: Budget[];
}

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '—';
const ratio = (value: number, base: number | undefined) =>
  base !== undefined && Number.isFinite(base) && base > 0 && Number.isFinite(value)
    ? `${(value / base).toFixed(2)}×`
    : undefined;

function withRatios(value: number, digits: number, direct?: number, nginx?: number, self?: string): string {
  const parts: string[] = [];
  const d = self === 'direct' ? undefined : ratio(value, direct);
  const n = self === 'nginx' ? undefined : ratio(value, nginx);
  if (d) parts.push(`${d} d`);
  if (n) parts.push(`${n} n`);
  return parts.length > 0 ? `${fmt(value, digits)} (${parts.join(', ')})` : fmt(value, digits);
}

function scenarioTable(s: Scenario): string {
  const direct = s.measurements.find((m) => m.candidate === 'direct');
  const nginx = s.measurements.find((m) => m.candidate === 'nginx');
  const rows = s.measurements.map((m) => {
    const cpu =
      m.cpuUsPerCall === undefined
        ? '—'
        : withRatios(m.cpuUsPerCall, 1, undefined, nginx?.cpuUsPerCall, m.candidate);
    return `| ${m.candidate} | ${withRatios(m.callsPerSecond, 0, direct?.callsPerSecond, nginx?.callsPerSecond, m.candidate)} | ${withRatios(m.p50Ms, 3, direct?.p50Ms, nginx?.p50Ms, m.candidate)} | ${withRatios(m.p90Ms, 3, direct?.p90Ms, nginx?.p90Ms, m.candidate)} | ${withRatios(m.p99Ms, 3, direct?.p99Ms, nginx?.p99Ms, m.candidate)} | ${cpu} | ${fmt(m.calls)} | ${m.errors}${m.problems.length ? ` (${m.problems[0]})` : ''} |`;
  });
  return [
    `### ${s.title}`,
    '',
    '| candidate | calls/s | p50 ms | p90 ms | p99 ms | proxy CPU µs/call | calls | errors |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

export function toMarkdown(r: Results): string {
  const out: string[] = [
    `# mcplane benchmark — ${r.startedAt} (${r.mode})`,
    '',
    `Machine: ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memGiB} GiB, Node ${r.machine.node}. ` +
      `Other processes used ${(r.machine.othersShare * 100).toFixed(0)} % of the machine's CPU during the run` +
      `${r.machine.othersShare > 0.1 ? ' (so the figures are noisy)' : ''}. ` +
      `mcplane started as \`${r.mcplaneMode ?? 'not started'}\`.`,
    '',
    `Settings: ${Object.entries(r.settings)
      .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join(', ')}`,
    '',
    'Ratios: `d` = against direct, `n` = against nginx, from the same run (candidates alternate each round).',
    '',
  ];
  if (r.notes.length > 0) out.push('Notes:', '', ...r.notes.map((n) => `- ${n}`), '');
  out.push('## Budgets', '', '| budget | figure | limit | result |', '|---|---|---|---|');
  for (const b of r.budgets) {
    out.push(
      `| ${b.name} | ${b.figure} | ${b.limit} | ${b.pass === undefined ? 'n/a' : b.pass ? 'PASS' : 'MISS'} |`,
    );
  }
  out.push('', '## Data plane', '');
  for (const s of r.scenarios) out.push(scenarioTable(s), '');
  out.push('## Memory (mcplane RSS)', '');
  if (!r.memory) out.push('Not measured (mcplane not running).', '');
  else {
    const m = r.memory;
    out.push(`Fresh process after start and 20 warm-up sessions: ${fmt(m.baselineKiB / 1024, 1)} MiB.`, '');
    out.push('| idle sessions | RSS MiB |', '|---|---|');
    for (const [n, kib] of m.idle) out.push(`| ${fmt(n)} | ${fmt(kib / 1024, 1)} |`);
    out.push(
      '',
      `KiB per idle session (slope between the two counts): ${m.kibPerIdleSession === undefined ? '—' : fmt(m.kibPerIdleSession, 2)}; failures: ${m.idleFailures}.`,
      '',
      '| initialize-then-abandon cycles | RSS MiB |',
      '|---|---|',
    );
    // Every tenth of the run in the table; the growth figure uses every sample.
    const step = Math.max(1, (m.abandoned.at(-1)?.[0] ?? 0) / 10);
    for (const [n, kib] of m.abandoned) if (n % step === 0) out.push(`| ${fmt(n)} | ${fmt(kib / 1024, 1)} |`);
    const all = m.abandoned.map(([, kib]) => kib / 1024);
    const range =
      all.length === 0 ? '' : `, RSS between ${fmt(Math.min(...all), 1)} and ${fmt(Math.max(...all), 1)} MiB`;
    out.push(
      '',
      `${fmt(m.abandoned.length)} samples${range}. Growth over the second half (mean of the last fifth's samples against the middle fifth's): ${m.abandonGrowth === undefined ? '—' : `${(m.abandonGrowth * 100).toFixed(1)} %`}; failures: ${m.abandonFailures}.`,
      '',
      '| 2026-07-28 clients, one call each | RSS MiB |',
      '|---|---|',
    );
    for (const [n, kib] of m.modern) if (n % step === 0) out.push(`| ${fmt(n)} | ${fmt(kib / 1024, 1)} |`);
    out.push(
      '',
      `${fmt(m.modern.length)} samples. Growth over the second half: ${m.modernGrowth === undefined ? '—' : `${(m.modernGrowth * 100).toFixed(1)} %`}; failures: ${m.modernFailures}.`,
    );
    if (m.problems.length > 0) out.push('', `Problems: ${m.problems.join('; ')}`);
    out.push('');
  }
  out.push('## Control plane', '');
  if (!r.translate) out.push('translate(): not measured.');
  else if ('error' in r.translate) out.push(`translate(): failed — \`${r.translate.error}\`.`);
  else {
    const t = r.translate;
    out.push(
      `translate() over ${fmt(t.services)} Services (+ one EndpointSlice each), ${fmt(t.backends)} AgentgatewayBackends, ${fmt(t.routes)} HTTPRoutes in 100 namespaces: ` +
        `median ${fmt(t.medianMs, 1)} ms, min ${fmt(t.minMs, 1)} ms over ${t.runs} runs; heap allocated during one run ${fmt(t.allocatedMiB, 1)} MiB, ` +
        `retained by the result ${fmt(t.retainedMiB, 1)} MiB; output: ${fmt(t.tableRoutes)} routes, ${fmt(t.tableTargets)} targets, ${fmt(t.statuses)} statuses.`,
    );
  }
  out.push('', discoveryLine(r.discoveryLag), '');
  out.push(
    '## Cold start (standalone, spawn → /readyz 200)',
    '',
    r.coldStartMs
      ? r.coldStartMs.map((ms) => `${fmt(ms)} ms`).join(', ')
      : 'Not measured (mcplane not running).',
    '',
  );
  return out.join('\n');
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function discoveryLine(lag: Results['discoveryLag']): string {
  const what =
    'Discovery lag (a Service labelled or unlabelled in the API server → `tools/list_changed` at a connected client)';
  if (!lag) return `${what}: not measured in this run.`;
  if ('error' in lag) return `${what}: failed — \`${lag.error}\`.`;
  return (
    `${what}, mcplane in Kubernetes mode with default settings against the test API server, ${fmt(lag.changes)} changes one at a time: ` +
    `p50 ${fmt(lag.p50Ms)} ms, p99 ${fmt(lag.p99Ms)} ms, max ${fmt(lag.maxMs)} ms; ${lag.missed} changes never notified.`
  );
}
