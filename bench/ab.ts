/**
 * A/B: two builds of mcplane side by side with nginx in one run, for judging one change. Full runs
 * move by ±10 % between runs on a shared machine; two builds measured in the same run, windows
 * rotated, differ by ~1–2 % when they are the same code.
 *
 *   npm run bench:ab -- <A> <B> [--concurrency 32] [--rounds 6] [--window-ms 3000] [--big]
 *
 * A and B are git revisions (built from a temporary worktree) or `.` for the working tree. Reports
 * CPU per call (utime + stime from /proc), calls/s and median latency per candidate, and B/A.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  findNginx,
  prepareMcplane,
  ROOT,
  type Running,
  startMcplane,
  startNginx,
  startUpstream,
  useMcplaneEntry,
} from './candidates.js';
import { bigOperation, echoOperation, percentile, runLoad } from './load.js';
import { freePort, installCleanup, stopAll, totalCpuMicros } from './proc.js';

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    concurrency: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '6' },
    'window-ms': { type: 'string', default: '3000' },
    big: { type: 'boolean', default: false },
  },
});
if (positionals.length !== 2) {
  console.error('usage: npm run bench:ab -- <A> <B>   (git revisions, or . for the working tree)');
  process.exit(2);
}
const concurrency = Number(flags.concurrency);
const rounds = Number(flags.rounds);
const windowMs = Number(flags['window-ms']);
const operation = () => (flags.big ? bigOperation(64) : echoOperation());

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

interface Side {
  readonly name: string;
  readonly running: Running;
  cpu: number;
  calls: number;
  elapsedMs: number;
  readonly medians: number[];
}

try {
  const upstream = await startUpstream({ name: 'one', extraTools: 16, sse: false, maxSessions: 20_000 });
  const sides: Side[] = [];
  const nginx = findNginx(false);
  if (nginx.path) {
    const running = await startNginx(nginx.path, upstream.port);
    sides.push({ name: 'nginx', running, cpu: 0, calls: 0, elapsedMs: 0, medians: [] });
  } else {
    console.error(`bench:ab: ${nginx.reason}; comparing A and B only`);
  }
  for (const [i, rev] of positionals.entries()) {
    const label = i === 0 ? 'A' : 'B';
    useMcplaneEntry({ args: await build(rev, label), mode: rev });
    const running = await startMcplane([
      { name: 'one', listenerPort: await freePort(), targets: [{ name: 'one', port: upstream.port }] },
    ]);
    sides.push({ name: `${label} (${rev})`, running, cpu: 0, calls: 0, elapsedMs: 0, medians: [] });
  }
  for (const side of sides) {
    await runLoad({ url: side.running.urls[0]!, concurrency, operation: operation(), durationMs: 1500 });
  }
  for (let round = 0; round < rounds; round++) {
    const k = round % sides.length;
    for (const side of [...sides.slice(k), ...sides.slice(0, k)]) {
      let before = 0;
      const result = await runLoad({
        url: side.running.urls[0]!,
        concurrency,
        operation: operation(),
        durationMs: windowMs,
        onStart: () => {
          before = totalCpuMicros(side.running.pids());
        },
      });
      side.cpu += totalCpuMicros(side.running.pids()) - before;
      side.calls += result.calls;
      side.elapsedMs += result.elapsedMs;
      side.medians.push(percentile(result.latencies.sort(), 50));
      if (result.errors > 0) console.error(`${side.name}: ${result.errors} errors (${result.problems[0]})`);
    }
  }
  const perCall = (side: Side) => side.cpu / side.calls;
  const base = sides.find((s) => s.name === 'nginx');
  console.log('| candidate | CPU µs/call | calls/s | p50 ms (median of windows) |');
  console.log('|---|---|---|---|');
  for (const side of sides) {
    const ratio = base && side !== base ? ` (${(perCall(side) / perCall(base)).toFixed(2)}× nginx)` : '';
    const median = [...side.medians].sort((x, y) => x - y)[Math.floor(side.medians.length / 2)]!;
    const rate = Math.round((side.calls / side.elapsedMs) * 1000);
    console.log(`| ${side.name} | ${perCall(side).toFixed(1)}${ratio} | ${rate} | ${median.toFixed(3)} |`);
  }
  const [a, b] = sides.slice(-2) as [Side, Side];
  console.log(`\nB/A CPU per call: ${(perCall(b) / perCall(a)).toFixed(3)}`);
} finally {
  await stopAll();
  for (const dir of worktrees) {
    execFileSync('git', ['worktree', 'remove', '--force', dir], { cwd: ROOT, stdio: 'ignore' });
    await rm(dir, { recursive: true, force: true });
  }
}
process.exit(0);
