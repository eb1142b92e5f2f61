/**
 * Labelled metric children (prom-client's, or the bound cells of shared/bound-metrics.ts), cached per
 * label tuple. `metric.labels(...)` builds a label object or a key string on every call; the data
 * plane updates several labelled metrics per request, so it looks each child up once and keeps it,
 * in nested maps keyed by the label values themselves (a joined key string would be built and
 * hashed anew on every request).
 */
interface Labelled<C> {
  labels(...values: string[]): C;
}

/** Beyond this many label tuples per metric (routes and backends come and go), start over. */
const MAX_CHILDREN = 10_000;

type Level = Map<string, unknown>;

interface Cache {
  root: Level;
  size: number;
}

const caches = new WeakMap<object, Cache>();

function level(parent: Level, key: string): Level {
  let next = parent.get(key) as Level | undefined;
  if (next === undefined) {
    next = new Map();
    parent.set(key, next);
  }
  return next;
}

/** The map holding the last label's children: one level per label before it. */
function leafLevel(
  root: Level,
  a: string,
  b: string,
  c: string,
  d: string | undefined,
  e: string | undefined,
): Level {
  const node = level(level(root, a), b);
  if (d === undefined) return node;
  const next = level(node, c);
  return e === undefined ? next : level(next, d);
}

/**
 * The child of `metric` for these label values (three to five, in the metric's label order). Fixed
 * parameters, not a rest array: this runs several times per request.
 */
export function child<C>(metric: Labelled<C>, a: string, b: string, c: string, d?: string, e?: string): C {
  let cache = caches.get(metric);
  if (!cache) {
    cache = { root: new Map(), size: 0 };
    caches.set(metric, cache);
  }
  const last = e ?? d ?? c;
  let leaves = leafLevel(cache.root, a, b, c, d, e);
  let found = leaves.get(last) as C | undefined;
  if (found === undefined) {
    if (cache.size >= MAX_CHILDREN) {
      cache.root = new Map();
      cache.size = 0;
      leaves = leafLevel(cache.root, a, b, c, d, e);
    }
    found =
      d === undefined
        ? metric.labels(a, b, c)
        : e === undefined
          ? metric.labels(a, b, c, d)
          : metric.labels(a, b, c, d, e);
    leaves.set(last, found);
    cache.size += 1;
  }
  return found;
}
