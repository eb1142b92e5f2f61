/**
 * Several targets behind one virtual server: merged lists with prefixed names, calls routed back
 * to the owner, naming modes, resources and completion through prefixes.
 */
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, testGateways, textOf } from '../../../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../../../support/mcp-servers.js';

let alpha: FixtureServer;
let beta: FixtureServer;
let gamma: FixtureServer;
const gateways = testGateways();

beforeAll(async () => {
  [alpha, beta, gamma] = await Promise.all([
    startFixture({ name: 'alpha', prompts: true, resources: true, instructions: 'Alpha rules.' }),
    startFixture({ name: 'beta', instructions: 'Beta rules.', extraTools: ['only-beta'] }),
    startFixture({ name: 'gamma', resources: true, extraTools: ['only-beta'] }),
  ]);
});
afterAll(async () => {
  await Promise.all([alpha, beta, gamma].map((s) => s.close()));
});

describe('two targets, Conditional naming', () => {
  it('merges initialize: lowest version, mcplane serverInfo, capability union, instructions per target', async () => {
    const client = await connectClient((await gateways.over([alpha, beta])).url);
    expect(client.getServerVersion()).toEqual({ name: 'mcplane', version: '0.1.0' });
    const caps = client.getServerCapabilities()!;
    expect(caps.tools).toEqual({ listChanged: true });
    expect(caps.prompts).toEqual({ listChanged: true });
    expect(caps.resources).toEqual({ listChanged: true });
    expect(caps.completions).toEqual({});
    expect(client.getInstructions()).toBe('[alpha]\nAlpha rules.\n\n[beta]\nBeta rules.');
    await client.close();
  });

  it('lists prefixed tools in target order and routes calls to the owner', async () => {
    const client = await connectClient((await gateways.over([alpha, beta])).url);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual([
      'alpha_echo',
      'alpha_add',
      'alpha_whoami',
      'alpha_count',
      'alpha_sleep',
      'alpha_grow',
      'beta_echo',
      'beta_add',
      'beta_whoami',
      'beta_count',
      'beta_sleep',
      'beta_grow',
      'beta_only-beta',
    ]);
    expect(textOf(await client.callTool({ name: 'alpha_whoami' }))).toBe('alpha');
    expect(textOf(await client.callTool({ name: 'beta_whoami' }))).toBe('beta');
    expect(textOf(await client.callTool({ name: 'beta_echo', arguments: { message: 'hi' } }))).toBe(
      'Echo: hi',
    );
    // Only alpha offers prompts: the list is not failed by beta, which has none.
    expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(['alpha_greet']);
    await client.close();
  });

  it('streams progress from a routed call', async () => {
    const client = await connectClient((await gateways.over([alpha, beta])).url);
    const progress: number[] = [];
    const result = await client.callTool({ name: 'beta_count', arguments: { n: 2 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(progress).toEqual([1, 2]);
    expect(textOf(result)).toBe('counted to 2');
    await client.close();
  });

  it('rejects unknown tools and unknown prefixes with -32602 naming the tool', async () => {
    const client = await connectClient((await gateways.over([alpha, beta])).url);
    const unknownPrefix = client.callTool({ name: 'nosuch_echo', arguments: { message: 'x' } });
    await expect(unknownPrefix).rejects.toThrow(McpError);
    await expect(unknownPrefix).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('"nosuch_echo"'),
    });
    await expect(client.callTool({ name: 'echo', arguments: { message: 'x' } })).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('"echo"'),
    });
    await client.close();
  });
});

describe('three targets', () => {
  it('merges and routes tools, resources, templates and completion through prefixes', async () => {
    const client = await connectClient((await gateways.over([alpha, beta, gamma])).url);
    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools.filter((n) => n.endsWith('_whoami'))).toEqual([
      'alpha_whoami',
      'beta_whoami',
      'gamma_whoami',
    ]);
    expect(textOf(await client.callTool({ name: 'gamma_whoami' }))).toBe('gamma');

    const resources = (await client.listResources()).resources.map((r) => r.uri);
    expect(resources).toEqual(['alpha+memo://readme', 'gamma+memo://readme']);
    const templates = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
    expect(templates).toEqual(['alpha+note://{id}', 'gamma+note://{id}']);

    const read = await client.readResource({ uri: 'gamma+memo://readme' });
    expect(read.contents).toEqual([{ uri: 'gamma+memo://readme', text: 'readme of gamma' }]);
    const note = await client.readResource({ uri: 'alpha+note://two' });
    expect(note.contents[0]).toMatchObject({ uri: 'alpha+note://two', text: 'note two of alpha' });

    const byPrompt = await client.complete({
      ref: { type: 'ref/prompt', name: 'alpha_greet' },
      argument: { name: 'who', value: 'a' },
    });
    expect(byPrompt.completion.values).toEqual(['alice']);
    const byResource = await client.complete({
      ref: { type: 'ref/resource', uri: 'gamma+note://{id}' },
      argument: { name: 'id', value: 't' },
    });
    expect(byResource.completion.values).toEqual(['two', 'three']);

    await expect(client.readResource({ uri: 'memo://readme' })).rejects.toMatchObject({ code: -32602 });
    await expect(client.readResource({ uri: 'delta+memo://readme' })).rejects.toMatchObject({ code: -32602 });
    await client.close();
  });
});

describe('prefixMode', () => {
  it('Always prefixes even a single target', async () => {
    const client = await connectClient((await gateways.over([alpha], { prefixMode: 'Always' })).url);
    expect(client.getServerVersion()?.name).toBe('mcplane');
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('alpha_echo');
    expect((await client.listResources()).resources.map((r) => r.uri)).toEqual(['alpha+memo://readme']);
    expect(textOf(await client.callTool({ name: 'alpha_echo', arguments: { message: 'x' } }))).toBe(
      'Echo: x',
    );
    await client.close();
  });

  it('Never keeps upstream names, drops names served twice, and routes by owner', async () => {
    const client = await connectClient((await gateways.over([beta, gamma], { prefixMode: 'Never' })).url);
    const names = (await client.listTools()).tools.map((t) => t.name);
    // beta and gamma serve the same tool names, so every name is ambiguous and dropped.
    expect(names).toEqual([]);
    await expect(client.callTool({ name: 'whoami' })).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('"whoami"'),
    });
    await client.close();

    const mixed = await connectClient((await gateways.over([alpha, beta], { prefixMode: 'Never' })).url);
    const mixedNames = (await mixed.listTools()).tools.map((t) => t.name);
    expect(mixedNames).toEqual(['only-beta']);
    expect(textOf(await mixed.callTool({ name: 'only-beta' }))).toBe('only-beta: beta');
    expect((await mixed.listPrompts()).prompts.map((p) => p.name)).toEqual(['greet']);
    const prompt = await mixed.getPrompt({ name: 'greet', arguments: { who: 'alice' } });
    expect(prompt.messages[0]?.content).toMatchObject({ text: 'Hello alice from alpha' });
    expect((await mixed.readResource({ uri: 'memo://readme' })).contents[0]).toMatchObject({
      uri: 'memo://readme',
    });
    await mixed.close();
  });

  it('Never resolves owners without a prior list (a fresh session)', async () => {
    const client = await connectClient((await gateways.over([alpha, beta], { prefixMode: 'Never' })).url);
    expect(textOf(await client.callTool({ name: 'only-beta' }))).toBe('only-beta: beta');
    await client.close();
  });
});
