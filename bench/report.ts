/**
 * Figures → markdown and JSON. Every figure is shown with its ratio to the baselines measured in the
 * same run (direct, nginx, the node relay), and the budgets are checked with PASS/MISS.
 */
import type { DiscoveryLagFigures } from './discovery-lag.js';
import { type MemoryFigures, memoryMarkdown } from './memory.js';
import { type OpenLoopFigures, openLoopMarkdown } from './open-loop.js';
import { type RampFigures, rampMarkdown } from './ramp.js';
import type { TranslateFigures } from './translate-bench.js';

/** The floor of a Node proxy (relay.ts), measured in every data-plane scenario: the `r` ratios. */
export const RELAY = 'node relay';
/** mcplane with `--log-level warn` (no access log), beside mcplane at its default in echo c=32. */
export const LOG_OFF = 'mcplane, access log off';

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
  /** The same, round by round (windows of one round ran back to back, so they pair across candidates). */
  readonly roundCpuUsPerCall?: readonly number[];
  readonly problems: readonly string[];
}

export interface Scenario {
  readonly id: string;
  readonly title: string;
  readonly measurements: Measurement[];
}

export type { MemoryFigures } from './memory.js';

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
  /** Fixed arrival rate (open-loop.ts), when the run had the `open-loop` part. */
  readonly openLoop?: OpenLoopFigures;
  /**
   * The same rates in front of the fast upstream (no SDK stalls): the gateway's own share of the
   * tail, beside the budget's figure.
   */
  readonly openLoopFast?: OpenLoopFigures;
  /** Session ramp (ramp.ts), when the run had the `ramp` part. */
  readonly ramp?: RampFigures;
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

function withRatios(
  value: number,
  digits: number,
  direct?: number,
  nginx?: number,
  self?: string,
  relay?: number,
): string {
  const parts: string[] = [];
  const d = self === 'direct' ? undefined : ratio(value, direct);
  const n = self === 'nginx' ? undefined : ratio(value, nginx);
  const r = self === RELAY ? undefined : ratio(value, relay);
  if (d) parts.push(`${d} d`);
  if (n) parts.push(`${n} n`);
  if (r) parts.push(`${r} r`);
  return parts.length > 0 ? `${fmt(value, digits)} (${parts.join(', ')})` : fmt(value, digits);
}

function scenarioTable(s: Scenario): string {
  const direct = s.measurements.find((m) => m.candidate === 'direct');
  const nginx = s.measurements.find((m) => m.candidate === 'nginx');
  const relay = s.measurements.find((m) => m.candidate === RELAY);
  const rows = s.measurements.map((m) => {
    const cpu =
      m.cpuUsPerCall === undefined
        ? '—'
        : withRatios(m.cpuUsPerCall, 1, undefined, nginx?.cpuUsPerCall, m.candidate, relay?.cpuUsPerCall);
    const show = (pick: (x: Measurement) => number, digits: number) =>
      withRatios(
        pick(m),
        digits,
        direct && pick(direct),
        nginx && pick(nginx),
        m.candidate,
        relay && pick(relay),
      );
    return `| ${m.candidate} | ${show((x) => x.callsPerSecond, 0)} | ${show((x) => x.p50Ms, 3)} | ${show((x) => x.p90Ms, 3)} | ${show((x) => x.p99Ms, 3)} | ${cpu} | ${fmt(m.calls)} | ${m.errors}${m.problems.length ? ` (${m.problems[0]})` : ''} |`;
  });
  return [
    `### ${s.title}`,
    '',
    '| candidate | calls/s | p50 ms | p90 ms | p99 ms | proxy CPU µs/call | calls | errors |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    ...scenarioLines(s, nginx),
  ].join('\n');
}

/** Figures derived from a scenario's rows: the access log's share (echo c=32), calls per core (fast upstream). */
function scenarioLines(s: Scenario, nginx: Measurement | undefined): string[] {
  const lines: string[] = [];
  const on = s.measurements.find((m) => m.candidate === 'mcplane');
  const off = s.measurements.find((m) => m.candidate === LOG_OFF);
  if (on?.cpuUsPerCall !== undefined && off?.cpuUsPerCall !== undefined) {
    const extra = on.cpuUsPerCall - off.cpuUsPerCall;
    lines.push(
      '',
      `Access log (mcplane's default \`info\`: one JSON line per request, stdout to a file) minus \`--log-level warn\`: ` +
        `${fmt(extra, 1)} µs of CPU per call, ${fmt((extra / on.cpuUsPerCall) * 100, 1)} % of mcplane's ` +
        `${fmt(on.cpuUsPerCall, 1)} µs; throughput ${ratio(on.callsPerSecond, off.callsPerSecond) ?? '—'} of the log-off figure.`,
    );
  }
  const proxies = s.measurements.filter((m) => m.cpuUsPerCall !== undefined && m.cpuUsPerCall > 0);
  if (s.id === 'fast-c32' && proxies.length > 0) {
    const perCore = (m: Measurement) => 1e6 / m.cpuUsPerCall!;
    const shown = proxies.map((m) => {
      const vsNginx = nginx && m !== nginx ? ratio(perCore(m), perCore(nginx)) : undefined;
      return `${m.candidate} ${fmt(perCore(m))}${vsNginx ? ` (${vsNginx} n)` : ''}`;
    });
    lines.push(
      '',
      `Most calls/s per core (calls over the proxy's CPU seconds in the windows): ${shown.join(', ')}.`,
    );
  }
  return lines;
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
    'Ratios: `d` = against direct, `n` = against nginx, `r` = against the node relay (the floor of a Node proxy), from the same run (candidates alternate each round).',
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
  out.push(...openLoopMarkdown(r.openLoop));
  out.push(
    ...openLoopMarkdown(
      r.openLoopFast,
      "the same arrival rates in front of the fast upstream (open loop; the gateway's own tail, no SDK stalls)",
    ),
  );
  out.push(...memoryMarkdown(r.memory));
  out.push(...rampMarkdown(r.ramp));
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
