/**
 * The walk-through of docs/design.md section 7 as standalone YAML (examples/standalone), end to end:
 * real upstream MCP servers, the whole gateway in-process, a real SDK client over HTTP.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { postInitialize } from '../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { freePort } from '../support/ports.js';

const examples = new URL('../../examples/standalone/', import.meta.url);

/** The example files with their fixed ports swapped for this run's ports. */
async function example(file: string, ports: Record<number, number>): Promise<string> {
  let text = await readFile(new URL(file, examples), 'utf8');
  for (const [from, to] of Object.entries(ports)) text = text.replaceAll(`port: ${from}`, `port: ${to}`);
  return text;
}

describe('walk-through, standalone', () => {
  let dir: string;
  let everything: FixtureServer;
  let toolbox: FixtureServer;
  let gateway: Gateway;
  let gatewayPort: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcplane-walkthrough-'));
    everything = await startFixture({ name: 'everything' });
    toolbox = await startFixture({ name: 'toolbox', extraTools: ['uuid'] });
    gatewayPort = await freePort();
    await writeFile(
      join(dir, 'walkthrough.yaml'),
      await example('walkthrough.yaml', { 8080: gatewayPort, 3001: everything.port }),
    );
    gateway = await startTestGateway(['--manifests', dir]);
  });

  afterAll(async () => {
    await gateway?.stop();
    await Promise.all([everything?.close(), toolbox?.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('lists tools, calls echo, and follows a second labelled Service without a restart', async () => {
    const client = new Client({ name: 'walkthrough', version: '1.0.0' });
    const changed: number[] = [];
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      changed.push(Date.now());
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${gatewayPort}/mcp`)));
    try {
      // One target: transparent, the upstream's own names.
      const before = await client.listTools();
      expect(before.tools.map((t) => t.name)).toContain('echo');
      const echo = await client.callTool({ name: 'echo', arguments: { message: 'Hello, world!' } });
      expect(echo.content).toEqual([{ type: 'text', text: 'Echo: Hello, world!' }]);

      // Step two: a second Service with the selected label appears in the files.
      await writeFile(join(dir, 'toolbox.yaml'), await example('toolbox.yaml', { 3002: toolbox.port }));
      await expect.poll(() => changed.length, { timeout: 10_000 }).toBeGreaterThan(0);
      const after = await client.listTools();
      const names = after.tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['everything_echo', 'toolbox_echo', 'toolbox_uuid']));
      const prefixed = await client.callTool({
        name: 'everything_echo',
        arguments: { message: 'Hello, world!' },
      });
      expect(prefixed.content).toEqual([{ type: 'text', text: 'Echo: Hello, world!' }]);

      // And removing it takes its tools away again.
      const notified = changed.length;
      await rm(join(dir, 'toolbox.yaml'));
      await expect.poll(() => changed.length, { timeout: 10_000 }).toBeGreaterThan(notified);
      const last = await client.listTools();
      expect(last.tools.map((t) => t.name)).not.toContain('toolbox_uuid');
    } finally {
      await client.close();
    }
  });

  it('step three: one policy (examples/governance/policy.yaml) asks for an API key and filters tools by its group', async () => {
    const url = new URL(`http://127.0.0.1:${gatewayPort}/mcp`);
    const connect = async (key: string) => {
      const client = new Client({ name: 'governed', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(url, {
          requestInit: { headers: { authorization: `Bearer ${key}` } },
        }),
      );
      return client;
    };
    await writeFile(
      join(dir, 'policy.yaml'),
      await readFile(new URL('../../examples/governance/policy.yaml', import.meta.url), 'utf8'),
    );
    const anonymous = () => postInitialize(url.href).then((r) => r.status);
    await expect.poll(anonymous, { timeout: 10_000 }).toBe(401);
    const viewer = await connect('viewer-key-change-me');
    const dev = await connect('dev-key-change-me');
    try {
      expect((await viewer.listTools()).tools.map((t) => t.name)).toEqual(['echo']);
      await expect(viewer.callTool({ name: 'add', arguments: { a: 1, b: 2 } })).rejects.toThrow(
        /Unknown tool/,
      );
      expect((await dev.listTools()).tools.map((t) => t.name)).toContain('add');
      const echo = await viewer.callTool({ name: 'echo', arguments: { message: 'Hello, world!' } });
      expect(echo.content).toEqual([{ type: 'text', text: 'Echo: Hello, world!' }]);
    } finally {
      await viewer.close();
      await dev.close();
      await rm(join(dir, 'policy.yaml'));
    }
    await expect.poll(anonymous, { timeout: 10_000 }).toBe(200);
  });

  it('keeps serving the last good configuration when an edit is invalid', async () => {
    const version = gateway.publisher.current.version;
    await copyFile(join(dir, 'walkthrough.yaml'), join(dir, 'broken.yaml')); // duplicates every object
    await new Promise((r) => setTimeout(r, 300));
    expect(gateway.publisher.current.version).toBe(version);
    const client = new Client({ name: 'still-serving', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${gatewayPort}/mcp`)));
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    await client.close();
    await rm(join(dir, 'broken.yaml'));
  });
});
