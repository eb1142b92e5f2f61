/**
 * Fixture features beyond tools/prompts/resources: tools that ask the client (sampling, elicitation,
 * roots), notifications on the session stream (logging, resource subscriptions), and experimental
 * tasks. Each server request is sent either on the calling request's stream (`via: "request"`,
 * the SDK's relatedRequestId) or on the session's GET stream (`via: "session"`).
 */
import {
  InMemoryTaskMessageQueue,
  InMemoryTaskStore,
} from '@modelcontextprotocol/sdk/experimental/tasks/stores/in-memory.js';
import type { ServerOptions } from '@modelcontextprotocol/sdk/server/index.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  type LoggingLevel,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { FixtureOptions } from './mcp-servers.js';

/** One task store per fixture (shared by its sessions, as a real server's would be). */
const taskStores = new WeakMap<FixtureOptions, InMemoryTaskStore>();

export function featureServerOptions(options: FixtureOptions): ServerOptions {
  const capabilities: NonNullable<ServerOptions['capabilities']> = {};
  const extra: ServerOptions = {};
  if (options.notifications) {
    capabilities.logging = {};
    if (options.resources) capabilities.resources = { subscribe: true };
  }
  if (options.tasks) {
    let store = taskStores.get(options);
    if (!store) {
      store = new InMemoryTaskStore();
      taskStores.set(options, store);
    }
    capabilities.tasks = { list: {}, cancel: {}, requests: { tools: { call: {} } } };
    extra.taskStore = store;
    extra.taskMessageQueue = new InMemoryTaskMessageQueue();
  }
  return { ...extra, capabilities };
}

const via = { via: z.enum(['request', 'session']).optional() };

export function registerFeatures(server: McpServer, options: FixtureOptions): void {
  if (options.clientFeatures) registerClientFeatures(server, options.name);
  if (options.notifications) registerLogging(server, options.name);
  if (options.notifications && options.resources) registerSubscriptions(server);
  if (options.tasks) registerTasks(server, options.name);
}

function registerClientFeatures(server: McpServer, name: string): void {
  const related = (mode: string | undefined, requestId: string | number) =>
    mode === 'session' ? {} : { relatedRequestId: requestId };
  server.registerTool('sample', { inputSchema: via }, async ({ via: mode }, extra) => {
    const answer = await server.server.createMessage(
      {
        messages: [{ role: 'user', content: { type: 'text', text: `question from ${name}` } }],
        maxTokens: 10,
      },
      related(mode, extra.requestId),
    );
    const text = answer.content.type === 'text' ? answer.content.text : answer.content.type;
    return { content: [{ type: 'text', text: `${name} sampled: ${text}` }] };
  });
  server.registerTool('elicit', { inputSchema: via }, async ({ via: mode }, extra) => {
    const answer = await server.server.elicitInput(
      {
        message: `${name} asks your name`,
        requestedSchema: { type: 'object', properties: { who: { type: 'string' } }, required: ['who'] },
      },
      related(mode, extra.requestId),
    );
    return { content: [{ type: 'text', text: `${name} elicited: ${answer.action} ${answer.content?.who}` }] };
  });
  server.registerTool('roots', { inputSchema: via }, async ({ via: mode }, extra) => {
    const { roots } = await server.server.listRoots(undefined, related(mode, extra.requestId));
    return { content: [{ type: 'text', text: `${name} roots: ${roots.map((r) => r.uri).join(',')}` }] };
  });
}

function registerSubscriptions(server: McpServer): void {
  const subscribed = new Set<string>();
  server.server.setRequestHandler(SubscribeRequestSchema, ({ params }) => {
    subscribed.add(params.uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, ({ params }) => {
    subscribed.delete(params.uri);
    return {};
  });
  // Tell subscribers their resources changed (session stream, as the SDK sends it).
  server.registerTool('touch', {}, async () => {
    for (const uri of subscribed) await server.server.sendResourceUpdated({ uri });
    return { content: [{ type: 'text', text: `touched ${[...subscribed].join(',')}` }] };
  });
}

function registerLogging(server: McpServer, name: string): void {
  const level = z.enum(['debug', 'info', 'warning', 'error']);
  // A log line on the session stream, filtered by the level the client set (logging/setLevel).
  server.registerTool('log', { inputSchema: { level, data: z.string() } }, async (args, extra) => {
    await server.server.sendLoggingMessage(
      { level: args.level as LoggingLevel, logger: 'fixture', data: args.data },
      extra.sessionId,
    );
    return { content: [{ type: 'text', text: `${name} logged` }] };
  });
  // A log line scoped to the call: it travels on the call's own stream.
  server.registerTool('log-here', { inputSchema: { data: z.string() } }, async ({ data }, extra) => {
    await extra.sendNotification({
      method: 'notifications/message',
      params: { level: 'info', data },
    });
    return { content: [{ type: 'text', text: `${name} logged here` }] };
  });
}

function registerTasks(server: McpServer, name: string): void {
  server.experimental.tasks.registerToolTask(
    'delay',
    { inputSchema: { ms: z.number() }, execution: { taskSupport: 'required' } },
    {
      async createTask({ ms }, { taskStore, taskRequestedTtl }) {
        const task = await taskStore.createTask({ ttl: taskRequestedTtl ?? 60_000 });
        setTimeout(() => {
          taskStore
            .storeTaskResult(task.taskId, 'completed', {
              content: [{ type: 'text', text: `${name} delayed ${ms}` }],
            })
            .catch(() => {});
        }, ms);
        return { task };
      },
      async getTask(_args, { taskId, taskStore }) {
        return taskStore.getTask(taskId);
      },
      async getTaskResult(_args, { taskId, taskStore }) {
        return (await taskStore.getTaskResult(taskId)) as { content: [] };
      },
    },
  );
}
