/**
 * Discovery lag: a Service gains (or loses) the label a backend selects, and the time until a
 * connected client receives `notifications/tools/list_changed`. Against the in-process Kubernetes
 * test API server (the real wire protocol: list + watch), with mcplane as its own process in
 * Kubernetes mode and default settings (debounce included), and a real SDK client holding its GET
 * stream open. Each change waits for its notification before the next one starts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { KubeApiServer } from '../test/support/kube/api-server.js';
import { kubeConfigFor } from '../test/support/kube/kubeconfig.js';
import { endpointSlice, service, walkthrough } from '../test/support/walkthrough.js';
import { launchMcplane } from './candidates.js';
import { percentile } from './load.js';
import { type Child, freePort } from './proc.js';

export interface DiscoveryLagFigures {
  readonly changes: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Changes whose notification never came (within the per-change timeout). */
  readonly missed: number;
}

const PER_CHANGE_TIMEOUT_MS = 10_000;

/** Measure `changes` label flips of a second Service, alternating on and off. */
export async function measureDiscoveryLag(
  upstreamPort: number,
  changes: number,
  log: (line: string) => void,
): Promise<DiscoveryLagFigures> {
  const api = await KubeApiServer.start();
  const dir = await mkdtemp(join(tmpdir(), 'mcplane-bench-kube-'));
  const gatewayPort = await freePort();
  for (const obj of walkthrough(gatewayPort, upstreamPort)) api.apply(obj);
  api.apply(endpointSlice('second-server', upstreamPort)); // the Service that comes and goes
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, kubeConfigFor(api.url).exportConfig());
  const client = new Client({ name: 'bench-discovery', version: '1.0.0' });
  let mcplane: Child | undefined;
  try {
    const source = ['--kubeconfig', kubeconfig, '--lease-namespace', 'default'];
    mcplane = (await launchMcplane('mcplane (kubernetes)', source)).child;
    let notified: (() => void) | undefined;
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => notified?.());
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${gatewayPort}/mcp`)));
    await client.listTools();
    // The SDK opens its GET stream after initialize; give it a moment so the first change is seen.
    await new Promise((r) => setTimeout(r, 500));
    const lags: number[] = [];
    let missed = 0;
    for (let i = 0; i < changes; i++) {
      // Even changes add a Service matching the backend's selector, odd ones take its label away.
      const labels = { app: i % 2 === 0 ? 'mcp-server-everything' : 'something-else' };
      const arrived = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), PER_CHANGE_TIMEOUT_MS);
        notified = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      const started = performance.now();
      api.apply(service('second-server', labels, upstreamPort));
      if (await arrived) lags.push(performance.now() - started);
      else missed++;
      notified = undefined;
      if ((i + 1) % 10 === 0) log(`discovery lag: ${i + 1}/${changes} changes`);
      await new Promise((r) => setTimeout(r, 50)); // let the previous notifications drain
    }
    const sorted = Float64Array.from(lags).sort();
    return {
      changes,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
      missed,
    };
  } finally {
    await client.close().catch(() => {});
    await mcplane?.stop();
    await api.close();
    await rm(dir, { recursive: true, force: true });
  }
}
