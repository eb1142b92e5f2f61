/**
 * The benchmark: direct vs nginx vs the node relay vs mcplane, side by side in one run (and once more
 * in front of a fast upstream), plus mcplane's memory per session,
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
  startRelay,
  startUpstream,
  useMcplaneEntry,
} from './candidates.js';
import { type DiscoveryLagFigures, measureDiscoveryLag } from './discovery-lag.js';
import { startLeanUpstream } from './lean-upstream.js';
import { bigOperation, echoOperation, listOperation, type Operation } from './load.js';
import { measureMemory } from './memory.js';
import { fmt, measureOpenLoop, OPEN_LOOP_PLANS, type OpenLoopFigures } from './open-loop.js';
import { freePort, installCleanup, machineBusyMicros, ownTreeMicros, stopAll } from './proc.js';
import { measureRamp, RAMP_PLANS, type RampFigures } from './ramp.js';
import { LOG_OFF, type MemoryFigures, RELAY, type Results, type Scenario, toMarkdown } from './report.js';
import { type Contender, measureColdStarts, measureScenario, type Plan } from './scenarios.js';
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
  'fast-c32',
  'list-fanout',
  'open-loop',
  'memory',
  'ramp',
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
    modernClients: 2000,
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
    abandonCycles: 300_000,
    abandonSampleEvery: 10_000,
    modernClients: 100_000,
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
async function usable<T extends Running>(
  name: string,
  start: () => Promise<T>,
  notes: string[],
): Promise<T | undefined> {
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

interface Proxies {
  readonly nginx?: Running;
  readonly relay?: Running;
  /** mcplane at its defaults: listeners `one`, `three` and (fast-c32) `fast`. */
  readonly mcplane?: Running;
  readonly uncached?: Running;
  /** mcplane with the access log off (`--log-level warn`), listener `one` only. */
  readonly logOff?: Running;
  /** nginx and the relay in front of the fast upstream. */
  readonly fastNginx?: Running;
  readonly fastRelay?: Running;
}

async function startProxies(
  [t1, t2, t3]: RunningUpstream[],
  fast: RunningUpstream | undefined,
  notes: string[],
): Promise<Proxies> {
  const nginxBinary = findNginx(!flags['no-install']);
  if (!nginxBinary.path) notes.push(`nginx skipped: ${nginxBinary.reason}.`);
  const nginxFor = async (port: number) =>
    nginxBinary.path ? await usable('nginx', () => startNginx(nginxBinary.path!, port), notes) : undefined;
  const nginx = await nginxFor(t1!.port);
  const onSdk = wanted('echo-c1') || wanted('echo-c32') || wanted('big-c8');
  const relay = onSdk ? await usable(RELAY, () => startRelay(t1!.port), notes) : undefined;
  const fastNginx = fast ? await nginxFor(fast.port) : undefined;
  const fastRelay = fast ? await usable(RELAY, () => startRelay(fast.port), notes) : undefined;
  const baselines = { nginx, relay, fastNginx, fastRelay };
  if (flags['skip-mcplane']) notes.push('mcplane skipped (--skip-mcplane).');
  else if (!mcplaneMode()) notes.push('mcplane skipped: src/main.ts does not exist yet.');
  if (flags['skip-mcplane'] || !mcplaneMode()) return baselines;
  const [one, three] = [await freePort(), await freePort()];
  const backends = [
    { name: 'one', listenerPort: one, targets: [{ name: 'one', port: t1!.port }] },
    {
      name: 'three',
      listenerPort: three,
      targets: [t1!, t2!, t3!].map((u) => ({ name: u.name, port: u.port })),
    },
    ...(fast
      ? [{ name: 'fast', listenerPort: await freePort(), targets: [{ name: 'fast', port: fast.port }] }]
      : []),
  ];
  const profile = flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(ROOT, 'bench/results')}`] : [];
  const mcplane = await usable('mcplane', () => startMcplane(backends, profile), notes);
  // What the access log costs: the same gateway with it off, beside the default (the echo scenarios).
  const logOff =
    mcplane && (wanted('echo-c1') || wanted('echo-c32'))
      ? await usable(
          LOG_OFF,
          async () => {
            const quiet = [{ ...backends[0]!, listenerPort: await freePort() }];
            return startMcplane(quiet, [], ['--log-level', 'warn']);
          },
          notes,
        )
      : undefined;
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
  return { ...baselines, mcplane, uncached, logOff };
}

async function dataPlane(
  plan: Plan,
  upstreams: RunningUpstream[],
  notes: string[],
): Promise<{
  scenarios: Scenario[];
  mcplaneUp: boolean;
  openLoop?: OpenLoopFigures;
  openLoopFast?: OpenLoopFigures;
}> {
  // The fast upstream (canned answers in µs) gets its own nginx and relay, and a listener of mcplane.
  const fast =
    wanted('fast-c32') || wanted('open-loop')
      ? await startUpstream({
          name: 'fast',
          extraTools: EXTRA_TOOLS,
          sse: flags.sse,
          maxSessions: 20_000,
          fast: true,
        })
      : undefined;
  const proxies = await startProxies(upstreams, fast, notes);
  const { nginx, relay, mcplane, uncached, logOff } = proxies;
  const single: Contender[] = [
    { name: 'direct', url: upstreams[0]!.urls[0]! },
    ...(nginx ? [{ name: 'nginx', url: nginx.urls[0]!, pids: nginx.pids }] : []),
    ...(relay ? [{ name: RELAY, url: relay.urls[0]!, pids: relay.pids }] : []),
    ...(mcplane ? [{ name: 'mcplane', url: mcplane.urls[0]!, pids: mcplane.pids }] : []),
    // The same gateway and target, a 2026-07-28 client: no session, mcplane's own upstream session.
    ...(mcplane ? [{ name: MODERN_CLIENT, url: mcplane.urls[0]!, pids: mcplane.pids, modern: true }] : []),
  ];
  // The echo scenarios also measure mcplane with its access log off, just after mcplane at its default.
  // Both echo scenarios, not only c=32, so the log-off process has the same history as mcplane's: in
  // three runs with it at c=32 only, fresh, it read 22–35 % *more* CPU per call than mcplane, which
  // had served the c=1 windows first (about equal when both were fresh).
  const withLogOff: Contender[] = logOff
    ? single.flatMap((c) =>
        c.name === 'mcplane' ? [c, { name: LOG_OFF, url: logOff.urls[0]!, pids: logOff.pids }] : [c],
      )
    : single;
  const { fastNginx, fastRelay } = proxies;
  const fastOnes: Contender[] = fast
    ? [
        { name: 'direct', url: fast.urls[0]! },
        ...(fastNginx ? [{ name: 'nginx', url: fastNginx.urls[0]!, pids: fastNginx.pids }] : []),
        ...(fastRelay ? [{ name: RELAY, url: fastRelay.urls[0]!, pids: fastRelay.pids }] : []),
        ...(mcplane ? [{ name: 'mcplane', url: mcplane.urls[2]!, pids: mcplane.pids }] : []),
      ]
    : [];
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
  let openLoop: OpenLoopFigures | undefined;
  let openLoopFast: OpenLoopFigures | undefined;
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
    await measure('echo-c1', 'tools/call echo, concurrency 1', withLogOff, echoOperation(), 1);
    await measure('echo-c32', 'tools/call echo, concurrency 32', withLogOff, echoOperation(), 32);
    const bigTitle = `tools/call big (${BIG_KIB} KiB result), concurrency 8`;
    await measure('big-c8', bigTitle, single, bigOperation(BIG_KIB), 8);
    const fastTitle = 'tools/call echo, concurrency 32, fast upstream (raw node:http, canned answers)';
    await measure('fast-c32', fastTitle, fastOnes, echoOperation(), 32);
    const listTitle = 'tools/list, concurrency 1: each target direct vs mcplane merging three';
    await measure('list-fanout', listTitle, fanout, listOperation(TOOLS_PER_TARGET), 1);
    if (wanted('open-loop')) {
      // Rates as shares of direct's closed-loop capacity: this run's echo-c32 figure when it has one.
      const c32 = scenarios
        .find((s) => s.id === 'echo-c32')
        ?.measurements.find((m) => m.candidate === 'direct');
      const openPlan = OPEN_LOOP_PLANS[flags.quick ? 'quick' : 'full'];
      openLoop = await measureOpenLoop(single, c32?.callsPerSecond, openPlan, plan.windowMs, log);
      // The same absolute rates in front of the fast upstream: what the gateway adds to the tail
      // when the upstream never stalls (the SDK upstream's pauses decide the figure above).
      if (fastOnes.length > 0) {
        const source = `the SDK upstream's direct capacity above, ${fmt(openLoop.capacity)} calls/s: the same rates`;
        openLoopFast = await measureOpenLoop(
          fastOnes,
          openLoop.capacity,
          openPlan,
          plan.windowMs,
          log,
          source,
        );
      }
    }
  } finally {
    for (const running of [uncached, logOff, mcplane, relay, nginx, fastRelay, fastNginx, fast]) {
      await running?.stop();
    }
  }
  return { scenarios, mcplaneUp: mcplane !== undefined, openLoop, openLoopFast };
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
  ramp?: RampFigures;
}> {
  let memory: MemoryFigures | undefined;
  let ramp: RampFigures | undefined;
  let coldStartMs: number[] | undefined;
  let discoveryLag: DiscoveryLagFigures | { error: string } | undefined;
  if (flags['skip-memory']) notes.push('memory phase skipped (--skip-memory).');
  else if (!wanted('memory')) notes.push('memory phase skipped (--only).');
  else {
    try {
      // Its own lean upstream (lean-upstream.ts): the SDK's costs ~30–90 KiB and far more CPU per session.
      const lean = await startLeanUpstream('memory', 12_000);
      try {
        memory = await measureMemory(lean.port, plan, log);
      } finally {
        await lean.stop();
      }
    } catch (err) {
      notes.push(`memory phase failed: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (wanted('ramp')) {
    try {
      ramp = await measureRamp(RAMP_PLANS[flags.quick ? 'quick' : 'full'], log);
    } catch (err) {
      notes.push(`session ramp failed: ${(err as Error).message.split('\n')[0]}`);
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
  return { memory, coldStartMs, discoveryLag, ramp };
}

/** Errors from a baseline mean the harness or the upstream is broken, not the gateway. */
function baselineErrors(scenarios: readonly Scenario[]): string[] {
  return scenarios.flatMap((s) =>
    s.measurements
      .filter(
        (m) =>
          (m.candidate.startsWith('direct') || m.candidate === 'nginx' || m.candidate === RELAY) &&
          m.errors > 0,
      )
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
  const { scenarios, mcplaneUp, openLoop, openLoopFast } = await dataPlane(plan, upstreams, notes);
  const harnessErrors = baselineErrors(scenarios);
  const { memory, coldStartMs, discoveryLag, ramp } = mcplaneUp
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
      mcplaneLog: 'default (info: access log on, stdout to a file); log-off row with --log-level warn',
      toolsPerTarget: TOOLS_PER_TARGET,
      idleCounts: plan.idleCounts,
      abandonCycles: plan.abandonCycles,
      modernClients: plan.modernClients,
    },
    notes,
    scenarios,
    openLoop,
    openLoopFast,
    memory,
    ramp,
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
