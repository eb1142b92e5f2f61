/**
 * Run the official MCP conformance suite's server scenarios against a URL (one suite invocation,
 * results written with `-o`) and read back every scenario's checks.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CONFORMANCE, NODE22 } from './tools.js';

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

export async function runConformance(
  url: string,
  suite: 'active' | 'all' = 'all',
): Promise<Map<string, ScenarioResult>> {
  const dir = await mkdtemp(join(tmpdir(), 'mcplane-conformance-'));
  try {
    // The suite exits non-zero when a scenario fails; the results are in the folder either way.
    await run(NODE22, [CONFORMANCE, 'server', '--url', url, '--suite', suite, '-o', dir], {
      timeout: 180_000,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((error: { code?: unknown; stdout?: string }) => {
      if (typeof error.code !== 'number') throw error;
    });
    const results = new Map<string, ScenarioResult>();
    for (const entry of await readdir(dir)) {
      const match = /^server-(.+)-\d{4}-\d\d-\d\dT[\d-]+Z$/.exec(entry);
      if (!match) continue;
      const checks = JSON.parse(await readFile(join(dir, entry, 'checks.json'), 'utf8')) as Array<{
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
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
