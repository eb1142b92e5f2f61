/**
 * Every client era against every target era through mcplane (issue 12): SDK v2 clients in their
 * default (2025 handshake) mode and in `versionNegotiation: auto` (2026-07-28 with mcplane), and SDK
 * v1 clients, each against a 2026-only target, a dual-era target and a 2025-only target (the SDK v2
 * fixtures and the v1 conformance fixture, which serve the same tools, prompts and resources) and
 * the v1 fixture answering in JSON bodies rather than SSE (which a 2026-07-28 client's answers take
 * as bytes, spliced: wire/answer-splice.ts): list and call tools, list and get prompts, list and read
 * resources.
 */
import { rm } from 'node:fs/promises';
import {
  Client as V2Client,
  StreamableHTTPClientTransport as V2Transport,
} from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { freePort } from '../support/ports.js';
import { writeManifests } from '../support/standalone.js';
import {
  type LegacyFixtureServer,
  startDualEraServer,
  startLegacyServer,
  startModernServer,
  type V2FixtureServer,
} from '../support/v2-servers.js';

let modern: V2FixtureServer;
let dual: V2FixtureServer;
let legacy: LegacyFixtureServer;
let legacyJson: LegacyFixtureServer;
let gateway: Gateway;
let dir: string;
let port: number;

beforeAll(async () => {
  [modern, dual, legacy, legacyJson] = await Promise.all([
    startModernServer(),
    startDualEraServer(),
    startLegacyServer(),
    startLegacyServer({ json: true }),
  ]);
  port = await freePort();
  dir = await writeManifests(port, [
    { name: 'modern', pathPrefix: '/modern', targets: [{ name: 'modern', port: modern.port }] },
    { name: 'dual', pathPrefix: '/dual', targets: [{ name: 'dual', port: dual.port }] },
    { name: 'legacy', pathPrefix: '/legacy', targets: [{ name: 'legacy', port: legacy.port }] },
    { name: 'legacy-json', pathPrefix: '/legacy-json', targets: [{ name: 'legacy', port: legacyJson.port }] },
  ]);
  gateway = await startTestGateway(['--manifests', dir]);
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([modern?.close(), dual?.close(), legacy?.close(), legacyJson?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** What every client does, whatever its SDK: the same calls, the same answers expected. */
interface Features {
  listTools(): Promise<{ tools: Array<{ name: string }> }>;
  callTool(call: { name: string; arguments: Record<string, unknown> }): Promise<unknown>;
  listPrompts(): Promise<{ prompts: Array<{ name: string }> }>;
  getPrompt(request: { name: string }): Promise<{ messages: unknown[] }>;
  listResources(): Promise<{ resources: Array<{ uri: string }> }>;
  readResource(request: { uri: string }): Promise<{ contents: unknown[] }>;
  close(): Promise<void>;
}

const CLIENTS: ReadonlyArray<[string, (url: URL) => Promise<Features>]> = [
  [
    'SDK v2, default (2025) mode',
    async (url) => {
      const client = new V2Client({ name: 'v2-legacy', version: '1.0.0' });
      await client.connect(new V2Transport(url));
      expect(client.getProtocolEra?.()).not.toBe('modern');
      return client as unknown as Features;
    },
  ],
  [
    'SDK v2, versionNegotiation auto (2026-07-28)',
    async (url) => {
      const client = new V2Client(
        { name: 'v2-auto', version: '1.0.0' },
        { versionNegotiation: { mode: 'auto' } },
      );
      await client.connect(new V2Transport(url));
      expect(client.getProtocolEra?.()).toBe('modern');
      return client as unknown as Features;
    },
  ],
  [
    'SDK v1',
    async (url) => {
      const client = new V1Client({ name: 'v1', version: '1.0.0' });
      await client.connect(new V1Transport(url));
      return client as unknown as Features;
    },
  ],
];

describe.each(CLIENTS)('%s', (_name, connect) => {
  it.each(['modern', 'dual', 'legacy', 'legacy-json'])(
    'against a %s target: tools, prompts and resources',
    async (era) => {
      const client = await connect(new URL(`http://127.0.0.1:${port}/${era}/mcp`));
      try {
        const { tools } = await client.listTools();
        expect(tools.map((t) => t.name)).toContain('test_simple_text');
        const called = await client.callTool({ name: 'test_simple_text', arguments: {} });
        expect(JSON.stringify(called)).toContain('This is a simple text response for testing.');
        const { prompts } = await client.listPrompts();
        expect(prompts.map((p) => p.name)).toContain('test_simple_prompt');
        const prompt = await client.getPrompt({ name: 'test_simple_prompt' });
        expect(JSON.stringify(prompt.messages)).toContain('This is a simple prompt for testing.');
        const { resources } = await client.listResources();
        expect(resources.map((r) => r.uri)).toContain('test://static-text');
        const read = await client.readResource({ uri: 'test://static-text' });
        expect(JSON.stringify(read.contents)).toContain('This is the content of the static text resource.');
      } finally {
        await client.close();
      }
    },
  );
});
