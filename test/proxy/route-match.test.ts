import { describe, expect, it } from 'vitest';
import {
  hostMatches,
  hostOf,
  matchRoute,
  pathMatches,
  type RequestFacts,
} from '../../src/proxy/route-match.js';
import type { Listener, Route } from '../../src/shared/table.js';

function route(id: string, overrides: Partial<Route> = {}): Route {
  return {
    id,
    routeName: `default/${id}`,
    hostname: '*',
    path: { type: 'PathPrefix', value: '/' },
    headers: [],
    queryParams: [],
    action: { type: 'error', status: 503, message: id },
    ...overrides,
  };
}

function facts(overrides: Partial<RequestFacts> & { url?: string } = {}): RequestFacts {
  const url = new URL(overrides.url ?? 'http://localhost:8080/mcp');
  return {
    host: url.hostname,
    path: url.pathname,
    method: 'POST',
    headers: new Headers(),
    query: url.searchParams,
    ...overrides,
  };
}

describe('route matching', () => {
  it('matches PathPrefix on whole segments only', () => {
    const prefix = { type: 'PathPrefix', value: '/mcp' } as const;
    expect(pathMatches(prefix, '/mcp')).toBe(true);
    expect(pathMatches(prefix, '/mcp/x')).toBe(true);
    expect(pathMatches(prefix, '/mcpx')).toBe(false);
    expect(pathMatches({ type: 'PathPrefix', value: '/mcp/' }, '/mcp')).toBe(true);
    expect(pathMatches({ type: 'PathPrefix', value: '/' }, '/anything')).toBe(true);
  });

  it('matches Exact and RegularExpression paths; an invalid pattern matches nothing', () => {
    expect(pathMatches({ type: 'Exact', value: '/mcp' }, '/mcp')).toBe(true);
    expect(pathMatches({ type: 'Exact', value: '/mcp' }, '/mcp/')).toBe(false);
    expect(pathMatches({ type: 'RegularExpression', value: '/team-[a-z]+/mcp' }, '/team-a/mcp')).toBe(true);
    expect(pathMatches({ type: 'RegularExpression', value: '/team-[a-z]+/mcp' }, '/x/team-a/mcp')).toBe(
      false,
    );
    expect(pathMatches({ type: 'RegularExpression', value: '(' }, '/')).toBe(false);
  });

  it('matches exact and wildcard hostnames; a wildcard needs at least one more label', () => {
    expect(hostMatches('*', 'anything')).toBe(true);
    expect(hostMatches('mcp.example.com', 'mcp.example.com')).toBe(true);
    expect(hostMatches('*.example.com', 'mcp.example.com')).toBe(true);
    expect(hostMatches('*.example.com', 'example.com')).toBe(false);
    expect(hostMatches('mcp.example.com', 'other.example.com')).toBe(false);
  });

  it('strips the port from the Host header and keeps IPv6 brackets', () => {
    expect(hostOf('LocalHost:8080')).toBe('localhost');
    expect(hostOf('[::1]:8080')).toBe('[::1]');
    expect(hostOf(null)).toBe('');
  });

  it('takes the first route in table order whose headers, query and method all match', () => {
    const listener: Listener = {
      port: 8080,
      gatewayListeners: ['default/gw/http'],
      routes: [
        route('admin', { headers: [{ type: 'Exact', name: 'x-user', value: 'admin' }] }),
        route('get-only', { method: 'GET' }),
        route('beta', { queryParams: [{ type: 'RegularExpression', name: 'v', value: 'beta[0-9]' }] }),
        route('default'),
      ],
    };
    const admin = new Headers({ 'X-User': 'admin' });
    expect(matchRoute(listener, facts({ headers: admin }))?.id).toBe('admin');
    expect(matchRoute(listener, facts({ method: 'GET' }))?.id).toBe('get-only');
    expect(matchRoute(listener, facts({ url: 'http://localhost/mcp?v=beta2' }))?.id).toBe('beta');
    expect(matchRoute(listener, facts({ url: 'http://localhost/mcp?v=gamma' }))?.id).toBe('default');
  });

  it('returns undefined when nothing matches', () => {
    const listener: Listener = {
      port: 8080,
      gatewayListeners: [],
      routes: [route('only', { hostname: 'mcp.example.com' })],
    };
    expect(matchRoute(listener, facts())).toBeUndefined();
  });
});
