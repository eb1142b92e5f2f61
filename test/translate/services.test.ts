import { describe, expect, it } from 'vitest';
import { DEFAULT_CONTROLLER_NAME } from '../../src/control/translate/index.js';
import { mcpProtocolOf, selectServices } from '../../src/control/translate/services.js';
import { buildWorld } from '../../src/control/translate/world.js';
import { compileSelector } from '../../src/shared/labels.js';
import { emptySnapshot, type Namespace, type Service } from '../../src/shared/resources.js';

function service(namespace: string, name: string, labels: Record<string, string>, created = ''): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace, name, labels, ...(created ? { creationTimestamp: created } : {}) },
    spec: { ports: [{ port: 80, appProtocol: 'agentgateway.dev/mcp' }] },
  };
}

function namespace(name: string, labels: Record<string, string> = {}): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

const world = buildWorld(
  {
    ...emptySnapshot(),
    Service: [
      service('team-b', 'tools', { app: 'tools' }, '2025-01-02T00:00:00Z'),
      service('team-a', 'tools', { app: 'tools' }, '2025-01-03T00:00:00Z'),
      service('default', 'local', { app: 'tools' }, '2025-01-01T00:00:00Z'),
      service('default', 'web', { app: 'web' }),
      service('unlisted', 'tools', { app: 'tools' }),
    ],
    Namespace: [namespace('team-a', { mcp: 'on' }), namespace('team-b', { mcp: 'on' }), namespace('default')],
  },
  { controllerName: DEFAULT_CONTROLLER_NAME, clusterDomain: 'cluster.local' },
);
const names = (services: Service[]) => services.map((s) => `${s.metadata.namespace}/${s.metadata.name}`);
const tools = compileSelector({ matchLabels: { app: 'tools' } });

describe('selectServices', () => {
  it('searches only the backend namespace without a namespace selector', () => {
    expect(names(selectServices(world, 'default', tools, undefined))).toEqual(['default/local']);
  });

  it('searches every namespace whose labels match a namespace selector, oldest Service first', () => {
    const on = compileSelector({ matchLabels: { mcp: 'on' } });
    expect(names(selectServices(world, 'default', tools, on))).toEqual(['team-b/tools', 'team-a/tools']);
  });

  it('treats an empty namespace selector as every namespace, with or without a Namespace object', () => {
    expect(names(selectServices(world, 'default', tools, compileSelector({})))).toEqual([
      'unlisted/tools',
      'default/local',
      'team-b/tools',
      'team-a/tools',
    ]);
  });

  it('matches namespaces by the implicit kubernetes.io/metadata.name label', () => {
    const byName = compileSelector({
      matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['unlisted'] }],
    });
    expect(names(selectServices(world, 'default', tools, byName))).toEqual(['unlisted/tools']);
  });
});

describe('mcpProtocolOf', () => {
  it('maps both vendors’ appProtocols and ignores anything else', () => {
    expect(mcpProtocolOf({ port: 1, appProtocol: 'kgateway.dev/mcp' })).toBe('StreamableHTTP');
    expect(mcpProtocolOf({ port: 1, appProtocol: 'agentgateway.dev/mcp-sse' })).toBe('SSE');
    expect(mcpProtocolOf({ port: 1, appProtocol: 'http' })).toBeUndefined();
    expect(mcpProtocolOf({ port: 1 })).toBeUndefined();
  });
});
