/** Discovery documents (`/version`, `/api`, `/apis`, `/api/v1`, `/apis/G/V`) so kubectl can find the served kinds. */
import { FAKE_KINDS, type FakeKind } from './kinds.js';
import type { JsonObject } from './status.js';

export function discovery(path: string, installed: (kind: FakeKind) => boolean): JsonObject | undefined {
  const kinds = [...FAKE_KINDS.values()].filter(installed);
  if (path === '/version') {
    return { major: '1', minor: '33', gitVersion: 'v1.33.0-mcplane-test', platform: 'linux/amd64' };
  }
  if (path === '/api') {
    return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
  }
  if (path === '/apis') {
    const groups = new Map<string, Set<string>>();
    for (const k of kinds)
      if (k.group) groups.set(k.group, (groups.get(k.group) ?? new Set()).add(k.version));
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [...groups].map(([name, versions]) => {
        const list = [...versions].map((version) => ({ groupVersion: `${name}/${version}`, version }));
        return { name, versions: list, preferredVersion: list[0]! };
      }),
    };
  }
  const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
  if (!m) return undefined;
  const [group, version] = m[1] ? ['', m[1]] : [m[2]!, m[3]!];
  const served = kinds.filter((k) => k.group === group && k.version === version);
  if (served.length === 0) return undefined;
  const verbs = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: served.flatMap((k) => [
      { name: k.plural, singularName: k.kind.toLowerCase(), namespaced: k.namespaced, kind: k.kind, verbs },
      ...(k.statusSubresource
        ? [
            {
              name: `${k.plural}/status`,
              singularName: '',
              namespaced: k.namespaced,
              kind: k.kind,
              verbs: ['get', 'patch', 'update'],
            },
          ]
        : []),
    ]),
  };
}
