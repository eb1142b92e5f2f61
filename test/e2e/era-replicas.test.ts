/**
 * Multi-round state across two replicas sharing the session key (issue 12). A 2026-07-28 target's
 * `requestState` crosses in mcplane's sealed envelope: the retry works on either replica. A 2025
 * target's call waits on the replica that holds its upstream stream: the retry on the other replica
 * is refused 400, -32602, telling the client to call again without `requestState` — and doing so
 * works there.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { modernPost } from '../support/modern-wire.js';
import { freePort } from '../support/ports.js';
import { writeManifests } from '../support/standalone.js';
import {
  type LegacyFixtureServer,
  startLegacyServer,
  startModernServer,
  type V2FixtureServer,
} from '../support/v2-servers.js';

const KEY = `k1:${'6b'.repeat(32)}`;
let modern: V2FixtureServer;
let legacy: LegacyFixtureServer;
const gateways: Gateway[] = [];
const dirs: string[] = [];
const ports: number[] = [];

beforeAll(async () => {
  [modern, legacy] = await Promise.all([startModernServer(), startLegacyServer()]);
  for (let replica = 0; replica < 2; replica++) {
    const port = await freePort();
    const dir = await writeManifests(port, [
      { name: 'modern', pathPrefix: '/modern', targets: [{ name: 'modern', port: modern.port }] },
      { name: 'legacy', pathPrefix: '/legacy', targets: [{ name: 'legacy', port: legacy.port }] },
    ]);
    ports.push(port);
    dirs.push(dir);
    gateways.push(await startTestGateway(['--manifests', dir, '--session-key', KEY]));
  }
});

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await Promise.all([modern?.close(), legacy?.close()]);
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const call = async (replica: number, path: string, id: number, params: Record<string, unknown>) =>
  modernPost(`http://127.0.0.1:${ports[replica]}${path}/mcp`, 'tools/call', {
    id,
    params,
    capabilities: { elicitation: {} },
  });

const accept = (name: string) => ({ action: 'accept', content: { name } });

describe('multi-round state across replicas', () => {
  it('a 2026 target: the sealed requestState carries the round, the retry works on the other replica', async () => {
    const name = 'test_input_required_result_elicitation';
    const first = await call(0, '/modern', 1, { name, arguments: {} });
    expect(first.body.result?.resultType).toBe('input_required');
    const key = Object.keys(first.body.result?.inputRequests as object)[0]!;
    const retry = await call(1, '/modern', 2, {
      name,
      arguments: {},
      inputResponses: { [key]: accept('Lin') },
      ...(first.body.result?.requestState ? { requestState: first.body.result.requestState } : {}),
    });
    expect(retry.body.result?.resultType).toBe('complete');
    expect(JSON.stringify(retry.body.result?.content)).toContain('Hello, Lin!');
  });

  it('a 2025 target: the call waits on its replica; elsewhere the retry is told to start over, which works', async () => {
    const args = { name: 'test_elicitation', arguments: { message: 'Name?' } };
    const first = await call(0, '/legacy', 1, args);
    expect(first.body.result?.resultType).toBe('input_required');
    const key = Object.keys(first.body.result?.inputRequests as object)[0]!;
    const inputResponses = { [key]: accept('Mo') };
    const elsewhere = await call(1, '/legacy', 2, {
      ...args,
      inputResponses,
      requestState: first.body.result?.requestState,
    });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.error?.code).toBe(-32602);
    expect(elsewhere.body.error?.message).toContain('call again without requestState');
    // The holding replica still has it.
    const home = await call(0, '/legacy', 3, {
      ...args,
      inputResponses,
      requestState: first.body.result?.requestState,
    });
    expect(JSON.stringify(home.body.result?.content)).toContain('Mo');
  });
});
