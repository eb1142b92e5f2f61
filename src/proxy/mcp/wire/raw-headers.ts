/**
 * A request's `Mcp-Param-*` headers from node:http's raw header list, in one pass over it (no
 * header object is iterated for them on a 2026-07-28 `tools/call`).
 */

const PREFIX = 'mcp-param-';

/**
 * The `Mcp-Param-*` headers in node:http's raw list `raw` as web `Headers` would give them: names
 * in lower case, repeated ones joined with ", ", in name order.
 */
export function paramHeaderEntries(raw: readonly string[]): [string, string][] {
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
