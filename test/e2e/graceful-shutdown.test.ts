/**
 * Lifecycle: SIGTERM while a long tool call and an open SSE stream are in flight. The call completes,
 * the stream ends cleanly, new connections are refused meanwhile, readiness turns false at once, and
 * the process exits 0 — all within the drain timeout.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { freePort, portOpen } from '../support/ports.js';
import { ROOT, spawnGateway } from '../support/process.js';

describe('graceful shutdown', () => {
  let dir: string;
  let upstream: FixtureServer;
  let gateway: ChildProcess | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcplane-drain-'));
    upstream = await startFixture({ name: 'slow' });
  });

  afterAll(async () => {
    if (gateway?.exitCode === null) gateway.kill('SIGKILL');
    await upstream?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('finishes in-flight work on SIGTERM, refuses new connections, and exits 0', async () => {
    const port = await freePort();
    const manifest = (await readFile(join(ROOT, 'examples/standalone/walkthrough.yaml'), 'utf8'))
      .replaceAll('port: 8080', `port: ${port}`)
      .replaceAll('port: 3001', `port: ${upstream.port}`);
    await writeFile(join(dir, 'walkthrough.yaml'), manifest);
    const mcplane = await spawnGateway(['--manifests', dir, '--drain-timeout', '10s', '--log-level', 'info']);
    gateway = mcplane.process;
    const exited = mcplane.exited.then((code) => ({ code, at: performance.now() }));
    await mcplane.ready();

    const client = new Client({ name: 'drain', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`));
    await client.connect(transport);
    // An open GET stream of our own, to watch it end.
    const stream = await fetch(`http://127.0.0.1:${port}/mcp`, {
      headers: { accept: 'text/event-stream', 'mcp-session-id': transport.sessionId! },
    });
    expect(stream.status).toBe(200);
    const streamDone = stream.body!.pipeTo(new WritableStream()).then(
      () => 'ended cleanly',
      (err: Error) => `failed: ${err.message}`,
    );

    const call = client.callTool({ name: 'sleep', arguments: { ms: 1500 } }, undefined, { timeout: 30_000 });
    await new Promise((r) => setTimeout(r, 300)); // the call is in flight upstream
    const signalled = performance.now();
    gateway.kill('SIGTERM');
    await expect
      .poll(async () => (await mcplane.readyzStatus()) ?? 'gone', {
        timeout: 2000,
        interval: 20,
      })
      .not.toBe(200);
    await expect.poll(() => portOpen(port), { timeout: 2000, interval: 20 }).toBe(false); // new connections refused

    const result = await call;
    expect(result.content).toEqual([{ type: 'text', text: 'slept 1500' }]);
    expect(await streamDone).toBe('ended cleanly');
    const { code, at } = await exited;
    expect(code, mcplane.logs()).toBe(0);
    expect(at - signalled).toBeLessThan(10_000);
    expect(mcplane.logs()).toContain('"msg":"stopped"');
    await client.close().catch(() => undefined);
  }, 60_000);
});
