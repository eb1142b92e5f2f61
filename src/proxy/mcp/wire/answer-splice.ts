/**
 * A target's answer to a 2026-07-28 client's request, rewritten as bytes: the client's id in place
 * of the gateway's hop id and `resultType` (with `ttlMs` / `cacheScope` on a cacheable result)
 * spliced into the result, so a result of any size costs a few short scans instead of a parse and
 * a serialisation. Pure.
 *
 * Only the two layouts JSON-RPC servers write are spliced, and only when the result cannot already
 * carry a field the splice adds:
 *   {"result":{…},"jsonrpc":"2.0","id":"<hop>"}     (the MCP SDKs)
 *   {"jsonrpc":"2.0","id":"<hop>","result":{…}}
 * In valid JSON, `,"id":"<hop>"}` at the very end can only be the top-level object's last member:
 * a string's content cannot hold an unescaped quote, and the hop id holds no backslash. The
 * answer comes back in parts (the new head, the result's bytes as they were, the new tail), which
 * the reply writer sends in one write. It is left alone (undefined: the caller parses it) when it
 * names `resultType`, `ttlMs` or `cacheScope` anywhere, or holds a `\u` escape (which could spell
 * one of those keys).
 */
import type { JsonRpcId } from './jsonrpc.js';

const RESULT_FIRST = '{"result":{';
const JSONRPC_FIRST = '{"jsonrpc":"2.0","id":';
const RESULT_NEXT = ',"result":{';
const QUOTE = 0x22;
const CLOSE = 0x7d;
const BACKSLASH = 0x5c;
/** Patterns as bytes: a string pattern would be encoded again on every search. */
const RESULT_TYPE = Buffer.from('resultType');
const CACHE_FIELDS = [Buffer.from('ttlMs'), Buffer.from('cacheScope')];
const UNICODE_ESCAPE = Buffer.from('\\u');

const added = (cacheable: boolean, empty: boolean) =>
  `"resultType":"complete"${cacheable ? ',"ttlMs":0,"cacheScope":"private"' : ''}${empty ? '' : ','}`;
/** The new head of the SDK layout, which does not depend on the client: [cacheable][empty]. */
const RESULT_HEADS = [false, true].map((cacheable) =>
  [false, true].map((empty) => Buffer.from(RESULT_FIRST + added(cacheable, empty))),
);

export function spliceAnswer(
  body: Uint8Array,
  hopId: string,
  clientId: JsonRpcId,
  cacheable: boolean,
): readonly Uint8Array[] | undefined {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.length);
  let end = bytes.length;
  while (end > 0 && isSpace(bytes[end - 1]!)) end -= 1;
  // The hop id is the gateway's own `mcplane-<n>`: ASCII, no quote or backslash to escape.
  const hop = `"${hopId}"`;
  let start: number;
  let sdkLayout: boolean;
  if (matches(bytes, 0, RESULT_FIRST)) {
    // … ,"id":"<hop>"}
    start = RESULT_FIRST.length;
    const tail = end - hop.length - 7;
    if (
      tail < start ||
      !matches(bytes, tail, ',"id":') ||
      !matches(bytes, tail + 6, hop) ||
      bytes[end - 1] !== CLOSE
    )
      return undefined;
    end = tail;
    sdkLayout = true;
  } else {
    // {"jsonrpc":"2.0","id":"<hop>","result":{ …
    start = JSONRPC_FIRST.length + hop.length + RESULT_NEXT.length;
    if (
      !matches(bytes, 0, JSONRPC_FIRST) ||
      !matches(bytes, JSONRPC_FIRST.length, hop) ||
      !matches(bytes, JSONRPC_FIRST.length + hop.length, RESULT_NEXT)
    )
      return undefined;
    sdkLayout = false;
  }
  // The result's first member follows (or it is empty): anything else, and the parse decides.
  const next = bytes[start];
  if (next !== QUOTE && next !== CLOSE) return undefined;
  if (
    bytes.includes(RESULT_TYPE) ||
    (bytes.includes(BACKSLASH) && bytes.includes(UNICODE_ESCAPE)) ||
    (cacheable && CACHE_FIELDS.some((field) => bytes.includes(field)))
  ) {
    return undefined;
  }
  const empty = next === CLOSE;
  // The result's bytes are not copied: a large one would cost a fresh allocation per answer.
  const middle = bytes.subarray(start, end);
  const id = JSON.stringify(clientId);
  if (sdkLayout) return [RESULT_HEADS[+cacheable]![+empty]!, middle, Buffer.from(`,"id":${id}}`)];
  return [Buffer.from(`${JSONRPC_FIRST}${id}${RESULT_NEXT}${added(cacheable, empty)}`), middle];
}

const isSpace = (byte: number) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;

/** `text` (ASCII) is at `at` in `bytes`. */
function matches(bytes: Buffer, at: number, text: string): boolean {
  if (at < 0 || at + text.length > bytes.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false;
  return true;
}
