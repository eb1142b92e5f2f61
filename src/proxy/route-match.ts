/**
 * Route matching on one table snapshot. translate() already sorted each listener's routes by Gateway
 * API precedence, so the first route whose hostname, path, method, headers and query all match wins.
 */
import type { HeaderMatch, Listener, PathMatch, Route } from '../shared/table.js';
import type { RequestHeaders } from './mcp/wire/incoming.js';

export interface RequestFacts {
  /** Host header without the port, lower-cased. */
  readonly host: string;
  readonly path: string;
  readonly method: string;
  readonly headers: Pick<RequestHeaders, 'get'>;
  readonly query: URLSearchParams;
}

// Patterns come from the table, which is immutable: compile each once, keyed by the pattern text.
const regexCache = new Map<string, RegExp | null>();

function regex(pattern: string): RegExp | null {
  let compiled = regexCache.get(pattern);
  if (compiled === undefined) {
    try {
      compiled = new RegExp(`^(?:${pattern})$`);
    } catch {
      compiled = null; // an invalid pattern matches nothing (translate reports it)
    }
    if (regexCache.size > 10_000) regexCache.clear();
    regexCache.set(pattern, compiled);
  }
  return compiled;
}

export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return pattern === host;
}

export function pathMatches(match: PathMatch, path: string): boolean {
  switch (match.type) {
    case 'Exact':
      return path === match.value;
    case 'PathPrefix': {
      // Gateway API prefixes match whole path segments: `/mcp` matches `/mcp` and `/mcp/x`, not `/mcpx`.
      const prefix =
        match.value.endsWith('/') && match.value.length > 1 ? match.value.slice(0, -1) : match.value;
      if (prefix === '/') return true;
      return path === prefix || path.startsWith(`${prefix}/`);
    }
    default:
      return regex(match.value)?.test(path) ?? false;
  }
}

function valueMatches(match: HeaderMatch, value: string | null): boolean {
  if (value === null) return false;
  return match.type === 'Exact' ? value === match.value : (regex(match.value)?.test(value) ?? false);
}

export function routeMatches(route: Route, req: RequestFacts): boolean {
  if (!hostMatches(route.hostname, req.host)) return false;
  if (!pathMatches(route.path, req.path)) return false;
  if (route.method !== undefined && route.method !== req.method) return false;
  for (const header of route.headers) if (!valueMatches(header, req.headers.get(header.name))) return false;
  for (const param of route.queryParams) if (!valueMatches(param, req.query.get(param.name))) return false;
  return true;
}

export function matchRoute(listener: Listener, req: RequestFacts): Route | undefined {
  for (const route of listener.routes) if (routeMatches(route, req)) return route;
  return undefined;
}

/** The Host header without its port, lower-cased; IPv6 literals keep their brackets. */
export function hostOf(hostHeader: string | null): string {
  if (!hostHeader) return '';
  const lower = hostHeader.toLowerCase();
  if (lower.startsWith('[')) return lower.slice(0, lower.indexOf(']') + 1);
  const colon = lower.indexOf(':');
  return colon === -1 ? lower : lower.slice(0, colon);
}
