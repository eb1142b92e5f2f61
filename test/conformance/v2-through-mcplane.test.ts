/**
 * The conformance suite 0.2.0-alpha.12 through mcplane, 2025-11-25 requirement set: in front of the
 * SDK v2 dual-era fixture every scored scenario passes, as it does directly (v2-baseline.test.ts).
 * The 2026-07-28 set through mcplane, and backends mixing eras, wait for the modern path (issue 12):
 * today mcplane answers 2026-07-28 requests -32022.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import {
  runConformanceRequirements,
  type ScenarioResult,
  scoredServerScenarios,
} from '../support/conformance.js';
import { startTestGateway } from '../support/gateway.js';
import { freePort } from '../support/ports.js';
import { writeManifests } from '../support/standalone.js';
import { startDualEraServer, type V2FixtureServer } from '../support/v2-servers.js';

let dual: V2FixtureServer;
let gateway: Gateway;
let dir: string;
let port: number;

beforeAll(async () => {
  dual = await startDualEraServer();
  port = await freePort();
  dir = await writeManifests(port, [
    { name: 'dual', pathPrefix: '/dual', targets: [{ name: 'dual', port: dual.port }] },
  ]);
  gateway = await startTestGateway(['--manifests', dir]);
});

afterAll(async () => {
  await gateway?.stop();
  await dual?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const passed = (r: ScenarioResult | undefined) => r?.outcome === 'SUCCESS' || r?.outcome === 'WARNING';

it('2025-11-25: every scored scenario passes through mcplane in front of an SDK v2 dual-era server', async () => {
  const [results, scored] = await Promise.all([
    runConformanceRequirements(`http://127.0.0.1:${port}/dual/mcp`, '2025-11-25'),
    scoredServerScenarios('2025-11-25'),
  ]);
  expect(scored.length).toBeGreaterThan(25);
  expect(scored.filter((name) => !passed(results.get(name)))).toEqual([]);
}, 90_000);
