/**
 * Merged list requests (tools, prompts, resources, templates): ask every target that offers the list (capability-aware), merge the
 * pages with the backend's naming, and hand out a gateway cursor for the pages still to come.
 * A target's complete first page is kept for the session while it would announce a change
 * (list-cache.ts), so an agent that lists before every turn costs the targets nothing. Unprefixed
 * names are resolved from the session's last full listing, walked again at most every
 * RESOLVE_WINDOW_MS.
 */
import type { McpTarget } from '../../../shared/table.js';
import { UpstreamError } from '../../upstream/errors.js';
import type { ItemKind, SessionContext } from '../hop/context.js';
import { countedCall } from '../hop/target-calls.js';
import { ensureTarget, postToTarget } from '../hop/targets.js';
import { awaitResponse } from '../hop/upstream-call.js';
import { decodeCursor, encodeCursor } from '../rewrite/cursor.js';
import { LIST_SPECS, type ListSpec, mergeList, type TargetPage } from '../rewrite/merge.js';
import { shouldPrefix } from '../rewrite/naming.js';
import type { Session, TargetSession } from '../session/session.js';
import { invalidParams, JsonRpcCode } from '../wire/errors.js';
import type { JsonObject, JsonRpcId } from '../wire/jsonrpc.js';
import { fanOut } from './fanout.js';

/** Enough pages to resolve unprefixed names, small enough that a looping upstream cannot stall us. */
const MAX_RESOLVE_PAGES = 64;

async function listPage(
  cx: SessionContext,
  spec: ListSpec,
  target: McpTarget,
  id: JsonRpcId,
  cursor: string | undefined,
  signal: AbortSignal,
): Promise<JsonObject | undefined> {
  const state = await ensureTarget(cx, target, signal);
  if (!state.flags.includes(spec.flag)) return undefined;
  const lists = cursor === undefined ? keptLists(cx, spec, target, state) : undefined;
  if (lists) {
    const kept = lists.get(spec.method);
    cx.deps.metrics.listCache.labels(spec.method, kept ? 'hit' : 'miss').inc();
    if (kept) return kept;
  }
  const version = lists?.version;
  const params = cursor === undefined ? undefined : { cursor };
  const body = JSON.stringify({ jsonrpc: '2.0', id, method: spec.method, ...(params ? { params } : {}) });
  // A page counts against --max-session-target-calls while it is asked; a kept answer does not.
  const response = await countedCall(cx, target.name, async () => {
    const reply = await postToTarget(cx, target, state, spec.method, body, signal);
    return awaitResponse(reply, target.name);
  });
  // A target that advertised the capability but lacks the method has nothing to list.
  if (response.error?.code === JsonRpcCode.MethodNotFound) return undefined;
  if (response.error) {
    throw new UpstreamError(
      target.name,
      'protocol',
      `target "${target.name}" failed ${spec.method}: ${response.error.message}`,
    );
  }
  const result = response.result ?? {};
  // Whole lists only: a page that continues would tie the session to the upstream's cursor.
  if (lists && version !== undefined && result.nextCursor === undefined)
    lists.keep(spec.method, result, version);
  return result;
}

/** Where this session may keep a target's answers to `spec`: the lists of its live event stream. */
function keptLists(cx: SessionContext, spec: ListSpec, target: McpTarget, state: TargetSession) {
  if (!cx.deps.listCache || spec.changed === undefined || !state.flags.includes(spec.changed))
    return undefined;
  const lists = cx.session.events.lists(target.name);
  // A stream of an upstream session since replaced (the target restarted) announces nothing now.
  return lists?.owner === state ? lists : undefined;
}

/** One merged page: the first pages of every target, or the next pages named by a gateway cursor. */
export async function mergedList(
  cx: SessionContext,
  spec: ListSpec,
  id: JsonRpcId,
  params: JsonObject | undefined,
): Promise<JsonObject> {
  return (await mergedPage(cx, spec, id, params)).result;
}

async function mergedPage(
  cx: SessionContext,
  spec: ListSpec,
  id: JsonRpcId,
  params: JsonObject | undefined,
): Promise<{ result: JsonObject; owners: ReadonlyMap<string, string> }> {
  const targets = cx.backend.targets;
  let asks: Array<[McpTarget, string | undefined]>;
  const cursor = params?.cursor;
  if (cursor !== undefined) {
    const pending = typeof cursor === 'string' ? decodeCursor(cursor) : undefined;
    if (!pending) throw invalidParams(`Invalid cursor for ${spec.method}: not issued by this gateway`);
    asks = [];
    for (const [name, upstreamCursor] of pending) {
      const target = targets.find((t) => t.name === name);
      if (target) asks.push([target, upstreamCursor]);
    }
  } else {
    // A target down past --upstream-down-grace is left out until it answers again (hop/health.ts).
    const { health } = cx.deps;
    const backendId = cx.backend.id;
    asks = targets.filter((t) => !health.isUnlisted(backendId, t.name)).map((t) => [t, undefined]);
  }
  const byTarget = new Map(asks);
  const answers = await fanOut(cx, [...byTarget.keys()], (target, signal) =>
    listPage(cx, spec, target, id, byTarget.get(target), signal),
  );
  const pages: TargetPage[] = [];
  for (const { target, value } of answers) {
    if (spec.method === 'tools/list' && value) learnTools(cx, target, value);
    if (value)
      pages.push({
        target: target.name,
        result: cx.access.filtersLists ? visible(cx, spec, target.name, value) : value,
      });
  }
  const prefix = spec.alwaysPrefix === true || shouldPrefix(cx.backend.prefixMode, targets.length);
  const merged = mergeList(spec, pages, prefix);
  if (!prefix) rememberOwners(cx, spec, merged.owners, cursor !== undefined);
  const result: JsonObject = { [spec.key]: merged.items };
  const next = encodeCursor(merged.pending);
  if (next !== undefined) result.nextCursor = next;
  return { result, owners: merged.owners };
}

/** A target's tool names become metric labels (shared/tool-labels.ts): they came from the target. */
function learnTools(cx: SessionContext, target: McpTarget, page: JsonObject): void {
  const { tools } = page;
  if (!Array.isArray(tools)) return;
  const names: string[] = [];
  for (const tool of tools) {
    const name = typeof tool === 'object' && tool !== null ? (tool as JsonObject).name : undefined;
    if (typeof name === 'string') names.push(name);
  }
  cx.deps.metrics.toolLabels.learn(cx.backend.id, target.name, names);
}

/**
 * A transparent backend's `tools/list` passes as bytes, so now and then (ToolLabels.due) the
 * gateway reads one instead, to name the target's tools in metrics: the same page, parsed.
 */
export async function readToolsPage(
  cx: SessionContext,
  target: McpTarget,
  id: JsonRpcId,
  params: JsonObject | undefined,
): Promise<JsonObject> {
  const spec = LIST_SPECS.get('tools/list')!;
  const cursor = typeof params?.cursor === 'string' ? params.cursor : undefined;
  const result = (await listPage(cx, spec, target, id, cursor, cx.signal)) ?? { tools: [] };
  learnTools(cx, target, result);
  return result;
}

const ITEM_KIND: Readonly<Record<string, ItemKind>> = {
  tools: 'tool',
  prompts: 'prompt',
  resources: 'resource',
  resourceTemplates: 'resource',
};

/**
 * The page as the caller may see it: the items its policy allows, by the rules that gate calls, so
 * that a list never shows what a call would refuse (the page may be a kept answer: never mutated).
 */
function visible(cx: SessionContext, spec: ListSpec, target: string, page: JsonObject): JsonObject {
  const items = page[spec.key];
  const kind = ITEM_KIND[spec.key];
  if (!Array.isArray(items) || kind === undefined) return page;
  const shown = items.filter((item) => {
    const name = typeof item === 'object' && item !== null ? (item as JsonObject)[spec.field] : undefined;
    return typeof name === 'string' && cx.access.allows({ kind, target, name }, 'list');
  });
  return shown.length === items.length ? page : { ...page, [spec.key]: shown };
}

function rememberOwners(
  cx: SessionContext,
  spec: ListSpec,
  owners: Map<string, string>,
  append: boolean,
): void {
  const known = append ? cx.session.owners.get(spec.method) : undefined;
  if (!known) {
    cx.session.owners.set(spec.method, owners);
    return;
  }
  for (const [name, target] of owners) known.set(name, target);
}

/**
 * Unprefixed naming (`prefixMode: Never`) lists every page again to find who serves a name the
 * session's lists have not shown; a name still unknown is then answered at once for this long, and
 * concurrent lookups share one listing. A tool a target adds shows up after at most this long
 * (or at once, when the client lists).
 */
export const RESOLVE_WINDOW_MS = 5_000;

/** The gateway's own full listing of one list method for a session: who served each name, and when. */
interface Listing {
  readonly at: number;
  /** The backend as the table had it: a table swap makes the listing stale. */
  readonly backend: SessionContext['backend'];
  readonly owners: ReadonlyMap<string, string>;
}

/** Beside the session, not in it: only sessions of unprefixed backends that looked up a name have one. */
const listings = new WeakMap<Session, Map<string, Listing | Promise<Listing>>>();

/** Unprefixed naming: who serves `name`, from the session's lists or its last full listing. */
export async function resolveOwner(
  cx: SessionContext,
  spec: ListSpec,
  name: string,
): Promise<string | undefined> {
  const known = cx.session.owners.get(spec.method)?.get(name);
  if (known !== undefined) return known;
  return (await fullListing(cx, spec)).owners.get(name);
}

async function fullListing(cx: SessionContext, spec: ListSpec): Promise<Listing> {
  let byMethod = listings.get(cx.session);
  if (byMethod === undefined) {
    byMethod = new Map();
    listings.set(cx.session, byMethod);
  }
  const current = byMethod.get(spec.method);
  if (current instanceof Promise) return current;
  if (current && current.backend === cx.backend && performance.now() - current.at < RESOLVE_WINDOW_MS)
    return current;
  const running = listAll(cx, spec);
  byMethod.set(spec.method, running);
  try {
    const listing = await running;
    byMethod.set(spec.method, listing);
    return listing;
  } catch (error) {
    // A failed listing does not hold the window: the next lookup tries again.
    byMethod.delete(spec.method);
    throw error;
  }
}

async function listAll(cx: SessionContext, spec: ListSpec): Promise<Listing> {
  const owners = new Map<string, string>();
  let params: JsonObject | undefined;
  for (let page = 0; page < MAX_RESOLVE_PAGES; page++) {
    const { result, owners: found } = await mergedPage(cx, spec, `mcplane-resolve-${page}`, params);
    for (const [name, target] of found) owners.set(name, target);
    if (typeof result.nextCursor !== 'string') break;
    params = { cursor: result.nextCursor };
  }
  return { at: performance.now(), backend: cx.backend, owners };
}
