/** The key format is pinned: store lookups, status order and golden outputs all sort or look up by it. */
import { describe, expect, it } from 'vitest';
import { kindKey, objectKey } from '../../src/shared/object-key.js';

describe('object keys', () => {
  it('are namespace/name, or the name alone for a cluster-scoped object', () => {
    expect(objectKey('team-a', 'mcp')).toBe('team-a/mcp');
    expect(objectKey(undefined, 'agentgateway')).toBe('agentgateway');
    expect(objectKey('', 'agentgateway')).toBe('agentgateway');
  });

  it('put the kind in front when several kinds share a map', () => {
    expect(kindKey('HTTPRoute', 'default', 'mcp')).toBe('HTTPRoute/default/mcp');
    expect(kindKey('GatewayClass', undefined, 'agentgateway')).toBe('GatewayClass/agentgateway');
  });
});
