import { describe, expect, it } from 'vitest';
import { type RouteEntry, sortByPrecedence } from '../../src/control/translate/precedence.js';
import type { PathMatch, Route } from '../../src/shared/table.js';

function entry(
  id: string,
  fields: Partial<Route> & { createdAt?: string; rule?: number; match?: number },
): RouteEntry {
  const { createdAt = '', rule = 0, match = 0, ...route } = fields;
  return {
    route: {
      id,
      routeName: route.routeName ?? 'default/r',
      hostname: '*',
      path: { type: 'PathPrefix', value: '/' } satisfies PathMatch,
      headers: [],
      queryParams: [],
      action: { type: 'error', status: 503, message: '' },
      ...route,
    },
    createdAt,
    rule,
    match,
    listeners: [],
  };
}

const ids = (entries: RouteEntry[]) => sortByPrecedence(entries).map((e) => e.route.id);

describe('sortByPrecedence', () => {
  it('orders hostnames exact > longer wildcard > shorter wildcard > *', () => {
    expect(
      ids([
        entry('any', {}),
        entry('wild', { hostname: '*.example.com' }),
        entry('exact', { hostname: 'a.example.com' }),
        entry('longer-wild', { hostname: '*.b.example.com' }),
      ]),
    ).toEqual(['exact', 'longer-wild', 'wild', 'any']);
  });

  it('orders paths Exact > longest PathPrefix > RegularExpression', () => {
    expect(
      ids([
        entry('regex', { path: { type: 'RegularExpression', value: '^/.*$' } }),
        entry('root', {}),
        entry('prefix', { path: { type: 'PathPrefix', value: '/mcp' } }),
        entry('exact', { path: { type: 'Exact', value: '/' } }),
      ]),
    ).toEqual(['exact', 'prefix', 'root', 'regex']);
  });

  it('then method, more headers, more query params', () => {
    const header = { type: 'Exact' as const, name: 'x', value: '1' };
    expect(
      ids([
        entry('plain', {}),
        entry('query', { queryParams: [header] }),
        entry('one-header', { headers: [header] }),
        entry('two-headers', { headers: [header, header] }),
        entry('method', { method: 'POST' }),
      ]),
    ).toEqual(['method', 'two-headers', 'one-header', 'query', 'plain']);
  });

  it('breaks full ties by age, then ns/name, then rule and match index', () => {
    expect(
      ids([
        entry('b-young', { routeName: 'default/b', createdAt: '2025-02-01T00:00:00Z' }),
        entry('z-old', { routeName: 'default/z', createdAt: '2025-01-01T00:00:00Z' }),
        entry('a-young-r1', { routeName: 'default/a', createdAt: '2025-02-01T00:00:00Z', rule: 1 }),
        entry('a-young-r0m1', { routeName: 'default/a', createdAt: '2025-02-01T00:00:00Z', match: 1 }),
        entry('a-young-r0m0', { routeName: 'default/a', createdAt: '2025-02-01T00:00:00Z' }),
      ]),
    ).toEqual(['z-old', 'a-young-r0m0', 'a-young-r0m1', 'a-young-r1', 'b-young']);
  });
});
