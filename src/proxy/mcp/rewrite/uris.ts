/**
 * Resource URIs inside results: a tool result or prompt message may point at a resource
 * (`resource_link`, or an embedded `resource`). Behind a multiplexed backend the client can only
 * read it back through its prefixed form, so those URIs get the owning target's prefix, like the URIs
 * of `resources/list` (the peer leaves them unprefixed, so such links cannot be followed).
 */
import { asObject, type JsonObject } from '../wire/jsonrpc.js';
import { prefixUri } from './naming.js';

function prefixBlock(block: unknown, target: string): unknown {
  const b = asObject(block);
  if (!b) return block;
  if (b.type === 'resource_link' && typeof b.uri === 'string') return { ...b, uri: prefixUri(target, b.uri) };
  const resource = asObject(b.resource);
  if (b.type === 'resource' && resource && typeof resource.uri === 'string') {
    return { ...b, resource: { ...resource, uri: prefixUri(target, resource.uri) } };
  }
  return block;
}

/** Map an array, returning the same array when no element changed (most results hold no links). */
function mapSame(items: unknown[], fn: (item: unknown) => unknown): unknown[] {
  let out: unknown[] | undefined;
  items.forEach((item, i) => {
    const next = fn(item);
    if (next === item) return;
    out ??= [...items];
    out[i] = next;
  });
  return out ?? items;
}

function prefixMessage(message: unknown, target: string): unknown {
  const m = asObject(message);
  if (!m || m.content === undefined) return message;
  const content = prefixBlock(m.content, target);
  return content === m.content ? message : { ...m, content };
}

/** `result.content[]` (tools/call) and `result.messages[].content` (prompts/get), prefixed. */
export function prefixResultUris(result: JsonObject, target: string): JsonObject {
  let out = result;
  if (Array.isArray(result.content)) {
    const content = mapSame(result.content, (block) => prefixBlock(block, target));
    if (content !== result.content) out = { ...out, content };
  }
  if (Array.isArray(result.messages)) {
    const messages = mapSame(result.messages, (message) => prefixMessage(message, target));
    if (messages !== result.messages) out = { ...out, messages };
  }
  return out;
}
