/**
 * The `x-mcp-header` markers of 2026 targets' tools, so a 2025 client's `tools/call` reaches a 2026
 * target with the `Mcp-Param-*` headers it checks (wire/param-headers.ts). Read from the target's
 * own `tools/list` when a call first needs them, kept per server and upstream credential for the
 * era age (--upstream-era-max-age), one question at a time per server. A failed question sends the
 * call without the headers (the target says what it misses) and is asked again next time.
 */
import { credentialKey } from '../../../shared/digest.js';
import { setNewest } from '../../../shared/newest.js';
import type { McpTarget } from '../../../shared/table.js';
import { endpointKey } from '../../upstream/transport.js';
import { asObject } from '../wire/jsonrpc.js';
import { type ParamHeader, paramHeadersOf } from '../wire/param-headers.js';
import type { Context } from './context.js';
import { awaitResponse, type Hop, post } from './upstream-call.js';

/** Markers known per tool: only tools that have any (or a malformed one: undefined, no headers). */
type Markers = ReadonlyMap<string, readonly ParamHeader[] | undefined>;

/** Servers remembered at once, and pages of a tools/list read (a target's list is its own bytes). */
const MAX_KNOWN = 1024;
const MAX_PAGES = 10;

export class ToolHeaders {
  readonly #known = new Map<string, { readonly markers: Markers; readonly at: number }>();
  readonly #asking = new Map<string, Promise<Markers | undefined>>();

  constructor(readonly maxAgeMs: number) {}

  /** The headers a call of `tool` with `args` carries to this 2026 target, if it marks any. */
  async of(
    cx: Pick<Context, 'deps' | 'backend' | 'access'>,
    target: McpTarget,
    hop: Hop,
    tool: string,
    signal: AbortSignal | undefined,
  ): Promise<readonly ParamHeader[] | undefined> {
    const key = `${endpointKey(hop.endpoint)}${target.path}\n${credentialKey(cx.access.upstreamCredential)}`;
    const known = this.#known.get(key);
    if (known && performance.now() - known.at < this.maxAgeMs) return known.markers.get(tool);
    let asking = this.#asking.get(key);
    if (!asking) {
      asking = read(cx, target, hop, signal)
        .then((markers) => {
          setNewest(this.#known, key, { markers, at: performance.now() }, MAX_KNOWN);
          return markers;
        })
        .catch(() => undefined)
        .finally(() => this.#asking.delete(key));
      this.#asking.set(key, asking);
    }
    return (await asking)?.get(tool);
  }
}

async function read(
  cx: Pick<Context, 'deps' | 'backend' | 'access'>,
  target: McpTarget,
  hop: Hop,
  signal: AbortSignal | undefined,
): Promise<Markers> {
  const markers = new Map<string, readonly ParamHeader[] | undefined>();
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: `mcplane-tool-headers-${page}`,
      method: 'tools/list',
      params: cursor === undefined ? {} : { cursor },
    });
    const response = await awaitResponse(
      await post(cx, target, hop, 'tools/list', body, signal),
      target.name,
    );
    const result = asObject(response.result);
    const tools = Array.isArray(result?.tools) ? result.tools : [];
    for (const entry of tools) {
      const tool = asObject(entry);
      if (typeof tool?.name !== 'string') continue;
      const marked = paramHeadersOf(tool.inputSchema);
      if (marked === undefined || marked.length > 0) markers.set(tool.name, marked);
    }
    cursor = typeof result?.nextCursor === 'string' ? result.nextCursor : undefined;
    if (cursor === undefined) break;
  }
  return markers;
}
