/**
 * Session ramp: clients arrive at a fixed rate, each initializes through mcplane's three-target listener
 * (initialize fans out to three upstreams), lists tools (a three-way fan-out too), then calls a tool
 * every `callIntervalMs`, until `target` sessions are live; then every session keeps calling for
 * `holdMs`. Everything is open loop on a precomputed schedule: arrival i is due at i / rate, a
 * session's calls at its own phase within the interval (spread evenly, so the call rate is live
 * sessions / interval at every moment), and each is timed from when it was due.
 *
 * The upstreams are lean (lean-upstream.ts): the SDK upstream holds ~30–90 KiB per session and would
 * give out long before mcplane. mcplane runs with `--max-sessions` above the target, so every session
 * stays in its memory (the default 10,000 would keep the newest ones and reopen the rest from their
 * sealed ids on each call). Sessions are headers, not connections: every session shares one pool of
 * keep-alive connections, far below the file-descriptor limit and mcplane's per-client connection cap.
 *
 * Added latency: a few sessions opened directly on the upstreams make calls at a fixed rate throughout
 * the run, on the same schedule and through the same generator; a stretch's p99 added is the p99 of
 * its mcplane calls minus the p99 of its direct calls. The cost of one new session (initialize,
 * fanned out to three targets, and `notifications/initialized`) is measured on its own, closed loop,
 * before the ramp and again at the top with the calls stopped: mcplane CPU per session from /proc.
 */

import { startMcplane } from './candidates.js';
import { LEAN_TOOLS, startLeanUpstream } from './lean-upstream.js';
import { McpWire, percentile, type Session } from './load.js';
import { fmt, judge } from './open-loop.js';
import { cpuMicros, freePort, machineBusyMicros, rssKiB, totalCpuMicros } from './proc.js';
import type { Budget } from './report.js';

export interface RampPlan {
  /** Live sessions to reach. */
  readonly target: number;
  readonly arrivalsPerSecond: number;
  /** Each live session calls a tool this often. */
  readonly callIntervalMs: number;
  /** Live-session counts at which a stretch of the report ends. */
  readonly milestones: readonly number[];
  /** Calls keep going this long after the target is reached (the last stretch). */
  readonly holdMs: number;
  /** Keep-alive connections to mcplane, shared by every session. */
  readonly connections: number;
  /** Calls per second straight to the upstreams, the baseline for added latency. */
  readonly directRate: number;
  /** Sessions opened (closed loop) to measure what a new one costs, before the ramp and at the top. */
  readonly probeSessions: number;
  /** Sessions opened first on the fresh process, so the probe reads compiled code, not the compiler. */
  readonly warmupSessions: number;
  readonly probeConcurrency: number;
  /** How long the last answers may take once the schedule ends. */
  readonly drainMs: number;
}

export const RAMP_PLANS: Record<'quick' | 'full', RampPlan> = {
  quick: {
    target: 200,
    arrivalsPerSecond: 50,
    callIntervalMs: 2000,
    milestones: [100, 200],
    holdMs: 2000,
    connections: 16,
    directRate: 50,
    probeSessions: 100,
    warmupSessions: 100,
    probeConcurrency: 4,
    drainMs: 5000,
  },
  // 50,000 sessions calling every 10 s would be 5,000 calls/s: ~1.2 cores of mcplane alone at ~235 µs
  // a call through three targets, more than two shared cores hold beside the arrivals (~2.3 ms each
  // with their list: ~0.46 core at 200/s), the upstreams and the generator. A call a minute (833/s,
  // ~0.2 core) keeps mcplane near two thirds of a core; the hold lets every session call once.
  full: {
    target: 50_000,
    arrivalsPerSecond: 200,
    callIntervalMs: 60_000,
    milestones: [1000, 5000, 10_000, 25_000, 50_000],
    holdMs: 60_000,
    connections: 64,
    directRate: 100,
    probeSessions: 1000,
    warmupSessions: 5000,
    probeConcurrency: 4,
    drainMs: 10_000,
  },
};

/** Budgets (bench/README.md, Session ramp). */
export const RAMP_LIMITS = { errorShare: 0.001, rssMiB: 1024, addedP99Ms: 5, sessionCpuUs: 1500 } as const;

export interface RampStretch {
  /** Live sessions at its end (`hold` for the stretch after the target was reached). */
  readonly upTo: number;
  readonly hold: boolean;
  readonly seconds: number;
  readonly arrivals: number;
  readonly arrivalErrors: number;
  /** initialize through mcplane, from its scheduled time. */
  readonly initP50Ms: number;
  readonly initP99Ms: number;
  readonly calls: number;
  readonly callErrors: number;
  readonly callP50Ms: number;
  readonly callP99Ms: number;
  readonly directCalls: number;
  readonly directErrors: number;
  readonly directP99Ms: number;
  /** The generator's own lateness sending (p99 over everything it sent in the stretch). */
  readonly sendLagP99Ms: number;
  /** CPU over the stretch in cores: mcplane, the three upstreams, this load generator, the machine. */
  readonly mcplaneCores: number;
  readonly upstreamCores: number;
  readonly generatorCores: number;
  readonly machineCores: number;
  readonly rssKiB: number;
}

export interface SessionCost {
  /** Live sessions when measured. */
  readonly live: number;
  readonly sessions: number;
  readonly failures: number;
  readonly cpuUsPerSession: number;
  readonly initP50Ms: number;
  readonly initP99Ms: number;
}

export interface RampFigures {
  readonly plan: RampPlan;
  readonly stretches: RampStretch[];
  readonly reached: number;
  readonly maxRssKiB: number;
  readonly baselineRssKiB: number;
  readonly costs: SessionCost[];
  readonly problems: readonly string[];
  readonly totals: { readonly requests: number; readonly errors: number };
}

/** A binary min-heap of (due time, session), the order calls are sent in. */
class DueHeap {
  readonly #due: number[] = [];
  readonly #who: number[] = [];

  get size(): number {
    return this.#due.length;
  }

  peek(): number {
    return this.#due[0] ?? Number.POSITIVE_INFINITY;
  }

  push(due: number, who: number): void {
    let i = this.#due.length;
    this.#due.push(due);
    this.#who.push(who);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#due[parent]! <= due) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  pop(): [number, number] {
    const top: [number, number] = [this.#due[0]!, this.#who[0]!];
    const lastDue = this.#due.pop()!;
    const lastWho = this.#who.pop()!;
    if (this.#due.length > 0) {
      this.#due[0] = lastDue;
      this.#who[0] = lastWho;
      let i = 0;
      for (;;) {
        const [l, r] = [2 * i + 1, 2 * i + 2];
        let least = i;
        if (l < this.#due.length && this.#due[l]! < this.#due[least]!) least = l;
        if (r < this.#due.length && this.#due[r]! < this.#due[least]!) least = r;
        if (least === i) break;
        this.#swap(i, least);
        i = least;
      }
    }
    return top;
  }

  #swap(a: number, b: number): void {
    [this.#due[a], this.#due[b]] = [this.#due[b]!, this.#due[a]!];
    [this.#who[a], this.#who[b]] = [this.#who[b]!, this.#who[a]!];
  }
}

const TARGETS = ['one', 'two', 'three'];

/** One `tools/call` of an echo tool; throws unless it answered `Echo: <message>`. */
async function callEcho(wire: McpWire, session: Session, tool: string, message: string): Promise<void> {
  const reply = await wire.rpc(session, 'tools/call', { name: tool, arguments: { message } });
  const problem = judge(reply, (result: unknown) => {
    const text = (result as { content?: { text?: string }[] })?.content?.[0]?.text;
    return text === `Echo: ${message}` ? undefined : `echo returned ${JSON.stringify(result).slice(0, 200)}`;
  });
  if (problem) throw new Error(problem);
}

function listCheck(expected: number) {
  return (result: unknown) => {
    const tools = (result as { tools?: unknown[] })?.tools;
    return Array.isArray(tools) && tools.length === expected
      ? undefined
      : `tools/list gave ${Array.isArray(tools) ? tools.length : JSON.stringify(result).slice(0, 200)}, not ${expected}`;
  };
}

/** Open `count` sessions closed loop and charge mcplane's CPU to them. */
async function sessionCost(url: string, pid: number, live: number, plan: RampPlan): Promise<SessionCost> {
  const wire = new McpWire(url, plan.probeConcurrency);
  const latencies: number[] = [];
  let failures = 0;
  let started = 0;
  try {
    const cpuBefore = cpuMicros(pid);
    await Promise.all(
      Array.from({ length: plan.probeConcurrency }, async () => {
        while (started < plan.probeSessions) {
          started++;
          const t0 = performance.now();
          try {
            await wire.open('ramp-probe');
            latencies.push(performance.now() - t0);
          } catch {
            failures++;
          }
        }
      }),
    );
    const cpuUs = cpuMicros(pid) - cpuBefore;
    const sorted = Float64Array.from(latencies).sort();
    return {
      live,
      sessions: plan.probeSessions,
      failures,
      cpuUsPerSession: cpuUs / plan.probeSessions,
      initP50Ms: percentile(sorted, 50),
      initP99Ms: percentile(sorted, 99),
    };
  } finally {
    await wire.close();
  }
}

interface CpuReading {
  readonly mcplane: number;
  readonly upstreams: number;
  readonly generator: number;
  readonly machine: number;
}

function cores(before: CpuReading, after: CpuReading, seconds: number) {
  const share = (key: keyof CpuReading) => (seconds > 0 ? (after[key] - before[key]) / 1e6 / seconds : 0);
  return {
    mcplaneCores: share('mcplane'),
    upstreamCores: share('upstreams'),
    generatorCores: share('generator'),
    machineCores: share('machine'),
  };
}

class Stretch {
  readonly init: number[] = [];
  readonly calls: number[] = [];
  readonly direct: number[] = [];
  readonly lags: number[] = [];
  arrivals = 0;
  arrivalErrors = 0;
  callErrors = 0;
  directErrors = 0;
  readonly started = performance.now();

  constructor(readonly cpuBefore: CpuReading) {}

  close(upTo: number, hold: boolean, cpuAfter: CpuReading, rss: number): RampStretch {
    const p = (values: number[], q: number) => percentile(Float64Array.from(values).sort(), q);
    const seconds = (performance.now() - this.started) / 1000;
    return {
      upTo,
      hold,
      seconds,
      arrivals: this.arrivals,
      arrivalErrors: this.arrivalErrors,
      initP50Ms: p(this.init, 50),
      initP99Ms: p(this.init, 99),
      calls: this.calls.length + this.callErrors,
      callErrors: this.callErrors,
      callP50Ms: p(this.calls, 50),
      callP99Ms: p(this.calls, 99),
      directCalls: this.direct.length + this.directErrors,
      directErrors: this.directErrors,
      directP99Ms: p(this.direct, 99),
      sendLagP99Ms: p(this.lags, 99),
      ...cores(this.cpuBefore, cpuAfter, seconds),
      rssKiB: rss,
    };
  }
}

export async function measureRamp(plan: RampPlan, log: (line: string) => void): Promise<RampFigures> {
  // Upstream sessions: one per target per mcplane session, plus the probes', warm-ups' and direct ones.
  const room = plan.target + plan.warmupSessions + 2 * plan.probeSessions + 1000;
  const upstreams = await Promise.all(TARGETS.map((name) => startLeanUpstream(name, room)));
  const listenerPort = await freePort();
  const mcplane = await startMcplane(
    [
      {
        name: 'three',
        listenerPort,
        targets: upstreams.map((u) => ({ name: u.name, port: u.port })),
      },
    ],
    [],
    ['--max-sessions', String(room)],
  );
  const url = mcplane.urls[0]!;
  const wire = new McpWire(url, plan.connections);
  const directWire = upstreams.map((u) => new McpWire(u.urls[0]!, 4));
  const cpuNow = (): CpuReading => {
    const own = process.cpuUsage();
    return {
      mcplane: cpuMicros(mcplane.pid),
      upstreams: totalCpuMicros(upstreams.flatMap((u) => u.pids())),
      generator: own.user + own.system,
      machine: machineBusyMicros(),
    };
  };
  const problems = new Set<string>();
  const note = (problem: string) => {
    if (problems.size < 8) problems.add(problem);
  };
  try {
    // Warm up (JIT), then what a new session costs on a fresh process.
    // The optimizing compiler's threads count in mcplane's CPU: warm up before measuring.
    const warm = await sessionCost(url, mcplane.pid, 0, { ...plan, probeSessions: plan.warmupSessions });
    if (warm.failures > 0) throw new Error(`mcplane refused the warm-up sessions (${warm.failures} failed)`);
    const costs = [await sessionCost(url, mcplane.pid, 0, plan)];
    log(
      `ramp: a new session costs ${fmt(costs[0]!.cpuUsPerSession)} µs of mcplane CPU, initialize p50 ${fmt(costs[0]!.initP50Ms, 2)} ms`,
    );
    const baselineRssKiB = rssKiB(mcplane.pid);
    const directSessions = await Promise.all(
      directWire.flatMap((w) => [w.open('ramp-direct'), w.open('ramp-direct')]),
    );

    const sessions: Session[] = [];
    const heap = new DueHeap();
    const stretches: RampStretch[] = [];
    const milestones = [...plan.milestones.filter((m) => m < plan.target), plan.target];
    let stretch = new Stretch(cpuNow());
    let maxRssKiB = baselineRssKiB;
    let live = 0;
    let nextArrival = 0;
    let nextDirect = 0;
    let inFlight = 0;
    let holdUntil = Number.POSITIVE_INFINITY;
    let requests = 0;
    let errors = 0;
    const start = performance.now() + 5;
    const arrivalDue = (i: number) => start + (i * 1000) / plan.arrivalsPerSecond;
    const directDue = (i: number) => start + (i * 1000) / plan.directRate;
    // Golden-ratio phases: a session's calls fall evenly across the interval, whatever its number.
    const phase = (i: number) => ((i * 0.6180339887) % 1) * plan.callIntervalMs;

    const closeStretch = (upTo: number, hold: boolean) => {
      const rss = rssKiB(mcplane.pid);
      maxRssKiB = Math.max(maxRssKiB, rss);
      const cpu = cpuNow();
      const done = stretch.close(upTo, hold, cpu, rss);
      stretches.push(done);
      stretch = new Stretch(cpu);
      log(
        `ramp: ${hold ? `held ${fmt(upTo)}` : fmt(upTo)} live sessions, ${fmt(done.calls)} calls p99 ${fmt(done.callP99Ms, 2)} ms (direct ${fmt(done.directP99Ms, 2)}), ` +
          `${done.arrivalErrors + done.callErrors} errors, RSS ${fmt(rss / 1024, 1)} MiB, cores: mcplane ${fmt(done.mcplaneCores, 2)}, ` +
          `upstreams ${fmt(done.upstreamCores, 2)}, generator ${fmt(done.generatorCores, 2)}, machine ${fmt(done.machineCores, 2)}`,
      );
    };

    let arriving = 0;
    /** The top is reached (or every arrival has been answered short of it): hold from now. */
    const top = () => {
      if (holdUntil !== Number.POSITIVE_INFINITY) return;
      if (milestones.length > 0) closeStretch(live, false); // short of the target: arrivals failed
      milestones.length = 0;
      holdUntil = performance.now() + plan.holdMs;
    };

    const arrive = async (i: number, due: number) => {
      requests++;
      arriving++;
      try {
        const session = await wire.open(`ramp-${i}`);
        const initMs = performance.now() - due;
        const list = await wire.rpc(session, 'tools/list', {});
        const problem = judge(list, listCheck(TARGETS.length * LEAN_TOOLS));
        if (problem) throw new Error(problem);
        sessions[i] = session;
        heap.push(Math.max(due, performance.now()) + phase(i), i);
        stretch.init.push(initMs);
        stretch.arrivals++;
        live++;
        if (live === milestones[0]) {
          milestones.shift();
          closeStretch(live, false);
        }
      } catch (err) {
        stretch.arrivals++;
        stretch.arrivalErrors++;
        errors++;
        note(`arrival: ${(err as Error).message.slice(0, 200)}`);
      }
      arriving--;
      if (nextArrival >= plan.target && arriving === 0) top();
    };

    const call = async (who: number, due: number) => {
      const message = `r${who}-${Math.round(due)}`;
      requests++;
      try {
        await callEcho(wire, sessions[who]!, `${TARGETS[who % TARGETS.length]}_echo`, message);
        stretch.calls.push(performance.now() - due);
      } catch (err) {
        stretch.callErrors++;
        errors++;
        note(`call: ${(err as Error).message.slice(0, 200)}`);
      }
    };

    const directCall = async (i: number, due: number) => {
      const k = i % directSessions.length;
      const message = `d${i}`;
      try {
        await callEcho(directWire[k >> 1]!, directSessions[k]!, 'echo', message);
        stretch.direct.push(performance.now() - due);
      } catch (err) {
        stretch.directErrors++;
        note(`direct call: ${(err as Error).message.slice(0, 200)}`);
      }
    };

    const track = (work: Promise<void>) => {
      inFlight++;
      void work.finally(() => inFlight--);
    };

    log(
      `ramp: ${fmt(plan.arrivalsPerSecond)} new sessions/s up to ${fmt(plan.target)}, a call per session every ${fmt(plan.callIntervalMs / 1000, 1)} s`,
    );
    let lastRss = performance.now();
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        const stopping = now >= holdUntil;
        while (nextArrival < plan.target && arrivalDue(nextArrival) <= now) {
          const due = arrivalDue(nextArrival);
          stretch.lags.push(now - due);
          track(arrive(nextArrival++, due));
        }
        while (!stopping && heap.peek() <= now) {
          const [due, who] = heap.pop();
          stretch.lags.push(now - due);
          heap.push(due + plan.callIntervalMs, who);
          track(call(who, due));
        }
        while (!stopping && directDue(nextDirect) <= now) {
          const due = directDue(nextDirect);
          stretch.lags.push(now - due);
          track(directCall(nextDirect++, due));
        }
        if (now - lastRss >= 1000) {
          maxRssKiB = Math.max(maxRssKiB, rssKiB(mcplane.pid));
          lastRss = now;
        }
        if (stopping) return resolve();
        const next = Math.min(
          nextArrival < plan.target ? arrivalDue(nextArrival) : Number.POSITIVE_INFINITY,
          heap.peek(),
          directDue(nextDirect),
          holdUntil,
        );
        setTimeout(tick, Math.max(0, next - now - 0.5));
      };
      setTimeout(tick, 1);
    });
    // The last answers, then the hold's stretch.
    const drainDeadline = performance.now() + plan.drainMs;
    while (inFlight > 0 && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 10));
    if (inFlight > 0) {
      errors += inFlight;
      stretch.callErrors += inFlight;
      note(`${inFlight} requests unanswered ${plan.drainMs} ms after the schedule ended`);
    }
    closeStretch(live, true);

    // What a new session costs with every session live (calls stopped).
    const full = await sessionCost(url, mcplane.pid, live, plan);
    costs.push(full);
    log(
      `ramp: at ${fmt(live)} live sessions a new one costs ${fmt(full.cpuUsPerSession)} µs, initialize p50 ${fmt(full.initP50Ms, 2)} ms`,
    );
    maxRssKiB = Math.max(maxRssKiB, rssKiB(mcplane.pid));
    return {
      plan,
      stretches,
      reached: live,
      maxRssKiB,
      baselineRssKiB,
      costs,
      problems: [...problems],
      totals: { requests, errors },
    };
  } finally {
    await wire.close();
    await Promise.all(directWire.map((w) => w.close()));
    await mcplane.stop();
    await Promise.all(upstreams.map((u) => u.stop()));
  }
}

// ---------------------------------------------------------------------------------------------
// Budgets and report

/** The worst added p99 over the stretches that had calls. */
function worstAdded(r: RampFigures): { added: number; at: RampStretch } | undefined {
  let worst: { added: number; at: RampStretch } | undefined;
  for (const s of r.stretches) {
    const added = s.callP99Ms - s.directP99Ms;
    if (Number.isFinite(added) && (!worst || added > worst.added)) worst = { added, at: s };
  }
  return worst;
}

const at = (s: RampStretch) => (s.hold ? `holding ${fmt(s.upTo)}` : `up to ${fmt(s.upTo)}`);

export function rampBudgets(r: RampFigures | undefined): Budget[] {
  const target = r ? fmt(r.plan.target) : '50,000';
  const names = {
    errors: `session ramp to ${target}: errors (arrivals and calls)`,
    rss: `session ramp to ${target}: mcplane RSS`,
    added: `session ramp to ${target}: added p99 latency of the calls (worst stretch)`,
    cost: 'a new session through 3 targets: mcplane CPU (worst of fresh and at the top)',
  };
  const limits = {
    errors: `< ${RAMP_LIMITS.errorShare * 100} %`,
    rss: `≤ ${fmt(RAMP_LIMITS.rssMiB / 1024)} GiB`,
    added: `≤ ${RAMP_LIMITS.addedP99Ms} ms`,
    cost: `≤ ${fmt(RAMP_LIMITS.sessionCpuUs / 1000, 1)} ms`,
  };
  if (!r) {
    return (Object.keys(names) as (keyof typeof names)[]).map((k) => ({
      name: names[k],
      figure: 'not measured',
      limit: limits[k],
      pass: undefined,
    }));
  }
  const short = r.reached < r.plan.target ? ` (reached ${fmt(r.reached)} of ${fmt(r.plan.target)})` : '';
  const share = r.totals.requests > 0 ? r.totals.errors / r.totals.requests : Number.NaN;
  const worst = worstAdded(r);
  const cost = r.costs.reduce<SessionCost | undefined>(
    (w, c) => (!w || c.cpuUsPerSession > w.cpuUsPerSession ? c : w),
    undefined,
  );
  return [
    {
      name: names.errors,
      figure: `${fmt(share * 100, 3)} % (${fmt(r.totals.errors)} of ${fmt(r.totals.requests)})${short}`,
      limit: limits.errors,
      pass: Number.isFinite(share) && share < RAMP_LIMITS.errorShare && r.reached === r.plan.target,
    },
    {
      name: names.rss,
      figure: `${fmt(r.maxRssKiB / 1024, 1)} MiB at most (fresh ${fmt(r.baselineRssKiB / 1024, 1)} MiB)${short}`,
      limit: limits.rss,
      pass: r.maxRssKiB / 1024 <= RAMP_LIMITS.rssMiB,
    },
    worst
      ? {
          name: names.added,
          figure: `${fmt(worst.added, 2)} ms ${at(worst.at)} (${fmt(worst.at.callP99Ms, 2)} vs direct ${fmt(worst.at.directP99Ms, 2)}), a call every ${fmt(r.plan.callIntervalMs / 1000, 1)} s per session`,
          limit: limits.added,
          pass: worst.added <= RAMP_LIMITS.addedP99Ms,
        }
      : { name: names.added, figure: 'no calls measured', limit: limits.added, pass: undefined },
    cost
      ? {
          name: names.cost,
          figure: `${fmt(cost.cpuUsPerSession)} µs at ${fmt(cost.live)} live (initialize p50 ${fmt(cost.initP50Ms, 2)} ms, p99 ${fmt(cost.initP99Ms, 2)} ms); ${r.costs.map((c) => `${fmt(c.cpuUsPerSession)} µs at ${fmt(c.live)}`).join(', ')}`,
          limit: limits.cost,
          pass: cost.failures === 0 && cost.cpuUsPerSession <= RAMP_LIMITS.sessionCpuUs,
        }
      : { name: names.cost, figure: 'not measured', limit: limits.cost, pass: undefined },
  ];
}

export function rampMarkdown(r: RampFigures | undefined): string[] {
  if (!r) return [];
  const p = r.plan;
  const out = [
    '## Session ramp (three-target listener)',
    '',
    `${fmt(p.arrivalsPerSecond)} new sessions/s (initialize fanned out to 3 lean upstreams, initialized, tools/list) up to ${fmt(p.target)} live, ` +
      `each calling \`<target>_echo\` every ${fmt(p.callIntervalMs / 1000, 1)} s, then held ${fmt(p.holdMs / 1000, 1)} s; ` +
      `all sessions over ${p.connections} keep-alive connections; ${p.directRate} direct calls/s to the upstreams alongside as the baseline. ` +
      "Latencies from each request's scheduled time; `added` = p99 of the calls minus p99 of the direct calls in the same stretch.",
    '',
    '| live sessions | s | arrivals | initialize p50 / p99 ms | calls | call p50 / p99 ms | direct p99 ms | added p99 ms | send lag p99 ms | errors | cores: mcplane / upstreams / generator / machine | RSS MiB |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const s of r.stretches) {
    out.push(
      `| ${at(s)} | ${fmt(s.seconds, 1)} | ${fmt(s.arrivals)} | ${fmt(s.initP50Ms, 2)} / ${fmt(s.initP99Ms, 2)} | ${fmt(s.calls)} | ${fmt(s.callP50Ms, 2)} / ${fmt(s.callP99Ms, 2)} | ${fmt(s.directP99Ms, 2)} | ${fmt(s.callP99Ms - s.directP99Ms, 2)} | ${fmt(s.sendLagP99Ms, 2)} | ${fmt(s.arrivalErrors + s.callErrors)} | ${[s.mcplaneCores, s.upstreamCores, s.generatorCores, s.machineCores].map((c) => fmt(c, 2)).join(' / ')} | ${fmt(s.rssKiB / 1024, 1)} |`,
    );
  }
  out.push(
    '',
    `Reached ${fmt(r.reached)} live sessions; RSS fresh ${fmt(r.baselineRssKiB / 1024, 1)} MiB, at most ${fmt(r.maxRssKiB / 1024, 1)} MiB ` +
      `(${fmt(((r.maxRssKiB - r.baselineRssKiB) * 1024) / Math.max(1, r.reached) / 1024, 2)} KiB per live session).`,
    '',
    '| a new session (closed loop, c=' +
      p.probeConcurrency +
      ') | sessions | mcplane CPU µs each | initialize p50 ms | p99 ms | failures |',
    '|---|---|---|---|---|---|',
    ...r.costs.map(
      (c) =>
        `| with ${fmt(c.live)} live${c.live > 0 ? ', calls stopped' : ''} | ${fmt(c.sessions)} | ${fmt(c.cpuUsPerSession)} | ${fmt(c.initP50Ms, 2)} | ${fmt(c.initP99Ms, 2)} | ${c.failures} |`,
    ),
    '',
  );
  if (r.problems.length > 0) out.push(`Problems: ${r.problems.join('; ')}`, '');
  return out;
}
