/**
 * The chart's RBAC is exactly what the controller needs, derived from KINDS (src/shared/resources.ts):
 * get/list/watch on every kind it reads, get/update/patch on the status subresource of the kinds whose
 * status it writes, and the leader-election Lease in a namespaced Role. Adding a kind to KINDS without
 * granting it (or granting something unused) fails here.
 */
import { describe, expect, it } from 'vitest';
import { KIND_NAMES, KINDS } from '../../src/shared/resources.js';
import { find, renderManifests } from '../support/helm/render.js';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** Flattens rules to sorted `group|resource|verb[|name]` grants, so layout does not matter. */
function grants(rules: Rule[]): string[] {
  const out = new Set<string>();
  for (const r of rules) {
    expect(r.nonResourceURLs).toBeUndefined();
    for (const g of r.apiGroups)
      for (const res of r.resources)
        for (const v of r.verbs) {
          if (r.resourceNames) for (const n of r.resourceNames) out.add(`${g}|${res}|${v}|${n}`);
          else out.add(`${g}|${res}|${v}`);
        }
  }
  return [...out].sort();
}

function expectedClusterGrants(): string[] {
  const out: string[] = [];
  for (const name of KIND_NAMES) {
    const { group, plural, hasStatus } = KINDS[name];
    for (const verb of ['get', 'list', 'watch']) out.push(`${group}|${plural}|${verb}`);
    if (hasStatus)
      for (const verb of ['get', 'update', 'patch']) out.push(`${group}|${plural}/status|${verb}`);
  }
  return out.sort();
}

describe('RBAC', () => {
  const manifests = renderManifests();

  it('the ClusterRole grants read on every kind in KINDS and status writes on those with hasStatus', () => {
    const role = find(manifests, 'ClusterRole') as unknown as { rules: Rule[] };
    expect(grants(role.rules)).toEqual(expectedClusterGrants());
  });

  it('no wildcard, secrets only read (and only labelled ones listed), no write to any spec', () => {
    const all = manifests
      .filter((m) => m.kind === 'ClusterRole' || m.kind === 'Role')
      .flatMap((m) => grants((m as unknown as { rules: Rule[] }).rules));
    expect(all.filter((g) => g.includes('*'))).toEqual([]);
    // RBAC cannot narrow by label: the reflector lists and watches Secrets with a label selector.
    expect(all.filter((g) => g.includes('secrets'))).toEqual([
      '|secrets|get',
      '|secrets|list',
      '|secrets|watch',
    ]);
    expect(KINDS.Secret.labelSelector).toBe('mcplane.dev/credentials=true');
    const writes = all.filter((g) => /\|(create|update|patch|delete|deletecollection)(\||$)/.test(g));
    for (const g of writes) expect(g, g).toMatch(/\/status\||^coordination\.k8s\.io\|leases\|/);
  });

  it('the Lease is granted in a Role in the release namespace, limited to its name where possible', () => {
    const role = find(manifests, 'Role') as unknown as { rules: Rule[]; metadata: { namespace: string } };
    expect(role.metadata.namespace).toBe('mcp-system');
    expect(grants(role.rules)).toEqual([
      'coordination.k8s.io|leases|create', // create cannot be limited by resourceNames
      'coordination.k8s.io|leases|get|agentgateway-status-writer',
      'coordination.k8s.io|leases|update|agentgateway-status-writer',
    ]);
    const deployment = find(manifests, 'Deployment') as any;
    expect(deployment.spec.template.spec.containers[0].args).toContain(
      '--lease-name=agentgateway-status-writer',
    );
  });

  it('the bindings bind those roles to the pod ServiceAccount', () => {
    const sa = find(manifests, 'ServiceAccount').metadata.name;
    for (const [binding, role] of [
      ['ClusterRoleBinding', 'ClusterRole'],
      ['RoleBinding', 'Role'],
    ] as const) {
      const b = find(manifests, binding) as any;
      expect(b.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: role,
        name: find(manifests, role).metadata.name,
      });
      expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: sa, namespace: 'mcp-system' }]);
    }
    expect((find(manifests, 'Deployment') as any).spec.template.spec.serviceAccountName).toBe(sa);
  });
});
