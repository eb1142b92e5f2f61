/**
 * Experimental tasks (2025-11-25) through a multiplexed backend, with the SDK's own task server
 * support: task ids are `<target>+<id>`, tasks/list merges the targets that list tasks, and
 * tasks/get, tasks/result and tasks/cancel reach the owner with its own id. Without any target
 * that supports tasks the methods do not exist (-32601).
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, CreateTaskResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELATED_TASK } from '../../../../src/proxy/mcp/rewrite/outbound.js';
import { connectClient, testGateways, textOf } from '../../../support/mcp-harness.js';
import { type FixtureServer, type SeenRequest, startFixture } from '../../../support/mcp-servers.js';

let ta: FixtureServer;
let tb: FixtureServer;
let plain: FixtureServer;
let plain2: FixtureServer;
const gateways = testGateways();

beforeAll(async () => {
  [ta, tb, plain, plain2] = await Promise.all([
    startFixture({ name: 'ta', tasks: true }),
    startFixture({ name: 'tb', tasks: true }),
    startFixture({ name: 'plain' }),
    startFixture({ name: 'plain2' }),
  ]);
});
afterAll(async () => {
  await Promise.all([ta, tb, plain, plain2].map((s) => s.close()));
});

async function clientFor(targets: FixtureServer[]): Promise<Client> {
  return connectClient((await gateways.over(targets)).url);
}

function startTask(client: Client, name: string, ms: number) {
  return client.request(
    { method: 'tools/call', params: { name, arguments: { ms }, task: { ttl: 60_000 } } },
    CreateTaskResultSchema,
  );
}

const body = (r: SeenRequest) => r.body as { method?: string; params?: { taskId?: string } };

describe('tasks across targets', () => {
  it('creates, lists, polls, reads and cancels tasks by target-prefixed id', async () => {
    const client = await clientFor([ta, tb, plain]);
    expect(client.getServerCapabilities()?.tasks).toEqual({
      list: {},
      cancel: {},
      requests: { tools: { call: {} } },
    });
    const quick = (await startTask(client, 'ta_delay', 30)).task;
    const slow = (await startTask(client, 'tb_delay', 10_000)).task;
    expect(quick.taskId).toMatch(/^ta\+/);
    expect(slow.taskId).toMatch(/^tb\+/);

    const listed = (await client.experimental.tasks.listTasks()).tasks.map((t) => t.taskId);
    expect(listed).toContain(quick.taskId);
    expect(listed).toContain(slow.taskId);
    expect(listed.every((id) => id.startsWith('ta+') || id.startsWith('tb+'))).toBe(true);
    expect(plain.seen.some((r) => body(r)?.method === 'tasks/list')).toBe(false);

    // tasks/get reaches ta with ta's own id; the answer carries the client's form.
    let status = await client.experimental.tasks.getTask(quick.taskId);
    for (let i = 0; status.status === 'working' && i < 100; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = await client.experimental.tasks.getTask(quick.taskId);
    }
    expect(status).toMatchObject({ taskId: quick.taskId, status: 'completed' });
    const upstreamId = quick.taskId.slice('ta+'.length);
    expect(
      ta.seen.some((r) => body(r)?.method === 'tasks/get' && body(r).params?.taskId === upstreamId),
    ).toBe(true);

    const result = await client.experimental.tasks.getTaskResult(quick.taskId, CallToolResultSchema);
    expect(textOf(result)).toBe('ta delayed 30');
    const related = (result._meta as Record<string, { taskId?: string }> | undefined)?.[RELATED_TASK];
    expect(related?.taskId).toBe(quick.taskId);

    const cancelled = await client.experimental.tasks.cancelTask(slow.taskId);
    expect(cancelled).toMatchObject({ taskId: slow.taskId, status: 'cancelled' });
    expect(ta.seen.some((r) => body(r)?.method === 'tasks/cancel')).toBe(false);
    await client.close();
  });

  it('rejects task ids that name no target, or a target without tasks, with -32602', async () => {
    const client = await clientFor([ta, plain]);
    for (const taskId of ['no-prefix', 'nosuch+1', 'plain+1']) {
      await expect(client.experimental.tasks.getTask(taskId)).rejects.toMatchObject({
        code: -32602,
        message: expect.stringContaining(taskId),
      });
    }
    await expect(
      client.request({ method: 'tasks/get', params: { taskId: 5 } } as never, CreateTaskResultSchema),
    ).rejects.toMatchObject({ code: -32602 });
    await client.close();
  });

  it('a backend whose targets have no tasks answers -32601 for every tasks method', async () => {
    const client = await clientFor([plain, plain2]);
    expect(client.getServerCapabilities()?.tasks).toBeUndefined();
    await expect(client.experimental.tasks.listTasks()).rejects.toMatchObject({ code: -32601 });
    await expect(client.experimental.tasks.getTask('plain+1')).rejects.toMatchObject({ code: -32601 });
    await expect(client.experimental.tasks.cancelTask('plain+1')).rejects.toMatchObject({ code: -32601 });
    await client.close();
  });

  it('a transparent backend passes task ids through untouched', async () => {
    const client = await clientFor([ta]);
    const { task } = await startTask(client, 'delay', 10);
    expect(task.taskId).not.toContain('+');
    expect((await client.experimental.tasks.getTask(task.taskId)).taskId).toBe(task.taskId);
    await client.close();
  });
});
