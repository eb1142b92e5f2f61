/**
 * Pure merge functions for the multiplexer: initialize results, capability flags and list pages.
 */
import { asObject, type JsonObject } from '../wire/jsonrpc.js';
import { GATEWAY_NAME, GATEWAY_VERSION } from '../wire/protocol-version.js';
import { prefixName, prefixUri } from './naming.js';

/**
 * Capabilities a target offers, compact enough to live in the sealed session id: tools, prompts,
 * resources, subscribe, logging, completions; tasks (k), tasks/list (j), tasks/cancel (x) and
 * task-augmented tools/call (q); and which lists it promises to announce changes of (T, P, R:
 * `listChanged`), which is what lets a session reuse its last answer.
 */
export type CapabilityFlag = 't' | 'p' | 'r' | 's' | 'l' | 'c' | 'k' | 'j' | 'x' | 'q' | 'T' | 'P' | 'R';

export function capabilityFlags(capabilities: unknown): string {
  const caps = asObject(capabilities) ?? {};
  let flags = '';
  if (caps.tools) flags += 't';
  if (caps.prompts) flags += 'p';
  if (caps.resources) flags += 'r';
  if (asObject(caps.resources)?.subscribe) flags += 's';
  if (asObject(caps.tools)?.listChanged === true) flags += 'T';
  if (asObject(caps.prompts)?.listChanged === true) flags += 'P';
  if (asObject(caps.resources)?.listChanged === true) flags += 'R';
  if (caps.logging) flags += 'l';
  if (caps.completions) flags += 'c';
  const tasks = asObject(caps.tasks);
  if (tasks) {
    flags += 'k';
    if (tasks.list) flags += 'j';
    if (tasks.cancel) flags += 'x';
    if (asObject(asObject(tasks.requests)?.tools)?.call) flags += 'q';
  }
  return flags;
}

export interface ListSpec {
  readonly method: string;
  /** Result member holding the items. */
  readonly key: string;
  /** Item member that is prefixed. */
  readonly field: string;
  readonly style: 'name' | 'uri';
  readonly flag: CapabilityFlag;
  /** The flag of a target that announces changes to this list (`listChanged`); none for tasks. */
  readonly changed?: CapabilityFlag;
  /** Prefix even when the backend's names are not (opaque ids such as task ids). */
  readonly alwaysPrefix?: boolean;
}

const SPECS: readonly ListSpec[] = [
  { method: 'tools/list', key: 'tools', field: 'name', style: 'name', flag: 't', changed: 'T' },
  { method: 'prompts/list', key: 'prompts', field: 'name', style: 'name', flag: 'p', changed: 'P' },
  { method: 'resources/list', key: 'resources', field: 'uri', style: 'uri', flag: 'r', changed: 'R' },
  // Servers announce new templates with resources/list_changed too (the SDK's McpServer does).
  {
    method: 'resources/templates/list',
    key: 'resourceTemplates',
    field: 'uriTemplate',
    style: 'uri',
    flag: 'r',
    changed: 'R',
  },
];

/** By method. A Map, not an object: a client's method (`toString`, `__proto__`) must not find the prototype. */
export const LIST_SPECS: ReadonlyMap<string, ListSpec> = new Map(SPECS.map((spec) => [spec.method, spec]));

export interface TargetInit {
  readonly target: string;
  readonly result: JsonObject;
}

/**
 * The synthetic initialize result of a multiplexed backend: the version negotiated with the client
 * (each target keeps its own on its hop), and only capabilities some target has. listChanged is
 * always true: the gateway itself emits list_changed when the backend's targets change.
 */
export function mergeInitialize(parts: readonly TargetInit[], protocolVersion: string): JsonObject {
  const instructions: string[] = [];
  let flags = '';
  for (const { target, result } of parts) {
    flags += capabilityFlags(result.capabilities);
    if (typeof result.instructions === 'string' && result.instructions.trim() !== '') {
      instructions.push(`[${target}]\n${result.instructions}`);
    }
  }
  const merged: JsonObject = {
    protocolVersion,
    capabilities: mergedCapabilities(flags),
    serverInfo: { name: GATEWAY_NAME, version: GATEWAY_VERSION },
  };
  if (instructions.length > 0) merged.instructions = instructions.join('\n\n');
  return merged;
}

/**
 * The capabilities of a backend whose targets together have these flags. listChanged is always
 * true (the gateway announces target-set changes itself); `subscribe` false leaves out resource
 * subscriptions (a 2026-07-28 `server/discover`, until they map onto subscriptions/listen).
 */
export function mergedCapabilities(flags: string, subscribe = true): JsonObject {
  const capabilities: JsonObject = {};
  if (flags.includes('t')) capabilities.tools = { listChanged: true };
  if (flags.includes('p')) capabilities.prompts = { listChanged: true };
  if (flags.includes('r'))
    capabilities.resources = {
      listChanged: true,
      ...(subscribe && flags.includes('s') ? { subscribe: true } : {}),
    };
  if (flags.includes('l')) capabilities.logging = {};
  if (flags.includes('c')) capabilities.completions = {};
  if (flags.includes('k')) capabilities.tasks = mergedTasks(flags);
  return capabilities;
}

function mergedTasks(flags: string): JsonObject {
  const tasks: JsonObject = {};
  if (flags.includes('j')) tasks.list = {};
  if (flags.includes('x')) tasks.cancel = {};
  if (flags.includes('q')) tasks.requests = { tools: { call: {} } };
  return tasks;
}

export interface TargetPage {
  readonly target: string;
  readonly result: JsonObject;
}

export interface MergedList {
  readonly items: JsonObject[];
  /** Unprefixed mode: who serves each name (names on several targets are absent). */
  readonly owners: Map<string, string>;
  /** (target, upstream cursor) for every target that has more pages. */
  readonly pending: Array<[string, string]>;
}

/** Concatenate pages in target order; prefix names, or (unprefixed) drop names served twice. */
export function mergeList(spec: ListSpec, pages: readonly TargetPage[], prefix: boolean): MergedList {
  const items: JsonObject[] = [];
  const owners = new Map<string, string>();
  const ambiguous = new Set<string>();
  const pending: Array<[string, string]> = [];
  for (const { target, result } of pages) {
    if (typeof result.nextCursor === 'string') pending.push([target, result.nextCursor]);
    const list = Array.isArray(result[spec.key]) ? (result[spec.key] as unknown[]) : [];
    for (const entry of list) {
      const item = asObject(entry);
      const key = item?.[spec.field];
      if (!item || typeof key !== 'string') continue;
      if (prefix) {
        const renamed = spec.style === 'name' ? prefixName(target, key) : prefixUri(target, key);
        items.push({ ...item, [spec.field]: renamed });
      } else if (owners.has(key) || ambiguous.has(key)) {
        owners.delete(key);
        ambiguous.add(key);
      } else {
        owners.set(key, target);
        items.push(item);
      }
    }
  }
  if (ambiguous.size === 0) return { items, owners, pending };
  return { items: items.filter((item) => !ambiguous.has(item[spec.field] as string)), owners, pending };
}

/** `resources/read` results: `contents[].uri` back to the client's (prefixed) form. */
export function prefixContents(result: JsonObject, target: string): JsonObject {
  if (!Array.isArray(result.contents)) return result;
  const contents = result.contents.map((entry) => {
    const item = asObject(entry);
    return item && typeof item.uri === 'string' ? { ...item, uri: prefixUri(target, item.uri) } : entry;
  });
  return { ...result, contents };
}
