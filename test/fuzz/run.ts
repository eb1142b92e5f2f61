/**
 * `npm run fuzz -- --requests 100000 --seed 7`: the long fuzz run, with a summary at the end.
 * Options: --requests N, --seed N, --concurrency N, --round N (requests between liveness checks),
 * --families a,b (only those generators), --json FILE (the whole report), --no-minimise.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULTS, type FuzzReport, runFuzz } from './fuzz.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '100000' },
    seed: { type: 'string', default: String(DEFAULTS.seed) },
    concurrency: { type: 'string', default: String(DEFAULTS.concurrency) },
    round: { type: 'string', default: '1000' },
    families: { type: 'string' },
    json: { type: 'string' },
    'no-minimise': { type: 'boolean', default: false },
  },
});

const report = await runFuzz({
  requests: Number(values.requests),
  seed: Number(values.seed),
  concurrency: Number(values.concurrency),
  roundSize: Number(values.round),
  minimise: !values['no-minimise'],
  ...(values.families ? { families: new Set(values.families.split(',')) } : {}),
  log: (line) => process.stderr.write(`${line}\n`),
});
if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(summary(report));
process.exit(report.exit || report.serverErrorCount > 0 || report.liveness.failures.length > 0 ? 1 : 0);

function summary(r: FuzzReport): string {
  const histogram = Object.entries(r.statuses)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, n]) => `${status}: ${n}`)
    .join(', ');
  const lines = [
    `seed ${r.seed}: ${r.requests} requests in ${(r.durationMs / 1000).toFixed(1)} s`,
    `statuses: ${histogram}`,
    `5xx (other than 503): ${r.serverErrorCount}`,
    `process exit: ${r.exit ? `${r.exit.code}\n${r.exit.logTail}` : 'none'}`,
    `RSS: start ${r.rss.startMiB} MiB, max sampled ${r.rss.maxMiB} MiB, peak (VmHWM) ${r.rss.peakMiB} MiB, end ${r.rss.endMiB} MiB`,
    `liveness: ${r.liveness.checks} checks, ${r.liveness.failures.length} failed, p50 ${r.liveness.p50Ms} ms, p99 ${r.liveness.p99Ms} ms, max ${r.liveness.maxMs} ms`,
    `/healthz under load: p50 ${r.healthz.p50Ms} ms, p99 ${r.healthz.p99Ms} ms, max ${r.healthz.maxMs} ms (${r.healthz.samples} samples)`,
    `/metrics: HTTP ${r.metrics.status}, ${r.metrics.bytes} bytes, ${r.metrics.upstreamSeries} mcplane_upstream_requests_total series, ${r.metrics.sessionsActive} sessions held`,
    `limits hit: ${
      Object.entries(r.metrics.limits)
        .map(([limit, n]) => `${limit} ${n}`)
        .join(', ') || 'none'
    }`,
    `upstream sessions left open: ${r.upstreamSessionsLeft}`,
  ];
  for (const failure of r.liveness.failures)
    lines.push(`  liveness failed after round ${failure.round}: ${failure.error}`);
  for (const e of r.serverErrors) {
    lines.push(`  5xx ×${e.count}: ${e.status} ${e.answer.slice(0, 160)}`, `    sent: ${e.request}`);
    if (e.minimised) lines.push(`    minimised: ${e.minimised}`);
  }
  lines.push(`findings (${r.findings.length}):`);
  for (const f of r.findings) {
    lines.push(
      `  [${f.rule}] ${f.key} ×${f.count}: ${f.why}`,
      `    sent: ${f.request}`,
      `    got: ${f.status} ${f.answer.slice(0, 200)}`,
    );
  }
  if (r.gatewayErrors.length > 0)
    lines.push('gateway error log lines:', ...r.gatewayErrors.map((l) => `  ${l}`));
  return `${lines.join('\n')}\n`;
}
