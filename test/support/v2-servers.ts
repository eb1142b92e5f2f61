/**
 * Upstream fixtures on the MCP TypeScript SDK v2 (`@modelcontextprotocol/server`), for the
 * 2026-07-28 revision beside the 2025 ones. Streamable HTTP on 127.0.0.1 (port 0 unless given),
 * one path `/mcp`, Host checked against loopback names (DNS-rebinding protection).
 *
 * - `startModernServer`: 2026-07-28 only. `createMcpHandler(factory, { legacy: 'reject' })`: a fresh
 *   server per request (stateless, per-request `_meta` envelope, `server/discover`,
 *   `subscriptions/listen`); a 2025 `initialize` is refused (400, -32022, `data.supported`).
 * - `startDualEraServer`: both eras on the same `/mcp`. `isLegacyRequest(request)` routes 2025
 *   traffic (initialize, `Mcp-Session-Id`, no `_meta` envelope) to the SDK's sessionful
 *   `WebStandardStreamableHTTPServerTransport` (one server per session: GET stream, DELETE,
 *   server→client requests), everything else to the same strict modern handler. With
 *   `legacy: 'stateless'` the 2025 leg is instead the SDK's own default
 *   (`createMcpHandler(factory)`: stateless per-request legacy serving, GET/DELETE 405, no
 *   server→client requests).
 * - `startLegacyServer`: 2025 only, the v1 SDK conformance fixture (test/support/conformance-server.ts).
 *
 * Every v2 fixture serves the same definitions in both eras (one factory): the conformance suite's
 * fixture tools, resources and prompts (names and answers as its scenario descriptions spell them,
 * 2025-11-25 and 2026-07-28 sets), plus `echo`, `add`, `elicit`, `sample`. Tools that need the
 * client are written once as multi-round-trip handlers (`inputRequired(...)`): on 2026-07-28 the
 * client sees `resultType: "input_required"` and retries with `inputResponses`/`requestState`; on a
 * 2025 session the SDK's legacy shim turns the same return into real server→client requests
 * (`elicitation/create`, `sampling/createMessage`, `roots/list`) on the call's stream.
 * `requestState` is HMAC-sealed (`createRequestStateCodec`), so a tampered state is refused -32602.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import {
  acceptedContent,
  type CacheHint,
  CLIENT_CAPABILITIES_META_KEY,
  type ClientCapabilities,
  completable,
  createMcpHandler,
  createRequestStateCodec,
  fromJsonSchema,
  hostHeaderValidationResponse,
  type InputRequest,
  inputRequired,
  inputResponse,
  isLegacyRequest,
  type JsonSchemaType,
  type McpHttpHandler,
  type McpRequestContext,
  McpServer,
  type RequestStateCodec,
  ResourceTemplate,
  type ServerContext,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import {
  type ConformanceUpstream,
  SEP1034_SCHEMA,
  SEP1330_SCHEMA,
  startConformanceUpstream,
} from './conformance-server.js';
import type { SeenRequest } from './mcp-servers.js';

export type { SeenRequest } from './mcp-servers.js';

export interface V2FixtureOptions {
  /** serverInfo.name (default `mcplane-v2-modern` / `mcplane-v2-dual`), also in `elicit`/`sample` texts. */
  readonly name?: string;
  /**
   * `ttlMs`/`cacheScope` for every cacheable 2026-07-28 result (lists, `resources/read`,
   * `server/discover`). Default `{ ttlMs: 60_000, cacheScope: 'public' }`; the SDK's own default
   * would be `{ ttlMs: 0, cacheScope: 'private' }`.
   */
  readonly cacheHint?: CacheHint;
  /** Listen on this port instead of an ephemeral one. */
  readonly port?: number;
}

export interface DualEraOptions extends V2FixtureOptions {
  /**
   * How 2025 clients are served. `sessions` (default): sessionful streamable HTTP (initialize →
   * `Mcp-Session-Id`, GET stream, DELETE, server→client requests). `stateless`: the SDK default
   * `createMcpHandler(factory)` leg (no sessions; GET/DELETE 405; no server→client requests).
   */
  readonly legacy?: 'sessions' | 'stateless';
}

/** What the fixture announces; each goes to every open `subscriptions/listen` stream that opted in
 * (2026-07-28) and, on a dual-era fixture with sessions, to every 2025 session (GET stream). */
export interface V2Notifier {
  /** Adds a tool named `added-<n>` to every instance, then announces `tools/list_changed`. Returns the name. */
  addTool(): string;
  /** Adds a prompt named `added-prompt-<n>`, then announces `prompts/list_changed`. Returns the name. */
  addPrompt(): string;
  /** Announces `notifications/resources/updated` for `uri` (listen subscribers; 2025 subscribers of that uri). */
  resourceUpdated(uri: string): void;
}

export interface V2FixtureServer {
  readonly name: string;
  readonly era: 'modern' | 'dual';
  readonly port: number;
  readonly url: string;
  /** Every HTTP request this server received, in order (body parsed when JSON). */
  readonly seen: SeenRequest[];
  readonly notify: V2Notifier;
  /** 2025 sessions currently open (always 0 on a modern or stateless-legacy fixture). */
  legacySessions(): number;
  close(): Promise<void>;
}

export interface LegacyFixtureServer extends ConformanceUpstream {
  readonly name: string;
  readonly era: 'legacy';
}

/** A 1x1 red PNG and a tiny silent WAV (the same bytes as the v1 conformance fixture). */
const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
const WAV = 'UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQIAAAAAAA==';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
const noArgs = z.object({});

/** The fixture state every per-request instance is built from (so lists agree across instances). */
interface FixtureState {
  readonly name: string;
  readonly cacheHint: CacheHint;
  readonly codec: RequestStateCodec<RoundState>;
  readonly addedTools: string[];
  readonly addedPrompts: string[];
  /** Set by the serving code (see `V2Notifier`). */
  notify: V2Notifier;
}

/** The sealed multi-round-trip state: which tool minted it, which round, what was answered so far. */
interface RoundState {
  readonly tool: string;
  readonly round: number;
  readonly answers?: Record<string, unknown>;
}

const NAME_SCHEMA = {
  type: 'object' as const,
  properties: { name: { type: 'string' as const } },
  required: ['name'],
};

const elicit = (message: string, requestedSchema: object): InputRequest =>
  ({ method: 'elicitation/create', params: { message, requestedSchema } }) as InputRequest;

/** The client's declared capabilities: the request's envelope (2026-07-28) or its initialize (2025). */
function clientCapabilities(server: McpServer, ctx: ServerContext): ClientCapabilities {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const declared = envelope?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined;
  return declared ?? server.server.getClientCapabilities() ?? {};
}

/** One server instance (per request on 2026-07-28, per session on 2025) and its 2025 resource subscriptions. */
interface Built {
  readonly server: McpServer;
  readonly subscribed: Set<string>;
}

const CACHEABLE = [
  'tools/list',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'server/discover',
] as const;

function buildServer(state: FixtureState): Built {
  const server = new McpServer(
    { name: state.name, version: '2.0.0' },
    {
      capabilities: {
        tools: { listChanged: true },
        prompts: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        logging: {},
        completions: {},
      },
      cacheHints: Object.fromEntries(CACHEABLE.map((method) => [method, state.cacheHint])),
      requestState: { verify: (value, ctx) => state.codec.verify(value, ctx) },
    },
  );
  const subscribed = new Set<string>();
  registerBasicTools(server, state);
  registerContentTools(server);
  registerClientTools(server, state);
  registerInputRequiredTools(server, state);
  registerResources(server, subscribed);
  registerPrompts(server, state);
  return { server, subscribed };
}

function registerAddedTool(server: McpServer, name: string): void {
  server.registerTool(name, { description: 'Added at run time' }, async () => text(name));
}

function registerAddedPrompt(server: McpServer, name: string): void {
  server.registerPrompt(name, { description: 'Added at run time' }, async () => ({
    messages: [{ role: 'user', content: { type: 'text', text: name } }],
  }));
}

function registerBasicTools(server: McpServer, state: FixtureState): void {
  server.registerTool(
    'echo',
    { description: 'Echo a message', inputSchema: z.object({ message: z.string() }) },
    async ({ message }) => text(`Echo: ${message}`),
  );
  server.registerTool(
    'add',
    { description: 'Add two numbers', inputSchema: z.object({ a: z.number(), b: z.number() }) },
    async ({ a, b }) => text(String(a + b)),
  );
  server.registerTool(
    'test_trigger_tool_change',
    { description: 'Add a tool (tools list_changed)' },
    async () => text(`added ${state.notify.addTool()}`),
  );
  server.registerTool(
    'test_trigger_prompt_change',
    { description: 'Add a prompt (prompts list_changed)' },
    async () => text(`added ${state.notify.addPrompt()}`),
  );
  for (const name of state.addedTools) registerAddedTool(server, name);
}

/** The 2025 conformance content tools (and their 2026 diagnostic twins). */
function registerContentTools(server: McpServer): void {
  server.registerTool('test_simple_text', { description: 'Returns simple text' }, async () =>
    text('This is a simple text response for testing.'),
  );
  server.registerTool('test_image_content', { description: 'Returns an image' }, async () => ({
    content: [{ type: 'image', data: PNG, mimeType: 'image/png' }],
  }));
  server.registerTool('test_audio_content', { description: 'Returns audio' }, async () => ({
    content: [{ type: 'audio', data: WAV, mimeType: 'audio/wav' }],
  }));
  server.registerTool(
    'test_embedded_resource',
    { description: 'Returns an embedded resource' },
    async () => ({
      content: [
        {
          type: 'resource',
          resource: {
            uri: 'test://embedded-resource',
            mimeType: 'text/plain',
            text: 'This is an embedded resource content.',
          },
        },
      ],
    }),
  );
  server.registerTool('test_multiple_content_types', { description: 'Returns mixed content' }, async () => ({
    content: [
      { type: 'text', text: 'Multiple content types test:' },
      { type: 'image', data: PNG, mimeType: 'image/png' },
      {
        type: 'resource',
        resource: {
          uri: 'test://mixed-content-resource',
          mimeType: 'application/json',
          text: JSON.stringify({ test: 'data', value: 123 }),
        },
      },
    ],
  }));
  // 2025: three notifications/message on the call's stream. 2026: none unless the request's _meta
  // carries io.modelcontextprotocol/logLevel (the SDK filters; test_logging_tool is the 2026 name).
  const logging = async (ctx: ServerContext) => {
    for (const [i, data] of [
      'Tool execution started',
      'Tool processing data',
      'Tool execution completed',
    ].entries()) {
      if (i > 0) await sleep(50);
      await ctx.mcpReq.log('info', data);
    }
    return text('Tool with logging executed successfully');
  };
  server.registerTool('test_tool_with_logging', { description: 'Logs while running' }, logging);
  server.registerTool('test_logging_tool', { description: 'Logs while running' }, logging);
  server.registerTool('test_error_handling', { description: 'Always fails' }, async () => ({
    isError: true,
    content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }],
  }));
  server.registerTool('test_tool_with_progress', { description: 'Reports progress' }, async (ctx) => {
    const token = ctx.mcpReq._meta?.progressToken;
    for (const progress of [0, 50, 100]) {
      if (progress > 0) await sleep(50);
      if (token !== undefined) {
        await ctx.mcpReq.notify({
          method: 'notifications/progress',
          params: { progressToken: token, progress, total: 100 },
        });
      }
    }
    return text('Tool with progress executed successfully');
  });
  server.registerTool(
    'json_schema_2020_12_tool',
    {
      description: 'Tool with JSON Schema 2020-12 features',
      inputSchema: fromJsonSchema<Record<string, unknown>>({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        $defs: {
          address: {
            $anchor: 'addressDef',
            type: 'object',
            properties: { street: { type: 'string' }, city: { type: 'string' } },
          },
        },
        properties: {
          name: { type: 'string' },
          address: { $ref: '#/$defs/address' },
          contactMethod: { type: 'string', enum: ['phone', 'email'] },
          phone: { type: 'string' },
          email: { type: 'string' },
        },
        allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
        if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
        // biome-ignore lint/suspicious/noThenProperty: the JSON Schema 2020-12 keyword
        then: { required: ['phone'] },
        else: { required: ['email'] },
        additionalProperties: false,
      }),
    },
    async (args) => text(`received ${JSON.stringify(args)}`),
  );
  // SEP-2243: `region` is mirrored as the `Mcp-Param-Region` header on 2026-07-28 requests.
  server.registerTool(
    'test_header_param',
    {
      description: 'Echo a parameter that travels as the Mcp-Param-Region header',
      inputSchema: fromJsonSchema<{ region: string }>(REGION_SCHEMA),
    },
    async ({ region }) => text(`region=${region}`),
  );
}

/** A string parameter annotated `x-mcp-header` (SEP-2243; not a keyword of the SDK's JSON Schema type). */
const REGION_SCHEMA = {
  type: 'object',
  properties: { region: { type: 'string', 'x-mcp-header': 'Region' } },
  required: ['region'],
} as JsonSchemaType;

/** The text of a sampling answer (single content block or, with tools, an array). */
function sampledText(view: ReturnType<typeof inputResponse>): string | undefined {
  if (view.kind !== 'sampling') return undefined;
  const blocks = Array.isArray(view.result.content) ? view.result.content : [view.result.content];
  return blocks.map((block) => (block.type === 'text' ? block.text : `[${block.type}]`)).join('');
}

/**
 * Tools that ask the client, written once for both eras: `elicit`/`sample` (fixture style) and
 * the 2025 conformance tools `test_sampling`, `test_elicitation`, `test_elicitation_sep1034_defaults`,
 * `test_elicitation_sep1330_enums`.
 */
function registerClientTools(server: McpServer, state: FixtureState): void {
  server.registerTool('elicit', { description: 'Ask the user for a name (elicitation)' }, async (ctx) => {
    const view = inputResponse(ctx.mcpReq.inputResponses, 'who');
    if (view.kind === 'elicit') {
      return text(`${state.name} elicited: ${view.action} ${String(view.content?.who ?? '')}`.trim());
    }
    return inputRequired({
      inputRequests: {
        who: elicit(`${state.name} asks your name`, {
          type: 'object',
          properties: { who: { type: 'string' } },
          required: ['who'],
        }),
      },
    });
  });
  server.registerTool('sample', { description: 'Ask the client model (sampling)' }, async (ctx) => {
    const answer = sampledText(inputResponse(ctx.mcpReq.inputResponses, 'question'));
    if (answer !== undefined) return text(`${state.name} sampled: ${answer}`);
    return inputRequired({
      inputRequests: {
        question: inputRequired.createMessage({
          messages: [{ role: 'user', content: { type: 'text', text: `question from ${state.name}` } }],
          maxTokens: 10,
        }),
      },
    });
  });
  server.registerTool(
    'test_sampling',
    { description: 'Asks the client to sample', inputSchema: z.object({ prompt: z.string() }) },
    async ({ prompt }, ctx) => {
      const answer = sampledText(inputResponse(ctx.mcpReq.inputResponses, 'llm'));
      if (answer !== undefined) return text(`LLM response: ${answer}`);
      return inputRequired({
        inputRequests: {
          llm: inputRequired.createMessage({
            messages: [{ role: 'user', content: { type: 'text', text: prompt } }],
            maxTokens: 100,
          }),
        },
      });
    },
  );
  const elicitTool = (name: string, message: (args: { message?: string }) => string, schema: object) =>
    server.registerTool(
      name,
      { description: 'Asks the user', inputSchema: z.object({ message: z.string().optional() }) },
      async (args, ctx) => {
        const view = inputResponse(ctx.mcpReq.inputResponses, 'form');
        if (view.kind === 'elicit') {
          const summary = `action=${view.action}, content=${JSON.stringify(view.content ?? {})}`;
          return text(
            name === 'test_elicitation' ? `User response: ${summary}` : `Elicitation completed: ${summary}`,
          );
        }
        return inputRequired({ inputRequests: { form: elicit(message(args), schema) } });
      },
    );
  elicitTool('test_elicitation', ({ message }) => message ?? '', {
    type: 'object',
    properties: {
      username: { type: 'string', description: "User's response" },
      email: { type: 'string', description: "User's email address" },
    },
    required: ['username', 'email'],
  });
  elicitTool('test_elicitation_sep1034_defaults', () => 'Please fill in the form', SEP1034_SCHEMA);
  elicitTool('test_elicitation_sep1330_enums', () => 'Please fill in the form', SEP1330_SCHEMA);
}

/** The 2026-07-28 conformance multi-round-trip tools (SEP-2322) and the SEP-2575 diagnostics. */
function registerInputRequiredTools(server: McpServer, state: FixtureState): void {
  const responses = (ctx: ServerContext) => ctx.mcpReq.inputResponses;
  const sealed = (ctx: ServerContext, tool: string): RoundState | undefined => {
    const round = ctx.mcpReq.requestState<RoundState>();
    return round?.tool === tool ? round : undefined;
  };
  const mint = (ctx: ServerContext, round: RoundState) => state.codec.mint(round, ctx);

  server.registerTool(
    'test_input_required_result_elicitation',
    { description: 'Asks the user for a name (input_required)', inputSchema: noArgs },
    async (_args, ctx) => {
      const view = inputResponse(responses(ctx), 'user_name');
      if (view.kind === 'elicit' && view.action !== 'accept') return text(`User ${view.action}d`);
      const name = acceptedContent(responses(ctx), 'user_name')?.name;
      if (typeof name === 'string') return text(`Hello, ${name}!`);
      return inputRequired({ inputRequests: { user_name: elicit('What is your name?', NAME_SCHEMA) } });
    },
  );
  server.registerTool(
    'test_input_required_result_sampling',
    { description: 'Asks the client model a question (input_required)', inputSchema: noArgs },
    async (_args, ctx) => {
      const answer = sampledText(inputResponse(responses(ctx), 'capital_question'));
      if (answer !== undefined) return text(`The model answered: ${answer}`);
      return inputRequired({
        inputRequests: {
          capital_question: inputRequired.createMessage({
            messages: [{ role: 'user', content: { type: 'text', text: 'What is the capital of France?' } }],
            maxTokens: 100,
          }),
        },
      });
    },
  );
  server.registerTool(
    'test_input_required_result_list_roots',
    { description: 'Asks the client for its roots (input_required)', inputSchema: noArgs },
    async (_args, ctx) => {
      const view = inputResponse(responses(ctx), 'client_roots');
      if (view.kind === 'roots')
        return text(`Client roots: ${view.roots.map((root) => root.uri).join(', ')}`);
      return inputRequired({ inputRequests: { client_roots: inputRequired.listRoots() } });
    },
  );
  const confirmTool = (tool: string) =>
    server.registerTool(
      tool,
      { description: 'Asks for confirmation with sealed requestState', inputSchema: noArgs },
      async (_args, ctx) => {
        const ok = acceptedContent(responses(ctx), 'confirm')?.ok;
        if (sealed(ctx, tool) && typeof ok === 'boolean') return text(`state-ok: confirmed=${ok}`);
        return inputRequired({
          inputRequests: {
            confirm: elicit('Please confirm', {
              type: 'object',
              properties: { ok: { type: 'boolean' } },
              required: ['ok'],
            }),
          },
          requestState: await mint(ctx, { tool, round: 1 }),
        });
      },
    );
  confirmTool('test_input_required_result_request_state');
  confirmTool('test_input_required_result_tampered_state');
  server.registerTool(
    'test_input_required_result_multiple_inputs',
    { description: 'Asks for a name, a greeting and the roots at once', inputSchema: noArgs },
    async (_args, ctx) => {
      const tool = 'test_input_required_result_multiple_inputs';
      const name = acceptedContent(responses(ctx), 'user_name')?.name;
      const greeting = sampledText(inputResponse(responses(ctx), 'greeting'));
      const roots = inputResponse(responses(ctx), 'client_roots');
      if (sealed(ctx, tool) && typeof name === 'string' && greeting !== undefined && roots.kind === 'roots') {
        return text(`${greeting} ${name} (${roots.roots.length} roots)`);
      }
      return inputRequired({
        inputRequests: {
          user_name: elicit('What is your name?', NAME_SCHEMA),
          greeting: inputRequired.createMessage({
            messages: [{ role: 'user', content: { type: 'text', text: 'Generate a greeting' } }],
            maxTokens: 50,
          }),
          client_roots: inputRequired.listRoots(),
        },
        requestState: await mint(ctx, { tool, round: 1 }),
      });
    },
  );
  server.registerTool(
    'test_input_required_result_multi_round',
    { description: 'Asks twice, with sealed requestState between rounds', inputSchema: noArgs },
    async (_args, ctx) => {
      const tool = 'test_input_required_result_multi_round';
      const round = sealed(ctx, tool);
      const name = acceptedContent(responses(ctx), 'step1')?.name;
      const color = acceptedContent(responses(ctx), 'step2')?.color;
      if (round?.round === 2 && typeof color === 'string') {
        return text(`${String(round.answers?.name)} likes ${color}`);
      }
      if (round?.round === 1 && typeof name === 'string') {
        return inputRequired({
          inputRequests: {
            step2: elicit('Step 2: What is your favorite color?', {
              type: 'object',
              properties: { color: { type: 'string' } },
              required: ['color'],
            }),
          },
          requestState: await mint(ctx, { tool, round: 2, answers: { name } }),
        });
      }
      return inputRequired({
        inputRequests: { step1: elicit('Step 1: What is your name?', NAME_SCHEMA) },
        requestState: await mint(ctx, { tool, round: 1 }),
      });
    },
  );
  // Asks only for what the client declared it can do (request envelope, or 2025 initialize).
  server.registerTool(
    'test_input_required_result_capabilities',
    { description: 'Asks only for what the client declared', inputSchema: noArgs },
    async (_args, ctx) => {
      const answered = Object.keys(responses(ctx) ?? {});
      if (answered.length > 0) return text(`answered: ${answered.sort().join(', ')}`);
      const caps = clientCapabilities(server, ctx);
      const inputRequests: Record<string, InputRequest> = {};
      if (caps.sampling) {
        inputRequests.sampled = inputRequired.createMessage({
          messages: [{ role: 'user', content: { type: 'text', text: 'Say something' } }],
          maxTokens: 20,
        });
      }
      if (caps.elicitation) inputRequests.elicited = elicit('What is your name?', NAME_SCHEMA);
      if (caps.roots) inputRequests.roots = inputRequired.listRoots();
      if (Object.keys(inputRequests).length === 0) return text('the client declared nothing to ask');
      return inputRequired({ inputRequests });
    },
  );
  // Always asks for sampling: without a declared `sampling` capability the SDK answers -32021.
  server.registerTool(
    'test_missing_capability',
    { description: 'Needs the sampling capability', inputSchema: noArgs },
    async (_args, ctx) => {
      const answer = sampledText(inputResponse(responses(ctx), 'sampled'));
      if (answer !== undefined) return text(`sampled: ${answer}`);
      return inputRequired({
        inputRequests: {
          sampled: inputRequired.createMessage({
            messages: [{ role: 'user', content: { type: 'text', text: 'Say something' } }],
            maxTokens: 20,
          }),
        },
      });
    },
  );
  // Progress first (so the answer is a stream), then an elicitation as input_required.
  server.registerTool(
    'test_streaming_elicitation',
    { description: 'Progress, then an elicitation as input_required', inputSchema: noArgs },
    async (_args, ctx) => {
      const name = acceptedContent(responses(ctx), 'user_name')?.name;
      if (typeof name === 'string') return text(`Hello, ${name}!`);
      const token = ctx.mcpReq._meta?.progressToken;
      if (token !== undefined) {
        await ctx.mcpReq.notify({
          method: 'notifications/progress',
          params: { progressToken: token, progress: 1 },
        });
      }
      return inputRequired({ inputRequests: { user_name: elicit('What is your name?', NAME_SCHEMA) } });
    },
  );
}

const RESOURCE_TEXT = 'This is the content of the static text resource.';

function registerResources(server: McpServer, subscribed: Set<string>): void {
  server.registerResource(
    'static-text',
    'test://static-text',
    { description: 'A static text resource', mimeType: 'text/plain' },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: RESOURCE_TEXT }] }),
  );
  server.registerResource(
    'static-binary',
    'test://static-binary',
    { description: 'A static PNG', mimeType: 'image/png' },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'image/png', blob: PNG }] }),
  );
  server.registerResource(
    'watched-resource',
    'test://watched-resource',
    { description: 'Subscribable', mimeType: 'text/plain' },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'watched' }] }),
  );
  server.registerResource(
    'template',
    new ResourceTemplate('test://template/{id}/data', { list: undefined }),
    { description: 'Data by id', mimeType: 'application/json' },
    async (uri, { id }) => {
      const data = { id, templateTest: true, data: `Data for ID: ${String(id)}` };
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(data) }] };
    },
  );
  // 2025 only: resources/subscribe and resources/unsubscribe (removed in 2026-07-28, where
  // subscriptions/listen carries `resourceSubscriptions`).
  server.server.setRequestHandler('resources/subscribe', (request) => {
    subscribed.add(request.params.uri);
    return {};
  });
  server.server.setRequestHandler('resources/unsubscribe', (request) => {
    subscribed.delete(request.params.uri);
    return {};
  });
}

function registerPrompts(server: McpServer, state: FixtureState): void {
  const user = (content: { type: 'text'; text: string }) => ({ role: 'user' as const, content });
  server.registerPrompt('test_simple_prompt', { description: 'A simple prompt' }, async () => ({
    messages: [user({ type: 'text', text: 'This is a simple prompt for testing.' })],
  }));
  server.registerPrompt(
    'test_prompt_with_arguments',
    {
      description: 'A prompt with arguments',
      argsSchema: z.object({
        arg1: completable(z.string().describe('First test argument'), (value) =>
          ['paris', 'park', 'party'].filter((v) => v.startsWith(value)),
        ),
        arg2: z.string().describe('Second test argument'),
      }),
    },
    async ({ arg1, arg2 }) => ({
      messages: [user({ type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` })],
    }),
  );
  server.registerPrompt(
    'test_prompt_with_embedded_resource',
    {
      description: 'A prompt embedding a resource',
      argsSchema: z.object({ resourceUri: z.string().describe('URI of the resource to embed') }),
    },
    async ({ resourceUri }) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'resource',
            resource: {
              uri: resourceUri,
              mimeType: 'text/plain',
              text: 'Embedded resource content for testing.',
            },
          },
        },
        user({ type: 'text', text: 'Please process the embedded resource above.' }),
      ],
    }),
  );
  server.registerPrompt('test_prompt_with_image', { description: 'A prompt with an image' }, async () => ({
    messages: [
      { role: 'user', content: { type: 'image', data: PNG, mimeType: 'image/png' } },
      user({ type: 'text', text: 'Please analyze the image above.' }),
    ],
  }));
  server.registerPrompt(
    'test_input_required_result_prompt',
    { description: 'A prompt that asks the user for context first' },
    async (ctx) => {
      const context = acceptedContent(ctx.mcpReq.inputResponses, 'user_context')?.context;
      if (typeof context === 'string') {
        return { messages: [user({ type: 'text', text: `Use this context: ${context}` })] };
      }
      return inputRequired({
        inputRequests: {
          user_context: elicit('What context should the prompt use?', {
            type: 'object',
            properties: { context: { type: 'string' } },
            required: ['context'],
          }),
        },
      });
    },
  );
  for (const name of state.addedPrompts) registerAddedPrompt(server, name);
}

/* ---------------------------------------------------------------------------------------------- */
/* Serving                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

const LOOPBACK_HOSTNAMES = ['127.0.0.1', 'localhost', '[::1]'];

function newState(options: V2FixtureOptions, fallbackName: string): FixtureState {
  return {
    name: options.name ?? fallbackName,
    cacheHint: options.cacheHint ?? { ttlMs: 60_000, cacheScope: 'public' },
    // One key per fixture, shared by all its per-request instances (rounds land on any of them).
    codec: createRequestStateCodec<RoundState>({ key: randomBytes(32), ttlSeconds: 600 }),
    addedTools: [],
    addedPrompts: [],
    notify: { addTool: () => '', addPrompt: () => '', resourceUpdated: () => {} },
  };
}

/** The fixture's notifier over the modern handler's listen bus and the open 2025 sessions. */
function notifier(state: FixtureState, handler: McpHttpHandler, sessions: Map<string, Session>): V2Notifier {
  return {
    addTool() {
      const name = `added-${state.addedTools.length + 1}`;
      state.addedTools.push(name);
      // Registering on a connected McpServer sends notifications/tools/list_changed on its session.
      for (const { built } of sessions.values()) registerAddedTool(built.server, name);
      handler.notify.toolsChanged();
      return name;
    },
    addPrompt() {
      const name = `added-prompt-${state.addedPrompts.length + 1}`;
      state.addedPrompts.push(name);
      for (const { built } of sessions.values()) registerAddedPrompt(built.server, name);
      handler.notify.promptsChanged();
      return name;
    },
    resourceUpdated(uri) {
      for (const { built } of sessions.values()) {
        if (built.subscribed.has(uri)) built.server.server.sendResourceUpdated({ uri }).catch(() => {});
      }
      handler.notify.resourceUpdated(uri);
    },
  };
}

interface Session {
  readonly transport: WebStandardStreamableHTTPServerTransport;
  readonly built: Built;
}

const jsonError = (status: number, code: number, message: string) =>
  Response.json({ jsonrpc: '2.0', id: null, error: { code, message } }, { status });

/** The 2025 leg of a dual-era fixture: one SDK v2 server and sessionful transport per session. */
function sessionfulLegacy(state: FixtureState, sessions: Map<string, Session>) {
  return async (request: Request): Promise<Response> => {
    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId !== null) {
      const session = sessions.get(sessionId);
      return session ? session.transport.handleRequest(request) : jsonError(404, -32001, 'Session not found');
    }
    const built = buildServer(state);
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => void sessions.set(id, { transport, built }),
      onsessionclosed: (id) => void sessions.delete(id),
    });
    await built.server.connect(transport);
    const response = await transport.handleRequest(request);
    // Not an initialize (the transport answered 400): nothing to keep.
    if (transport.sessionId === undefined) await built.server.close();
    return response;
  };
}

async function readJson(request: Request): Promise<unknown> {
  if (request.method !== 'POST') return undefined;
  try {
    return JSON.parse(await request.clone().text());
  } catch {
    return undefined;
  }
}

async function listen(
  port: number,
  seen: SeenRequest[],
  route: (request: Request) => Promise<Response>,
): Promise<{ http: HttpServer; port: number }> {
  const listener = getRequestListener(async (request, env) => {
    seen.push({
      method: request.method,
      headers: env.incoming.headers as SeenRequest['headers'],
      body: await readJson(request),
    });
    if (new URL(request.url).pathname !== '/mcp') return new Response('not found', { status: 404 });
    return hostHeaderValidationResponse(request, LOOPBACK_HOSTNAMES) ?? route(request);
  });
  const http = createServer((req, res) => void listener(req, res));
  await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
  return { http, port: (http.address() as AddressInfo).port };
}

async function start(
  state: FixtureState,
  era: 'modern' | 'dual',
  options: V2FixtureOptions,
  legacy: 'reject' | 'sessions' | 'stateless',
): Promise<V2FixtureServer> {
  const factory = (_ctx: McpRequestContext) => buildServer(state).server;
  const handler = createMcpHandler(factory, { legacy: legacy === 'stateless' ? 'stateless' : 'reject' });
  const sessions = new Map<string, Session>();
  state.notify = notifier(state, handler, sessions);
  const legacyLeg = legacy === 'sessions' ? sessionfulLegacy(state, sessions) : undefined;
  const seen: SeenRequest[] = [];
  const { http, port } = await listen(options.port ?? 0, seen, async (request) =>
    legacyLeg && (await isLegacyRequest(request)) ? legacyLeg(request) : handler.fetch(request),
  );
  return {
    name: state.name,
    era,
    port,
    url: `http://127.0.0.1:${port}/mcp`,
    seen,
    notify: state.notify,
    legacySessions: () => sessions.size,
    async close() {
      await handler.close().catch(() => {});
      for (const { transport, built } of sessions.values()) {
        await transport.close().catch(() => {});
        await built.server.close().catch(() => {});
      }
      sessions.clear();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** 2026-07-28 only: stateless, `server/discover`, per-request `_meta`; refuses a 2025 `initialize`. */
export async function startModernServer(options: V2FixtureOptions = {}): Promise<V2FixtureServer> {
  return start(newState(options, 'mcplane-v2-modern'), 'modern', options, 'reject');
}

/** 2026-07-28 and the 2025 revisions on one `/mcp` (see `DualEraOptions.legacy`). */
export async function startDualEraServer(options: DualEraOptions = {}): Promise<V2FixtureServer> {
  return start(newState(options, 'mcplane-v2-dual'), 'dual', options, options.legacy ?? 'sessions');
}

/** 2025 only: the v1 SDK conformance fixture (sessionful; no `seen` log, no notifier). */
export async function startLegacyServer(
  options: { port?: number; json?: boolean } = {},
): Promise<LegacyFixtureServer> {
  const upstream = await startConformanceUpstream(options.port ?? 0, { json: options.json });
  return { ...upstream, name: 'mcplane-conformance-upstream', era: 'legacy' };
}
