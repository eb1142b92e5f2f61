/**
 * A request's `Mcp-Param-*` headers without iterating its web `Headers`: iterating them (the
 * adapter's lazy headers) builds a full `Headers` object, ~5 µs and a share of garbage on every
 * 2026-07-28 `tools/call`. server.ts remembers each request's raw header list from `node:http`;
 * the rest of a request's headers are read with `get()`, which needs no such object.
 */
const rawHeaders = new WeakMap<Request, readonly string[]>();

const PREFIX = 'mcp-param-';

/** The raw `[name, value, name, value, …]` list node:http parsed for `request` (server.ts). */
export function rememberRawHeaders(request: Request, raw: readonly string[]): void {
  rawHeaders.set(request, raw);
}

/**
 * The `Mcp-Param-*` headers of `request` as web `Headers` would give them: names in lower case,
 * repeated ones joined with ", ", in name order.
 */
export function paramHeaderEntries(request: Request): [string, string][] {
  const raw = rawHeaders.get(request);
  if (raw === undefined) return [...request.headers].filter(([name]) => name.startsWith(PREFIX));
  let found: Map<string, string> | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length <= PREFIX.length || name.slice(0, PREFIX.length).toLowerCase() !== PREFIX) continue;
    const lower = name.toLowerCase();
    const value = raw[i + 1]!.trim();
    found ??= new Map();
    const before = found.get(lower);
    found.set(lower, before === undefined ? value : `${before}, ${value}`);
  }
  return found === undefined ? [] : [...found].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
