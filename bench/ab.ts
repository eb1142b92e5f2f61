/**
 * A/B: two builds of mcplane side by side with nginx in one run, for judging one change. Full runs
 * move by ±10 % between runs on a shared machine; two builds measured in the same run, windows
 * rotated, differ by ~1–2 % when they are the same code.
 *
 *   npm run bench:ab -- <A> <B> [--concurrency 32] [--rounds 6] [--window-ms 3000] [--big] [--fast] [--policy-b]
 *     [--modern] [--modern-b] [--sse]
 *
 * Both builds run with mcplane's default flags, so the access log (one JSON line per request at the
 * default `info`, stdout to a file) is on, as users run it; `--log-off` starts both with
 * `--log-level warn` (what every figure before the access log was measured with), `--log-off-b` only
 * B (`. . --log-off-b` is the access log's cost). The node relay
 * (relay.ts, the floor of a Node proxy) runs as a reference row beside nginx; `--no-relay` leaves it
 * out (a third shorter run).
 *
 * `--tracing-b` turns OpenTelemetry tracing on in B (spans exported over OTLP/HTTP to a sink in
 * this process; every request sampled unless OTEL_TRACES_SAMPLER / _ARG say otherwise, e.g.
 * `traceidratio` and `0.1`): `. . --tracing-b` is the cost of tracing on the same build.
 * `--policy-b` puts B's route under an AgentgatewayPolicy (JWT, one authorization rule, one local
 * rate limit: bench/policy.ts) and sends B's calls with a bearer token: `. . --policy-b` is the
 * cost of governance on the same build.
 * `--modern-b` makes B's calls as a 2026-07-28 client (no session, `_meta` on every request):
 * `. . --modern-b` is what the modern path costs beside the 2025 one on the same build; `--modern`
 * makes both sides' calls so (a change to the modern path).
 * `--fast` puts the fast upstream (fast-upstream.ts: canned answers in µs) behind every candidate
 * instead of the SDK one, so the proxies set the pace and B/A is the gateway's own cost. `--sse`
 * has the upstream answer every call as an SSE stream (the SDKs' default) instead of a JSON body.
 * A and B are git revisions (built from a temporary worktree) or `.` for the working tree. Reports
 * CPU per call (utime + stime from /proc), calls/s and median latency per candidate, and B/A.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  findNginx,
  prepareMcplane,
  ROOT,
  startMcplane,
  startNginx,
  startRelay,
  startUpstream,
  useMcplaneEntry,
} from './candidates.js';
import { bigOperation, echoOperation } from './load.js';
import { benchPolicy } from './policy.js';
import { freePort, installCleanup, stopAll } from './proc.js';
import { type Measurement, RELAY } from './report.js';
import { type Contender, measureScenario } from './scenarios.js';

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    concurrency: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '6' },
    'window-ms': { type: 'string', default: '3000' },
    big: { type: 'boolean', default: false },
    fast: { type: 'boolean', default: false },
    sse: { type: 'boolean', default: false },
    'policy-b': { type: 'boolean', default: false },
    'tracing-b': { type: 'boolean', default: false },
    modern: { type: 'boolean', default: false },
    'modern-b': { type: 'boolean', default: false },
    'log-off': { type: 'boolean', default: false },
    'log-off-b': { type: 'boolean', default: false },
    'no-relay': { type: 'boolean', default: false },
  },
});
if (positionals.length !== 2) {
  console.error('usage: npm run bench:ab -- <A> <B>   (git revisions, or . for the working tree)');
  process.exit(2);
}
const concurrency = Number(flags.concurrency);
const rounds = Number(flags.rounds);
const windowMs = Number(flags['window-ms']);
const operation = flags.big ? bigOperation(64) : echoOperation();

installCleanup();
const worktrees: string[] = [];

/** Build one side: the working tree as it is, or a revision checked out into a temporary worktree. */
async function build(rev: string, label: string): Promise<string[]> {
  let root = ROOT;
  if (rev !== '.') {
    root = await mkdtemp(join(tmpdir(), 'mcplane-ab-'));
    execFileSync('git', ['worktree', 'add', '--detach', root, rev], { cwd: ROOT, stdio: 'ignore' });
    worktrees.push(root);
  }
  // Inside the project, so the built files resolve this checkout's node_modules.
  const built = await prepareMcplane(root, join(ROOT, '.tmp/ab', label));
  if (!built) throw new Error(`${rev} has no src/main.ts`);
  return built.args;
}

/** An OTLP/HTTP endpoint that takes every export and keeps nothing; closed when this process ends. */
async function otlpSink(): Promise<string> {
  const sink = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  sink.unref();
  const address = sink.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

try {
  const upstream = await startUpstream({
    name: 'one',
    extraTools: 16,
    sse: flags.sse,
    maxSessions: 20_000,
    fast: flags.fast,
  });
  const contenders: Contender[] = [];
  const nginx = findNginx(false);
  if (nginx.path) {
    const running = await startNginx(nginx.path, upstream.port);
    contenders.push({ name: 'nginx', url: running.urls[0]!, pids: running.pids });
  } else {
    console.error(`bench:ab: ${nginx.reason}; comparing A and B only`);
  }
  if (!flags['no-relay']) {
    const relay = await startRelay(upstream.port);
    contenders.push({ name: RELAY, url: relay.urls[0]!, pids: relay.pids });
  }
  for (const [i, rev] of positionals.entries()) {
    const label = i === 0 ? 'A' : 'B';
    useMcplaneEntry({ args: await build(rev, label), mode: rev });
    const governed = label === 'B' && flags['policy-b'] ? await benchPolicy('one') : undefined;
    const traced = label === 'B' && flags['tracing-b'] ? await otlpSink() : undefined;
    const modern = flags.modern || (label === 'B' && flags['modern-b']);
    const running = await startMcplane(
      [
        {
          name: 'one',
          listenerPort: await freePort(),
          targets: [{ name: 'one', port: upstream.port }],
          ...(governed ? { policies: governed.policies } : {}),
        },
      ],
      [],
      flags['log-off'] || (label === 'B' && flags['log-off-b']) ? ['--log-level', 'warn'] : [],
      traced
        ? {
            OTEL_EXPORTER_OTLP_ENDPOINT: traced,
            OTEL_TRACES_SAMPLER: process.env.OTEL_TRACES_SAMPLER ?? 'always_on',
            OTEL_TRACES_SAMPLER_ARG: process.env.OTEL_TRACES_SAMPLER_ARG ?? '1',
          }
        : {},
    );
    const name = `${label} (${rev}${governed ? ', policy' : ''}${traced ? ', tracing' : ''}${modern ? ', 2026-07-28 client' : ''}${flags['log-off'] || (label === 'B' && flags['log-off-b']) ? ', log off' : ''})`;
    contenders.push({
      name,
      url: running.urls[0]!,
      pids: running.pids,
      ...(governed ? { headers: governed.headers } : {}),
      ...(modern ? { modern } : {}),
    });
  }
  // The same windows, rotation and CPU accounting as the full benchmark's scenarios.
  const plan = { rounds, windowMs, warmupMs: 1500 };
  const title = `${flags.big ? 'tools/call big (64 KiB)' : 'tools/call echo'}${flags.fast ? ', fast upstream' : ''}`;
  const scenario = await measureScenario('ab', title, contenders, operation, concurrency, plan, (line) =>
    console.error(`bench:ab: ${line}`),
  );
  const base = scenario.measurements.find((m) => m.candidate === 'nginx');
  const floor = scenario.measurements.find((m) => m.candidate === RELAY);
  const cpu = (m: Measurement) => m.cpuUsPerCall ?? Number.NaN;
  console.log('| candidate | CPU µs/call | calls/s | p50 ms | errors |');
  console.log('|---|---|---|---|---|');
  for (const m of scenario.measurements) {
    const ratios = [
      base && m !== base ? `${(cpu(m) / cpu(base)).toFixed(2)}× nginx` : undefined,
      floor && m !== floor ? `${(cpu(m) / cpu(floor)).toFixed(2)}× relay` : undefined,
    ].filter(Boolean);
    const ratio = ratios.length > 0 ? ` (${ratios.join(', ')})` : '';
    const row = [`${cpu(m).toFixed(1)}${ratio}`, Math.round(m.callsPerSecond), m.p50Ms.toFixed(3), m.errors];
    console.log(`| ${m.candidate} | ${row.join(' | ')} |`);
  }
  const [a, b] = scenario.measurements.slice(-2) as [Measurement, Measurement];
  console.log(`\nB/A CPU per call: ${(cpu(b) / cpu(a)).toFixed(3)}`);
} finally {
  await stopAll();
  for (const dir of worktrees) {
    execFileSync('git', ['worktree', 'remove', '--force', dir], { cwd: ROOT, stdio: 'ignore' });
    await rm(dir, { recursive: true, force: true });
  }
}
process.exit(0);
