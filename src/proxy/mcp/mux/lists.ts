/**
 * Merged list requests (tools, prompts, resources, templates): ask every target that offers the list (capability-aware), merge the
 * pages with the backend's naming, and hand out a gateway cursor for the pages still to come.
 * A target's complete first page is kept for the session while it would announce a change
 * (list-cache.ts), so an agent that lists before every turn costs the targets nothing.
 */
import type { McpTarget } from '../../../shared/table.js';
import { UpstreamError } from '../../upstream/errors.js';
import type { SessionContext } from '../hop/context.js';
import { acquireCall, releaseCall } from '../hop/target-calls.js';
import { ensureTarget, postToTarget } from '../hop/targets.js';
import { awaitResponse } from '../hop/upstream-call.js';
import { decodeCursor, encodeCursor } from '../rewrite/cursor.js';
import { type ListSpec, mergeList, type TargetPage } from '../rewrite/merge.js';
import { shouldPrefix } from '../rewrite/naming.js';
import type { TargetSession } from '../session/session.js';
import { invalidParams, JsonRpcCode } from '../wire/errors.js';
import type { JsonObject, JsonRpcId, JsonRpcResponse } from '../wire/jsonrpc.js';
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
  const refused = acquireCall(cx, target.name);
  if (refused) throw refused;
  let response: JsonRpcResponse;
  try {
    const reply = await postToTarget(cx, target, state, spec.method, body, signal);
    response = await awaitResponse(reply, target.name);
  } finally {
    releaseCall(cx.session, target.name);
  }
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
    asks = targets.map((target) => [target, undefined]);
  }
  const byTarget = new Map(asks);
  const answers = await fanOut(cx, [...byTarget.keys()], (target, signal) =>
    listPage(cx, spec, target, id, byTarget.get(target), signal),
  );
  const pages: TargetPage[] = [];
  for (const { target, value } of answers) if (value) pages.push({ target: target.name, result: value });
  const prefix = spec.alwaysPrefix === true || shouldPrefix(cx.backend.prefixMode, targets.length);
  const merged = mergeList(spec, pages, prefix);
  if (!prefix) rememberOwners(cx, spec, merged.owners, cursor !== undefined);
  const result: JsonObject = { [spec.key]: merged.items };
  const next = encodeCursor(merged.pending);
  if (next !== undefined) result.nextCursor = next;
  return result;
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

/** Unprefixed naming: who serves `name`, listing every page again when this session has not yet. */
export async function resolveOwner(
  cx: SessionContext,
  spec: ListSpec,
  name: string,
): Promise<string | undefined> {
  const known = cx.session.owners.get(spec.method)?.get(name);
  if (known !== undefined) return known;
  let params: JsonObject | undefined;
  for (let page = 0; page < MAX_RESOLVE_PAGES; page++) {
    const result = await mergedList(cx, spec, `mcplane-resolve-${page}`, params);
    const owner = cx.session.owners.get(spec.method)?.get(name);
    if (owner !== undefined) return owner;
    if (typeof result.nextCursor !== 'string') return undefined;
    params = { cursor: result.nextCursor };
  }
  return undefined;
}
