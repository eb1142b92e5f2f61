/**
 * Child processes and what /proc says about them: CPU time (utime+stime) and resident memory.
 * Every child the harness starts is registered here and killed on exit, error or SIGINT.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { createServer } from 'node:net';

const CLOCK_TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime+stime of one process, in microseconds. */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // fields 14 and 15 of the whole line
  return (ticks * 1e6) / CLOCK_TICKS_PER_SECOND;
}

/** Busy CPU time of the whole machine since boot (all cores), µs, from /proc/stat. */
export function machineBusyMicros(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  // cpu user nice system idle iowait irq softirq steal …: everything but idle and iowait is busy.
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const ticks = [user, nice, system, irq, softirq, steal].reduce((a: number, b) => a + (b ?? 0), 0);
  return (ticks * 1e6) / CLOCK_TICKS_PER_SECOND;
}

/** This process plus every child it has reaped (their children included, as they reaped them), µs. */
export function ownTreeMicros(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  return (ticks * 1e6) / CLOCK_TICKS_PER_SECOND;
}

export function totalCpuMicros(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + cpuMicros(pid), 0);
}

/** VmRSS in KiB. */
export function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]);
}

/** Direct children of a process (nginx workers of their master). */
export function childPids(parent: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) out.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

/** A port that was free a moment ago on 127.0.0.1 (for configs that need a number up front). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Children

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** The last lines the child wrote to stderr/stdout, for error messages. */
  readonly tail: () => string;
  readonly exited: Promise<number | null>;
  readonly stop: () => Promise<void>;
}

const children = new Set<Child>();
/** Extra pids to kill at exit (nginx workers, which are not our children). */
const strays = new Set<number>();

export function spawnChild(
  name: string,
  command: string,
  args: readonly string[],
  cwd?: string,
  /** Added to this process's environment. */
  env: Readonly<Record<string, string>> = {},
  /** Append stdout to this file instead of piping it here (a log, as production writes it). */
  stdoutFile?: string,
): Child {
  const out = stdoutFile === undefined ? 'pipe' : openSync(stdoutFile, 'a');
  let proc: ChildProcess;
  try {
    proc = spawn(command, args, { cwd, stdio: ['pipe', out, 'pipe'], env: { ...process.env, ...env } });
  } finally {
    if (typeof out === 'number') closeSync(out);
  }
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  };
  proc.stderr?.on('data', keep);
  proc.stdout?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  if (proc.pid === undefined) throw new Error(`could not start ${name}: ${command}`);
  const child: Child = {
    name,
    process: proc,
    pid: proc.pid,
    tail: () => [...lines, ...(stdoutFile === undefined ? [] : lastLines(stdoutFile))].join('\n'),
    exited,
    stop: async () => {
      children.delete(child);
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
  children.add(child);
  return child;
}

/** The last lines of a log file (for error messages). */
function lastLines(path: string): string[] {
  try {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const tail = Buffer.alloc(Math.min(size, 8192));
      readSync(fd, tail, 0, tail.length, size - tail.length);
      return tail.toString('utf8').split('\n').filter(Boolean).slice(-20);
    } finally {
      closeSync(fd);
    }
  } catch {
    return [];
  }
}

export function trackStray(pid: number): void {
  strays.add(pid);
}

/** Resolve with the first stdout line matching `test` (parsed by the caller), or fail on exit/timeout. */
export function waitForLine(
  child: Child,
  test: (line: string) => boolean,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      const found = lines.find(test);
      if (found !== undefined) finish(() => resolve(found));
    };
    const timer = setTimeout(
      () =>
        finish(() => reject(new Error(`${child.name}: no ready line in ${timeoutMs} ms\n${child.tail()}`))),
      timeoutMs,
    );
    const onExit = (code: number | null) =>
      finish(() => reject(new Error(`${child.name} exited (${code}) before it was ready\n${child.tail()}`)));
    const finish = (then: () => void) => {
      clearTimeout(timer);
      child.process.stdout?.off('data', onData);
      child.process.off('exit', onExit);
      then();
    };
    child.process.stdout?.on('data', onData);
    child.process.once('exit', onExit);
  });
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((child) => child.stop()));
  for (const pid of strays) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  strays.clear();
}

/** Kill every child when the harness ends, however it ends. */
export function installCleanup(): void {
  const hard = () => {
    for (const child of children) child.process.kill('SIGKILL');
    for (const pid of strays) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };
  process.once('exit', hard);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping children\n`);
      void stopAll().finally(() => process.exit(130));
    });
  }
}
