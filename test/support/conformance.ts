/**
 * Run the official MCP conformance suite's server scenarios against a URL (one suite invocation,
 * results written with `-o`) and read back every scenario's checks.
 *
 * Two pinned runners (tools/package.json), both spawned with tools' Node 22:
 * - 0.1.16 (`runConformance`): the 2025 revisions, selected with `--suite active|all`;
 * - 0.2.0-alpha.12 (`runConformanceRequirements`): `--requirements <revision>` runs exactly the frozen
 *   scenario set a revision requires (`server:` in requirements/<revision>.yaml, the scored ones)
 *   plus its `not_scored` entries (extensions, pending), each at that revision's wire: 2025-11-25
 *   with the initialize handshake and sessions, 2026-07-28 stateless with per-request `_meta`.
 * Both write `<out>/server-<scenario>-<ISO time>/checks.json` (an array of checks with `id`,
 * `status` SUCCESS|FAILURE|WARNING|INFO|SKIPPED and `errorMessage`) and exit non-zero when a
 * (scored) scenario fails.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { ROOT } from './process.js';
import { CONFORMANCE, CONFORMANCE_NEXT, CONFORMANCE_NEXT_REQUIREMENTS, NODE22 } from './tools.js';

/** Binds the suite's own test servers (client mode) to 127.0.0.1 instead of every interface. */
const LOOPBACK = join(ROOT, 'examples/servers/loopback.mjs');

const run = promisify(execFile);

export type CheckStatus = 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';

export interface ScenarioResult {
  /** FAILURE if any check failed, else WARNING if any warned, else SUCCESS. */
  readonly outcome: 'SUCCESS' | 'WARNING' | 'FAILURE';
  /** `<check id>=<status>` for every check that is not INFO, sorted: what two runs must agree on. */
  readonly checks: readonly string[];
  /** First failure message, for the table. */
  readonly error?: string;
}

/** The revisions conformance 0.2.0-alpha.12 has frozen requirement sets for. */
export type Revision = '2025-11-25' | '2026-07-28';

/** 0.1.16, 2025 revisions: `--suite active` (default of the suite) or `all` (with pending). */
export async function runConformance(
  url: string,
  suite: 'active' | 'all' = 'all',
): Promise<Map<string, ScenarioResult>> {
  return runSuite(CONFORMANCE, ['server', '--url', url, '--suite', suite]);
}

/** 0.2.0-alpha.12: every scenario `revision` requires (scored) or reports (not scored), at its wire. */
export async function runConformanceRequirements(
  url: string,
  revision: Revision,
): Promise<Map<string, ScenarioResult>> {
  return runSuite(CONFORMANCE_NEXT, ['server', '--url', url, '--requirements', revision]);
}

/** The server scenarios `revision` scores (its frozen `server:` list), in the file's order. */
export async function scoredServerScenarios(revision: Revision): Promise<string[]> {
  const text = await readFile(join(CONFORMANCE_NEXT_REQUIREMENTS, `${revision}.yaml`), 'utf8');
  return (parse(text) as { server: string[] }).server;
}

/**
 * 0.2.0-alpha.12's client mode, one scenario at `specVersion`: the suite starts the scenario's test
 * server (bound to 127.0.0.1 by the loopback preload) and runs `command` with its URL appended.
 */
export async function runClientScenario(
  command: string,
  scenario: string,
  specVersion: Revision,
  env: Readonly<Record<string, string>>,
): Promise<ScenarioResult> {
  const args = ['client', '--command', command, '--scenario', scenario, '--spec-version', specVersion];
  const results = await runSuite(CONFORMANCE_NEXT, args, {
    nodeArgs: ['--import', LOOPBACK],
    env: { ...process.env, ...env },
    prefix: '',
  });
  return results.get(scenario) ?? { outcome: 'FAILURE', checks: [], error: 'the scenario left no results' };
}

async function runSuite(
  runner: string,
  args: readonly string[],
  options: { nodeArgs?: readonly string[]; env?: NodeJS.ProcessEnv; prefix?: string } = {},
): Promise<Map<string, ScenarioResult>> {
  const dir = await mkdtemp(join(tmpdir(), 'mcplane-conformance-'));
  try {
    // The suite exits non-zero when a scenario fails; the results are in the folder either way.
    await run(NODE22, [...(options.nodeArgs ?? []), runner, ...args, '-o', dir], {
      timeout: 180_000,
      maxBuffer: 16 * 1024 * 1024,
      cwd: ROOT,
      ...(options.env ? { env: options.env } : {}),
    }).catch((error: { code?: unknown; stdout?: string }) => {
      if (typeof error.code !== 'number') throw error;
    });
    return await readResults(dir, options.prefix ?? 'server-');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every `<prefix><scenario>-<time>/checks.json` in a suite's output folder. */
async function readResults(dir: string, prefix: string): Promise<Map<string, ScenarioResult>> {
  const results = new Map<string, ScenarioResult>();
  for (const entry of await readdir(dir)) {
    if (!entry.startsWith(prefix)) continue;
    const match = /^(.+)-\d{4}-\d\d-\d\dT[\d-]+Z$/.exec(entry.slice(prefix.length));
    if (!match) continue;
    // A scenario that threw (e.g. the server answered nothing it could parse) leaves no checks.json:
    // the suite counts it as one failure, and so do we.
    const text = await readFile(join(dir, entry, 'checks.json'), 'utf8').catch(() => undefined);
    if (text === undefined) {
      results.set(match[1]!, { outcome: 'FAILURE', checks: [], error: 'the scenario did not complete' });
      continue;
    }
    const checks = JSON.parse(text) as Array<{
      id: string;
      status: CheckStatus;
      errorMessage?: string;
    }>;
    const statuses = checks.map((c) => c.status);
    const outcome = statuses.includes('FAILURE')
      ? 'FAILURE'
      : statuses.includes('WARNING')
        ? 'WARNING'
        : 'SUCCESS';
    const error = checks.find((c) => c.status === 'FAILURE')?.errorMessage;
    results.set(match[1]!, {
      outcome,
      checks: checks
        .filter((c) => c.status !== 'INFO')
        .map((c) => `${c.id}=${c.status}`)
        .sort(),
      ...(error ? { error } : {}),
    });
  }
  return results;
}

/** A fixed-width table: scenario | direct | through mcplane. */
export function comparisonTable(
  title: string,
  direct: Map<string, ScenarioResult>,
  gateway: Map<string, ScenarioResult>,
  /** What of a scenario's checks must agree (default: all of them). */
  comparable: (name: string, checks: readonly string[]) => readonly string[] | undefined = (_, c) => c,
): string {
  const names = [...new Set([...direct.keys(), ...gateway.keys()])];
  const width = Math.max(...names.map((n) => n.length), 8);
  const lines = [`${title}`, `${'scenario'.padEnd(width)}  ${'direct'.padEnd(8)}  mcplane   same`];
  for (const name of names) {
    const a = direct.get(name);
    const b = gateway.get(name);
    const same =
      a &&
      b &&
      a.outcome === b.outcome &&
      comparable(name, a.checks)?.join() === comparable(name, b.checks)?.join()
        ? 'yes'
        : 'NO';
    lines.push(
      `${name.padEnd(width)}  ${(a?.outcome ?? '-').padEnd(8)}  ${(b?.outcome ?? '-').padEnd(8)}  ${same}`,
    );
  }
  return lines.join('\n');
}
