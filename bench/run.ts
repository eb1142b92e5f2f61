/**
 * The benchmark: direct vs nginx vs mcplane, side by side in one run, plus mcplane's memory per session,
 * translate() cost and cold start. `npm run bench` (a few minutes) or `npm run bench:quick` (CI: checks
 * the harness works; budget misses never fail it, harness errors do).
 *
 * Flags: --quick, --no-install (never apt-get nginx), --sse (upstream answers with SSE streams),
 * --strict (exit 1 on a budget MISS), --skip-memory, --skip-mcplane, --profile (a .cpuprofile of the
 * data-plane mcplane process into bench/results/).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { checkBudgets, MODERN_CLIENT, UNCACHED } from './budgets.js';
import {
  findNginx,
  mcplaneMode,
  prepareMcplane,
  ROOT,
  type Running,
  type RunningUpstream,
  startMcplane,
  startNginx,
  startUpstream,
  useMcplaneEntry,
} from './candidates.js';
import { type DiscoveryLagFigures, measureDiscoveryLag } from './discovery-lag.js';
import { bigOperation, echoOperation, listOperation, type Operation } from './load.js';
import { freePort, installCleanup, machineBusyMicros, ownTreeMicros, stopAll } from './proc.js';
import { type MemoryFigures, type Results, type Scenario, toMarkdown } from './report.js';
import {
  type Contender,
  freshMcplane,
  measureColdStarts,
  measureMemory,
  measureScenario,
  type Plan,
} from './scenarios.js';
import { selfCheck } from './self-check.js';
import type { TranslateFigures } from './translate-bench.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-install': { type: 'boolean', default: false },
    sse: { type: 'boolean', default: false },
    strict: { type: 'boolean', default: false },
    'skip-memory': { type: 'boolean', default: false },
    'skip-mcplane': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});

/** `--only echo-c32,memory`: run just these parts (for tuning loops; budgets of the rest are n/a). */
const PARTS = [
  'echo-c1',
  'echo-c32',
  'big-c8',
  'list-fanout',
  'memory',
  'cold-start',
  'discovery',
  'translate',
] as const;
const only = flags.only === undefined ? undefined : new Set(flags.only.split(',').map((p) => p.trim()));
for (const part of only ?? []) {
  if (!(PARTS as readonly string[]).includes(part)) {
    throw new Error(`--only: unknown part "${part}"; parts are ${PARTS.join(', ')}`);
  }
}
const wanted = (part: (typeof PARTS)[number]) => only === undefined || only.has(part);

const PLANS: Record<'quick' | 'full', Plan> = {
  quick: {
    rounds: 2,
    windowMs: 400,
    warmupMs: 200,
    idleCounts: [100, 500],
    abandonCycles: 2000,
    abandonSampleEvery: 100,
    sessionConcurrency: 8,
    settleMs: 200,
    coldStarts: 1,
    discoveryChanges: 6,
    translate: { services: 1000, backends: 100, routes: 100, runs: 2 },
  },
  // Many short windows rather than a few long ones: a burst from a neighbour on the shared machine then
  // spoils one window of one candidate, not a third of its samples.
  full: {
    rounds: 6,
    windowMs: 2000,
    warmupMs: 1500,
    idleCounts: [1000, 10_000],
    abandonCycles: 100_000,
    abandonSampleEvery: 2_000,
    sessionConcurrency: 16,
    settleMs: 1000,
    coldStarts: 3,
    discoveryChanges: 50,
    translate: { services: 10_000, backends: 1000, routes: 1000, runs: 5 },
  },
};

const EXTRA_TOOLS = 16;
const TOOLS_PER_TARGET = 4 + EXTRA_TOOLS;
const BIG_KIB = 64;

function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

async function runTranslate(plan: Plan): Promise<TranslateFigures | { error: string }> {
  const t = plan.translate;
  try {
    const out = execFileSync(
      process.execPath,
      [
        '--expose-gc',
        '--import',
        'tsx',
        'bench/translate-bench.ts',
        '--services',
        String(t.services),
        '--backends',
        String(t.backends),
        '--routes',
        String(t.routes),
        '--runs',
        String(t.runs),
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return JSON.parse(out.trim().split('\n').at(-1)!) as TranslateFigures | { error: string };
  } catch (err) {
    return { error: (err as Error).message.split('\n')[0]! };
  }
}

/** Checks the candidate answers MCP at all before load is thrown at it. */
async function usable(
  name: string,
  start: () => Promise<Running>,
  notes: string[],
): Promise<Running | undefined> {
  try {
    return await start();
  } catch (err) {
    const lines = (err as Error).message.split('\n');
    const cause = lines.find((l) => /Error|error:/.test(l))?.trim() ?? lines.slice(0, 3).join(' / ');
    notes.push(`${name} could not be started: ${lines[0]} ${cause === lines[0] ? '' : cause}`.trim());
    log(notes.at(-1)!);
    return undefined;
  }
}

async function startProxies(
  [t1, t2, t3]: RunningUpstream[],
  notes: string[],
): Promise<{ nginx?: Running; mcplane?: Running; uncached?: Running }> {
  const nginxBinary = findNginx(!flags['no-install']);
  if (!nginxBinary.path) notes.push(`nginx skipped: ${nginxBinary.reason}.`);
  const nginx = nginxBinary.path
    ? await usable('nginx', () => startNginx(nginxBinary.path!, t1!.port), notes)
    : undefined;
  if (flags['skip-mcplane']) notes.push('mcplane skipped (--skip-mcplane).');
  else if (!mcplaneMode()) notes.push('mcplane skipped: src/main.ts does not exist yet.');
  if (flags['skip-mcplane'] || !mcplaneMode()) return { nginx };
  const [one, three] = [await freePort(), await freePort()];
  const backends = [
    { name: 'one', listenerPort: one, targets: [{ name: 'one', port: t1!.port }] },
    {
      name: 'three',
      listenerPort: three,
      targets: [t1!, t2!, t3!].map((u) => ({ name: u.name, port: u.port })),
    },
  ];
  const profile = flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(ROOT, 'bench/results')}`] : [];
  const mcplane = await usable('mcplane', () => startMcplane(backends, profile), notes);
  // The same merge with every list fanned out, to show what the session's kept lists save.
  const uncached =
    mcplane && wanted('list-fanout')
      ? await usable(
          'mcplane --list-cache=false',
          async () => {
            const port = await freePort();
            const fanout = [{ ...backends[1]!, listenerPort: port }];
            return startMcplane(fanout, [], ['--list-cache=false']);
          },
          notes,
        )
      : undefined;
  return { nginx, mcplane, uncached };
}

async function dataPlane(
  plan: Plan,
  upstreams: RunningUpstream[],
  notes: string[],
): Promise<{ scenarios: Scenario[]; mcplaneUp: boolean }> {
  const { nginx, mcplane, uncached } = await startProxies(upstreams, notes);
  const single: Contender[] = [
    { name: 'direct', url: upstreams[0]!.urls[0]! },
    ...(nginx ? [{ name: 'nginx', url: nginx.urls[0]!, pids: nginx.pids }] : []),
    ...(mcplane ? [{ name: 'mcplane', url: mcplane.urls[0]!, pids: mcplane.pids }] : []),
    // The same gateway and target, a 2026-07-28 client: no session, mcplane's own upstream session.
    ...(mcplane ? [{ name: MODERN_CLIENT, url: mcplane.urls[0]!, pids: mcplane.pids, modern: true }] : []),
  ];
  // Each candidate is checked against the tool count it should list: 20 per target, 60 merged.
  const fanout: Contender[] = upstreams.map((u) => ({ name: `direct ${u.name}`, url: u.urls[0]! }));
  // The merged candidates' sessions open their GET stream first, as SDK clients do: that is what
  // lets mcplane keep a target's list (it would hear the target's list_changed).
  const merged = listOperation(3 * TOOLS_PER_TARGET);
  if (mcplane) {
    fanout.push(
      { name: 'mcplane (1 target)', url: mcplane.urls[0]!, pids: mcplane.pids },
      {
        name: 'mcplane (3 targets)',
        url: mcplane.urls[1]!,
        pids: mcplane.pids,
        operation: merged,
        listen: true,
      },
    );
  }
  if (uncached) {
    fanout.push({
      name: UNCACHED,
      url: uncached.urls[0]!,
      pids: uncached.pids,
      operation: merged,
      listen: true,
    });
  }
  const scenarios: Scenario[] = [];
  const measure = async (
    id: (typeof PARTS)[number],
    title: string,
    who: Contender[],
    op: Operation,
    concurrency: number,
  ) => {
    if (wanted(id)) scenarios.push(await measureScenario(id, title, who, op, concurrency, plan, log));
  };
  try {
    await measure('echo-c1', 'tools/call echo, concurrency 1', single, echoOperation(), 1);
    await measure('echo-c32', 'tools/call echo, concurrency 32', single, echoOperation(), 32);
    const bigTitle = `tools/call big (${BIG_KIB} KiB result), concurrency 8`;
    await measure('big-c8', bigTitle, single, bigOperation(BIG_KIB), 8);
    const listTitle = 'tools/list, concurrency 1: each target direct vs mcplane merging three';
    await measure('list-fanout', listTitle, fanout, listOperation(TOOLS_PER_TARGET), 1);
  } finally {
    await uncached?.stop();
    await mcplane?.stop();
    await nginx?.stop();
  }
  return { scenarios, mcplaneUp: mcplane !== undefined };
}

/** Memory and cold start: each on fresh mcplane processes. */
async function mcplanePhases(
  plan: Plan,
  upstreamPort: number,
  notes: string[],
): Promise<{
  memory?: MemoryFigures;
  coldStartMs?: number[];
  discoveryLag?: DiscoveryLagFigures | { error: string };
}> {
  let memory: MemoryFigures | undefined;
  let coldStartMs: number[] | undefined;
  let discoveryLag: DiscoveryLagFigures | { error: string } | undefined;
  if (flags['skip-memory']) notes.push('memory phase skipped (--skip-memory).');
  else if (!wanted('memory')) notes.push('memory phase skipped (--only).');
  else {
    try {
      // Its own lean upstream: the SDK holds ~30–90 KiB per session, so keep it capped and tool-light.
      const lean = await startUpstream({
        name: 'memory',
        extraTools: 0,
        sse: flags.sse,
        maxSessions: 12_000,
      });
      try {
        memory = await measureMemory(() => freshMcplane(lean.port), plan, log);
      } finally {
        await lean.stop();
      }
    } catch (err) {
      notes.push(`memory phase failed: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (wanted('cold-start')) {
    try {
      log('cold start');
      coldStartMs = await measureColdStarts(upstreamPort, plan.coldStarts);
    } catch (err) {
      notes.push(`cold start failed: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (wanted('discovery')) {
    log('discovery lag');
    try {
      discoveryLag = await measureDiscoveryLag(upstreamPort, plan.discoveryChanges, log);
    } catch (err) {
      discoveryLag = { error: (err as Error).message.split('\n')[0]! };
    }
  }
  return { memory, coldStartMs, discoveryLag };
}

/** Errors from a baseline mean the harness or the upstream is broken, not the gateway. */
function baselineErrors(scenarios: readonly Scenario[]): string[] {
  return scenarios.flatMap((s) =>
    s.measurements
      .filter((m) => (m.candidate.startsWith('direct') || m.candidate === 'nginx') && m.errors > 0)
      .map((m) => `${s.title}: baseline ${m.candidate} had ${m.errors} errors: ${m.problems.join('; ')}`),
  );
}

async function writeResults(results: Results): Promise<void> {
  const markdown = toMarkdown(results);
  process.stdout.write(`${markdown}\n`);
  const dir = join(ROOT, 'bench/results');
  await mkdir(dir, { recursive: true });
  const stamp = `${results.startedAt.replaceAll(':', '-').replace(/\..*$/, '')}-${results.mode}`;
  await writeFile(join(dir, `${stamp}.md`), markdown);
  await writeFile(join(dir, `${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
  log(`written bench/results/${stamp}.{md,json}`);
}

/** The commit measured, `+dirty` when src/ has uncommitted changes (read-only git calls). */
function sourceVersion(): string {
  try {
    const git = (args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    return `${git(['rev-parse', '--short', 'HEAD'])}${git(['status', '--porcelain', 'src']) ? '+dirty' : ''}`;
  } catch {
    return 'unknown';
  }
}

/** Share of the machine's CPU that processes other than ours used during the run (0–1). */
function othersShare(machineBefore: number, ownBefore: number, wallBefore: bigint): number {
  const capacity = (Number(process.hrtime.bigint() - wallBefore) / 1000) * cpus().length;
  const others = machineBusyMicros() - machineBefore - (ownTreeMicros() - ownBefore);
  return Math.max(0, others / capacity);
}

async function main(): Promise<number> {
  installCleanup();
  const mode = flags.quick ? 'quick' : 'full';
  const plan = PLANS[mode];
  const startedAt = new Date().toISOString();
  const notes: string[] = [];
  const [machineBefore, ownBefore, wallBefore] = [
    machineBusyMicros(),
    ownTreeMicros(),
    process.hrtime.bigint(),
  ];
  log(`${mode} run, started ${startedAt}`);
  if (!flags['skip-mcplane']) useMcplaneEntry(await prepareMcplane());

  const upstreams = await Promise.all(
    ['one', 'two', 'three'].map((name) =>
      startUpstream({ name, extraTools: EXTRA_TOOLS, sse: flags.sse, maxSessions: 20_000 }),
    ),
  );
  const unsound = await selfCheck(upstreams[0]!.urls[0]!);
  if (unsound.length > 0) throw new Error(`the harness failed its self-check:\n  ${unsound.join('\n  ')}`);
  log('self-check passed');
  const { scenarios, mcplaneUp } = await dataPlane(plan, upstreams, notes);
  const harnessErrors = baselineErrors(scenarios);
  const { memory, coldStartMs, discoveryLag } = mcplaneUp
    ? await mcplanePhases(plan, upstreams[0]!.port, notes)
    : {};
  await Promise.all(upstreams.map((u) => u.stop()));
  await stopAll();

  let translate: Awaited<ReturnType<typeof runTranslate>> | undefined;
  if (wanted('translate')) {
    log('translate()');
    translate = await runTranslate(plan);
  }
  if (mode === 'quick') {
    notes.push(
      'Quick mode: tiny windows and counts, so the figures say the harness works, not how fast anything is.',
    );
  }
  const figures = {
    startedAt,
    mode,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      node: process.versions.node,
      memGiB: Math.round(totalmem() / 1024 ** 3),
      othersShare: othersShare(machineBefore, ownBefore, wallBefore),
    },
    settings: {
      commit: sourceVersion(),
      rounds: plan.rounds,
      windowMs: plan.windowMs,
      upstreamResponses: flags.sse ? 'SSE' : 'JSON',
      toolsPerTarget: TOOLS_PER_TARGET,
      idleCounts: plan.idleCounts,
      abandonCycles: plan.abandonCycles,
    },
    notes,
    scenarios,
    memory,
    translate,
    coldStartMs,
    discoveryLag,
    mcplaneMode: mcplaneUp ? mcplaneMode() : undefined,
  } satisfies Omit<Results, 'budgets'>;
  const results: Results = { ...figures, budgets: checkBudgets(figures) };
  await writeResults(results);

  for (const e of harnessErrors) log(`harness error: ${e}`);
  if (harnessErrors.length > 0) return 1;
  if (flags.strict && results.budgets.some((b) => b.pass === false)) return 1;
  return 0;
}

main()
  .then(async (code) => {
    await stopAll();
    process.exit(code);
  })
  .catch(async (err: unknown) => {
    log(`failed: ${(err as Error).stack ?? String(err)}`);
    await stopAll();
    process.exit(1);
  });
