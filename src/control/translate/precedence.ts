/**
 * Gateway API precedence within one listener port; the proxy takes the first entry that matches.
 *
 * hostname (exact > longer wildcard > `*`) → Exact path > longer PathPrefix > RegularExpression →
 * method → more header matches → more query matches → oldest route → `ns/name` → rule → match.
 */
import type { PathMatch, Route } from '../../shared/table.js';
import { ANY_HOST } from './hostnames.js';
import { compareStrings } from './order.js';

export interface RouteEntry {
  readonly route: Route;
  /** The HTTPRoute's creationTimestamp ('' when unknown). */
  readonly createdAt: string;
  readonly rule: number;
  readonly match: number;
  /** Listener keys (`<ns>/<gateway>/<listener>`) on this port the route attached to: policies attach through them. */
  readonly listeners: readonly string[];
  /** The rule's `name`, which a policy's `sectionName` on an HTTPRoute names. */
  readonly ruleName?: string;
}

function hostnameClass(hostname: string): number {
  if (hostname === ANY_HOST) return 2;
  return hostname.startsWith('*.') ? 1 : 0;
}

const PATH_CLASS: Record<PathMatch['type'], number> = { Exact: 0, PathPrefix: 1, RegularExpression: 2 };

export function compareHostnames(a: string, b: string): number {
  return hostnameClass(a) - hostnameClass(b) || b.length - a.length || compareStrings(a, b);
}

export function comparePaths(a: PathMatch, b: PathMatch): number {
  const byClass = PATH_CLASS[a.type] - PATH_CLASS[b.type];
  if (byClass !== 0) return byClass;
  // Longest prefix first; for Exact and RegularExpression the length only makes the order total.
  return b.value.length - a.value.length;
}

export function compareEntries(a: RouteEntry, b: RouteEntry): number {
  const ra = a.route;
  const rb = b.route;
  return (
    compareHostnames(ra.hostname, rb.hostname) ||
    comparePaths(ra.path, rb.path) ||
    Number(rb.method !== undefined) - Number(ra.method !== undefined) ||
    rb.headers.length - ra.headers.length ||
    rb.queryParams.length - ra.queryParams.length ||
    compareStrings(a.createdAt, b.createdAt) ||
    compareStrings(ra.routeName, rb.routeName) ||
    a.rule - b.rule ||
    a.match - b.match ||
    compareStrings(ra.id, rb.id)
  );
}

export function sortByPrecedence(entries: readonly RouteEntry[]): RouteEntry[] {
  return [...entries].sort(compareEntries);
}
