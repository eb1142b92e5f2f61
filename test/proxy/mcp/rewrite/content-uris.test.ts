/**
 * Resource URIs inside results (resource_link, embedded resources) are prefixed behind a
 * multiplexed backend, so the client can read the linked resource back through the gateway; a
 * transparent backend leaves them untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendOf, connectClient, targetOf, testGateways } from '../../../support/mcp-harness.js';
import { type FixtureServer, startFixture } from '../../../support/mcp-servers.js';

describe('resource URIs inside results', () => {
  let a: FixtureServer;
  let b: FixtureServer;
  const gateways = testGateways();

  beforeAll(async () => {
    a = await startFixture({ name: 'a', resources: true, links: true });
    b = await startFixture({ name: 'b', resources: true, links: true });
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  it('are prefixed on a multiplexed backend, and the linked resource reads back', async () => {
    const gateway = await gateways.start(backendOf([targetOf('a', a.port), targetOf('b', b.port)]));
    const client = await connectClient(gateway.url);
    const result = await client.callTool({ name: 'b_link_readme', arguments: {} });
    expect(result.content).toEqual([
      { type: 'resource_link', uri: 'b+memo://readme', name: 'readme' },
      { type: 'resource', resource: { uri: 'b+memo://readme', text: 'readme of b' } },
    ]);
    const read = await client.readResource({ uri: 'b+memo://readme' });
    expect(read.contents).toEqual([{ uri: 'b+memo://readme', text: 'readme of b' }]);
    await client.close();
  });

  it('pass through unchanged on a transparent backend', async () => {
    const gateway = await gateways.start(backendOf([targetOf('a', a.port)]));
    const client = await connectClient(gateway.url);
    const result = await client.callTool({ name: 'link_readme', arguments: {} });
    expect(result.content).toEqual([
      { type: 'resource_link', uri: 'memo://readme', name: 'readme' },
      { type: 'resource', resource: { uri: 'memo://readme', text: 'readme of a' } },
    ]);
    await client.close();
  });
});
