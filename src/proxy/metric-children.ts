/**
 * Labelled prom-client children, cached per label tuple. `metric.labels(...)` builds a label object
 * and binds functions on every call; the data plane updates four labelled metrics per request, so
 * it looks each child up once and keeps it. Label values are route, backend and target ids, MCP
 * method names and outcomes, none of which contain a newline.
 */
interface Labelled<C> {
  labels(...values: string[]): C;
}

/** Beyond this many label tuples per metric (routes and backends come and go), start over. */
const MAX_CHILDREN = 10_000;

const caches = new WeakMap<object, Map<string, unknown>>();

export function child<C>(metric: Labelled<C>, a: string, b: string, c: string, d?: string): C {
  let cache = caches.get(metric) as Map<string, C> | undefined;
  if (!cache) {
    cache = new Map();
    caches.set(metric, cache);
  }
  const key = d === undefined ? `${a}\n${b}\n${c}` : `${a}\n${b}\n${c}\n${d}`;
  let found = cache.get(key);
  if (found === undefined) {
    if (cache.size >= MAX_CHILDREN) cache.clear();
    found = d === undefined ? metric.labels(a, b, c) : metric.labels(a, b, c, d);
    cache.set(key, found);
  }
  return found;
}
