/**
 * Debian's Prometheus on 127.0.0.1 scraping one target every second, for tests that check what an
 * operator would query: a temporary TSDB, the HTTP API for PromQL, and it dies with the test process
 * (guard.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GUARD } from './guard.js';
import { freePort } from './ports.js';

/** The prometheus binary; throws (never skips) with what to install when there is none. */
export function prometheusBinary(): string {
  const found = ['/usr/bin/prometheus', '/usr/local/bin/prometheus'].find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      'prometheus is not installed, and this test needs a real Prometheus: install it (apt-get install prometheus) and run again',
    );
  }
  return found;
}

export interface Sample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

export interface Prometheus {
  readonly url: string;
  /** An instant PromQL query: the vector's samples (a scalar is one sample without labels). */
  query(promql: string): Promise<Sample[]>;
  /** Query until `accept` says yes (or throw with the last answer after `timeoutMs`). */
  until(promql: string, accept: (samples: Sample[]) => boolean, timeoutMs?: number): Promise<Sample[]>;
  stop(): Promise<void>;
}

const ApiAnswer = (body: unknown) =>
  body as {
    status: string;
    error?: string;
    data?: { resultType: string; result: unknown };
  };

export async function startPrometheus(scrapeTarget: string): Promise<Prometheus> {
  const binary = prometheusBinary();
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'mcplane-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  await writeFile(
    config,
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: mcplane',
      `    static_configs: [{ targets: ['${scrapeTarget}'] }]`,
      '',
    ].join('\n'),
  );
  const args = [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ];
  const guard: ChildProcess = spawn('sh', ['-c', GUARD, 'sh', binary, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  guard.stdin?.on('error', () => {});
  let output = '';
  guard.stdout?.on('data', (chunk) => (output += chunk));
  guard.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => guard.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    guard.stdin?.end();
    await exited;
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await fetch(`${url}/-/ready`).catch(() => undefined);
    if (ready?.ok) break;
    if (guard.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not become ready on ${url}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const query = async (promql: string): Promise<Sample[]> => {
    const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const answer = ApiAnswer(await response.json());
    if (answer.status !== 'success' || !answer.data)
      throw new Error(`PromQL ${promql}: ${answer.error ?? response.status}`);
    const { resultType, result } = answer.data;
    if (resultType === 'scalar') return [{ metric: {}, value: Number((result as [number, string])[1]) }];
    return (result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((r) => ({
      metric: r.metric,
      value: Number(r.value[1]),
    }));
  };

  return {
    url,
    query,
    async until(promql, accept, timeoutMs = 20_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const samples = await query(promql);
        if (accept(samples)) return samples;
        if (Date.now() > end)
          throw new Error(
            `PromQL ${promql} never gave the expected answer; last: ${JSON.stringify(samples)}`,
          );
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
    stop,
  };
}
