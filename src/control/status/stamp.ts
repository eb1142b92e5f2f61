/**
 * Pure status arithmetic for the writer: lastTransitionTime stamping, canonical comparison, and the
 * merge of a shared list (HTTPRoute `parents[]`, AgentgatewayPolicy `ancestors[]`) that keeps other
 * controllers' entries.
 */

type JsonRecord = Record<string, unknown>;

function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON with sorted keys: equal values compare equal whatever their key order. */
export function canonical(value: unknown): string {
  return JSON.stringify(value ?? null, (_key, v: unknown) =>
    isRecord(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/** metav1.Time: RFC 3339 with whole seconds (what the API server itself writes). */
export function metaTime(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}

/**
 * Identity of an element of a status list, so conditions are compared with the same listener's or
 * parent's conditions even when the list order changed. Falls back to the position.
 */
function identity(element: unknown, index: number): string {
  if (isRecord(element)) {
    if (typeof element.name === 'string') return `name:${element.name}`;
    if (element.parentRef !== undefined)
      return `parent:${canonical(element.parentRef)}|${String(element.controllerName)}`;
    if (element.ancestorRef !== undefined)
      return `ancestor:${canonical(element.ancestorRef)}|${String(element.controllerName)}`;
  }
  return `#${index}`;
}

function stampConditions(desired: readonly unknown[], observed: unknown, now: string): unknown[] {
  const previous = new Map<string, JsonRecord>();
  if (Array.isArray(observed)) {
    for (const c of observed) if (isRecord(c) && typeof c.type === 'string') previous.set(c.type, c);
  }
  return desired.map((c) => {
    if (!isRecord(c)) return c;
    const prev = typeof c.type === 'string' ? previous.get(c.type) : undefined;
    // Gateway API (like meta.SetStatusCondition): the time moves only when the status flips.
    const kept = prev && prev.status === c.status && typeof prev.lastTransitionTime === 'string';
    return { ...c, lastTransitionTime: kept ? prev.lastTransitionTime : now };
  });
}

/**
 * Add lastTransitionTime to every `conditions` list in `desired` (at any depth: Gateway listeners and
 * HTTPRoute parents have their own), keeping the observed time when a condition's status is unchanged.
 */
export function stampTransitions(desired: unknown, observed: unknown, now: string): unknown {
  if (Array.isArray(desired)) {
    const byIdentity = new Map<string, unknown>();
    if (Array.isArray(observed)) {
      for (const [i, o] of observed.entries()) byIdentity.set(identity(o, i), o);
    }
    return desired.map((d, i) => stampTransitions(d, byIdentity.get(identity(d, i)), now));
  }
  if (!isRecord(desired)) return desired;
  const prev = isRecord(observed) ? observed : {};
  const out: JsonRecord = {};
  for (const [key, value] of Object.entries(desired)) {
    out[key] =
      key === 'conditions' && Array.isArray(value)
        ? stampConditions(value, prev[key], now)
        : stampTransitions(value, prev[key], now);
  }
  return out;
}

/**
 * A merge patch that makes `observed` equal `desired` for a status we own outright: every top-level key
 * we no longer produce is set to null (RFC 7386 delete), so nothing stale survives.
 */
export function ownedStatusPatch(desired: JsonRecord, observed: unknown): JsonRecord {
  const patch: JsonRecord = { ...desired };
  if (isRecord(observed)) for (const key of Object.keys(observed)) if (!(key in desired)) patch[key] = null;
  return patch;
}

// --- Shared lists: HTTPRoute parents, AgentgatewayPolicy ancestors -------------------------------

/** The status list several controllers write into, each its own entries (by controllerName). */
export type SharedList = 'parents' | 'ancestors';

function parentsOf(status: unknown, field: SharedList = 'parents'): unknown[] {
  const list = isRecord(status) ? status[field] : undefined;
  return Array.isArray(list) ? list : [];
}

function isOurs(entry: unknown, controllerName: string): boolean {
  return isRecord(entry) && entry.controllerName === controllerName;
}

/** Our entries, order-independent, for comparison. */
function oursKey(parents: readonly unknown[], controllerName: string): string {
  return parents
    .filter((p) => isOurs(p, controllerName))
    .map((p) => canonical(p))
    .sort()
    .join('\n');
}

export interface RouteParentsMerge {
  /** The whole new status: everyone else's entries untouched, ours replaced. */
  readonly status: JsonRecord;
  /** True when our entries already equal the desired ones: no write needed. */
  readonly unchanged: boolean;
}

/**
 * `status.parents` has no list-map semantics, so a write replaces the whole array: keep every entry
 * whose controllerName is not ours, in place, and replace ours (dropping parents we no longer serve).
 */
export function mergeRouteParents(
  observed: unknown,
  desiredOurs: readonly unknown[],
  controllerName: string,
  now: string,
  field: SharedList = 'parents',
): RouteParentsMerge {
  const current = parentsOf(observed, field);
  const observedOurs = current.filter((p) => isOurs(p, controllerName));
  const stamped = stampTransitions(desiredOurs, observedOurs, now) as unknown[];
  const others = current.filter((p) => !isOurs(p, controllerName));
  const status: JsonRecord = { ...(isRecord(observed) ? observed : {}), [field]: [...others, ...stamped] };
  return { status, unchanged: oursKey(current, controllerName) === oursKey(stamped, controllerName) };
}

/** Whether a route's observed status still carries entries written under our controllerName. */
export function hasOurParents(
  status: unknown,
  controllerName: string,
  field: SharedList = 'parents',
): boolean {
  return parentsOf(status, field).some((p) => isOurs(p, controllerName));
}
