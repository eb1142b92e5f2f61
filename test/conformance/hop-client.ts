/**
 * The conformance suite's client mode pointed at mcplane's upstream half. `conformance client
 * --command "<node> --import tsx test/conformance/hop-client.ts"` starts a scenario's test server
 * and runs this with the server's URL as the last argument. This starts mcplane with that server as
 * its one target and drives a real SDK v2 client through mcplane doing what the scenario asks of a
 * client; the suite then judges what mcplane sent the server, so every check is about the gateway's
 * hop, not about the SDK client in front of it.
 *
 * Environment: `MCP_CONFORMANCE_SCENARIO` (set by the suite); `MCPLANE_HOP_CLIENT` = `2025` (the
 * client in front does the 2025-11-25 handshake) or `2026` (it negotiates 2026-07-28 with mcplane);
 * `MCPLANE_HOP_LAYOUT` = `single` (the server is the backend's only target) or `mixed` (beside a
 * 2025 fixture, names prefixed by target, so mcplane de-prefixes what it sends).
 * Exits non-zero when the client in front saw an error the scenario does not expect.
 */
import { rm } from 'node:fs/promises';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { startTestGateway } from '../support/gateway.js';
import { startFixture } from '../support/mcp-servers.js';
import { freePort } from '../support/ports.js';
import { type StaticBackend, writeManifests } from '../support/standalone.js';

const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
const era = process.env.MCPLANE_HOP_CLIENT === '2026' ? '2026' : '2025';
const layout = process.env.MCPLANE_HOP_LAYOUT === 'mixed' ? 'mixed' : 'single';
const server = new URL(process.argv.at(-1) ?? '');

/** The suite's servers say `localhost`; mcplane targets the loopback address they listen on. */
const suiteTarget = {
  name: 'suite',
  port: Number(server.port),
  path: server.pathname === '' ? '/' : server.pathname,
};

type Drive = (client: Client, name: (tool: string) => string) => Promise<void>;

/** What each scenario expects a client to do (its description in the suite). */
const DRIVES: Record<string, Drive> = {
  initialize: async (client) => {
    await client.listTools();
  },
  tools_call: async (client, name) => {
    await client.listTools();
    await client.callTool({ name: name('add_numbers'), arguments: { a: 5, b: 3 } });
  },
  'request-metadata': async (client) => {
    await client.listTools();
    await client.callTool({ name: 'anything', arguments: {} }).catch(() => undefined);
  },
  'http-standard-headers': async (client, name) => {
    await client.listTools();
    await client.callTool({ name: name('test_headers'), arguments: {} });
    await client.callTool({ name: name('my-hyphenated-tool'), arguments: {} });
    const { resources } = await client.listResources();
    for (const resource of resources)
      if (resource.uri.length > 0) await client.readResource({ uri: resource.uri });
    await client.listPrompts();
    await client.getPrompt({ name: name('test_prompt') });
  },
  'http-custom-headers': async (client, name) => {
    await client.listTools();
    await client.callTool({
      name: name('test_custom_headers'),
      arguments: {
        region: 'us-west1',
        priority: 5,
        verbose: true,
        debug: false,
        empty_val: 'x',
        method_val: 'GET',
        float_val: 1.5,
        non_ascii_val: 'café',
        whitespace_val: '  padded  ',
        leading_space_val: ' leading',
        trailing_space_val: 'trailing ',
        internal_space_val: 'a b c',
        control_char_val: 'bell\u0007',
        crlf_val: 'line\r\nbreak',
        tab_val: '\ttab',
        query: 'not mirrored',
      },
    });
    await client.callTool({
      name: name('test_custom_headers_null'),
      arguments: { region: 'eu-west1', priority: 1, query: 'q' },
    });
  },
  'sep-2322-client-request-state': async (client, name) => {
    await client.listTools();
    await client.callTool({ name: name('test_mrtr_echo_state'), arguments: {} });
    await client.callTool({ name: name('test_mrtr_no_state'), arguments: {} });
    await client.callTool({ name: name('test_mrtr_unrelated'), arguments: {} });
    await client.callTool({ name: name('test_mrtr_no_result_type'), arguments: {} });
  },
  'json-schema-2020-12-preservation': async (client, name) => {
    const { tools } = await client.listTools();
    const focal = tools.find((t) => t.name === name('json_schema_2020_12_tool'));
    await client.callTool({
      name: name('json_schema_echo'),
      arguments: { schema: focal?.inputSchema ?? {} },
    });
  },
};

const drive = DRIVES[scenario];
if (!drive) {
  process.stderr.write(`hop-client: no drive for scenario ${JSON.stringify(scenario)}\n`);
  process.exit(2);
}

const fixture = layout === 'mixed' ? await startFixture({ name: 'alpha' }) : undefined;
const listenerPort = await freePort();
const backend: StaticBackend = {
  name: 'hop',
  targets: fixture ? [suiteTarget, { name: 'fixture', port: fixture.port }] : [suiteTarget],
  ...(fixture ? { prefixMode: 'Always' as const } : {}),
};
const dir = await writeManifests(listenerPort, [backend]);
const gateway = await startTestGateway(['--manifests', dir]);
const client = new Client(
  { name: 'hop-client', version: '1.0.0' },
  {
    capabilities: { elicitation: { form: {} }, sampling: {}, roots: {} },
    ...(era === '2026' ? { versionNegotiation: { mode: 'auto' as const } } : {}),
  },
);
client.setRequestHandler('elicitation/create', async () => ({
  action: 'accept' as const,
  content: { confirmed: true },
}));
client.setRequestHandler('sampling/createMessage', async () => ({
  role: 'assistant' as const,
  content: { type: 'text' as const, text: 'sampled' },
  model: 'hop-model',
}));
client.setRequestHandler('roots/list', async () => ({ roots: [] }));

let failed = false;
try {
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${listenerPort}/mcp`)));
  await drive(client, (tool) => (fixture ? `suite_${tool}` : tool));
} catch (error) {
  failed = true;
  process.stderr.write(
    `hop-client (${era} client, ${layout}): ${error instanceof Error ? error.stack : String(error)}\n`,
  );
} finally {
  await client.close().catch(() => undefined);
  await gateway.stop();
  await fixture?.close();
  await rm(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
