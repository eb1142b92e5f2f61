/**
 * Hostname intersection between a listener and a route (Gateway API: the more specific side wins).
 * `*` stands for "any host". A wildcard `*.example.com` covers any number of labels before the suffix,
 * never `example.com` itself.
 */

export const ANY_HOST = '*';

/** Does `pattern` (exact or `*.suffix`) cover `host` (exact or wildcard)? */
export function hostCovers(pattern: string, host: string): boolean {
  if (pattern === host) return true;
  if (!pattern.startsWith('*.')) return false;
  const suffix = pattern.slice(1); // `.example.com`
  return host.endsWith(suffix) && host.length > suffix.length;
}

/**
 * The hostnames a route answers for on one listener, de-duplicated, in route order.
 * Empty result = no intersection (the route does not attach to this listener).
 */
export function intersectHostnames(
  listenerHostname: string | undefined,
  routeHostnames: readonly string[] | undefined,
): string[] {
  const listener = listenerHostname?.toLowerCase();
  const routes = (routeHostnames ?? []).map((h) => h.toLowerCase());
  if (routes.length === 0) return [listener ?? ANY_HOST];
  if (listener === undefined) return [...new Set(routes)];
  const result = new Set<string>();
  for (const route of routes) {
    if (hostCovers(listener, route)) result.add(route);
    else if (hostCovers(route, listener)) result.add(listener);
  }
  return [...result];
}
