/**
 * `Mcp-Param-*` headers (2026-07-28): a tool's `inputSchema` may mark arguments with
 * `x-mcp-header: <Name>`, and every `tools/call` of it then mirrors those arguments into
 * `Mcp-Param-<Name>` headers that the server checks against the body. A 2025 client knows nothing
 * of them, so the gateway writes them on its hop to a 2026 target from the target's own schema.
 * Pure: the schema and the arguments in, the headers out.
 */
import { encodeHeaderValue } from './era.js';
import { asObject, type JsonObject } from './jsonrpc.js';

/** One marked argument: where it is in `arguments` and the header it goes to. */
export interface ParamHeader {
  readonly path: readonly string[];
  readonly header: string;
}

/** RFC 9110 token: what a header name may hold. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PRIMITIVE = new Set(['string', 'integer', 'boolean', 'number']);
/** Marked arguments one tool may have, and how deep `properties` may nest (a schema is a client's bytes). */
const MAX_DECLARATIONS = 64;
const MAX_DEPTH = 8;

/**
 * The marked arguments of one tool's schema, reachable through `properties` alone (where the spec
 * allows the marker), or undefined when a marker is malformed: the spec makes such a tool invalid,
 * and the gateway then sends no `Mcp-Param-*` for it rather than guess.
 */
export function paramHeadersOf(inputSchema: unknown): readonly ParamHeader[] | undefined {
  const found: ParamHeader[] = [];
  const names = new Set<string>();
  const visit = (node: JsonObject, path: readonly string[]): boolean => {
    const properties = asObject(node.properties);
    if (!properties || path.length >= MAX_DEPTH) return true;
    for (const [key, value] of Object.entries(properties)) {
      const property = asObject(value);
      if (!property) continue;
      const marker = property['x-mcp-header'];
      if (marker !== undefined) {
        if (typeof marker !== 'string' || !TOKEN.test(marker)) return false;
        if (typeof property.type !== 'string' || !PRIMITIVE.has(property.type)) return false;
        const lower = marker.toLowerCase();
        if (names.has(lower) || found.length >= MAX_DECLARATIONS) return false;
        names.add(lower);
        found.push({ path: [...path, key], header: `mcp-param-${lower}` });
      }
      if (!visit(property, [...path, key])) return false;
    }
    return true;
  };
  const schema = asObject(inputSchema);
  if (!schema) return [];
  return visit(schema, []) ? found : undefined;
}

/** The headers a call with `args` carries: null and absent arguments are left out, as are non-primitives. */
export function paramHeaderValues(
  declarations: readonly ParamHeader[],
  args: unknown,
): Record<string, string> | undefined {
  let headers: Record<string, string> | undefined;
  for (const { path, header } of declarations) {
    let value: unknown = args;
    for (const key of path) value = asObject(value)?.[key];
    let text: string;
    if (typeof value === 'string') text = encodeHeaderValue(value);
    else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
    else if (typeof value === 'boolean') text = value ? 'true' : 'false';
    else continue;
    headers ??= {};
    headers[header] = text;
  }
  return headers;
}
