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
const QUOTE = 0x22;
const CLOSE = 0x7d;
const BACKSLASH = 0x5c;

export function spliceAnswer(
  body: Uint8Array,
  hopId: string,
  clientId: JsonRpcId,
  cacheable: boolean,
): readonly Uint8Array[] | undefined {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.length);
  let end = bytes.length;
  while (end > 0 && isSpace(bytes[end - 1]!)) end -= 1;
  const hop = `"id":${JSON.stringify(hopId)}`;
  const id = `"id":${JSON.stringify(clientId)}`;
  let head: string;
  let start: number;
  let tail: string | undefined;
  if (text(bytes, 0, RESULT_FIRST.length) === RESULT_FIRST) {
    const hopTail = `,${hop}}`;
    start = RESULT_FIRST.length;
    if (end < start + hopTail.length || text(bytes, end - hopTail.length, end) !== hopTail) return undefined;
    head = RESULT_FIRST;
    end -= hopTail.length;
    tail = `,${id}}`;
  } else {
    const idFirst = `{"jsonrpc":"2.0",${hop},"result":{`;
    if (text(bytes, 0, idFirst.length) !== idFirst) return undefined;
    head = `{"jsonrpc":"2.0",${id},"result":{`;
    start = idFirst.length;
  }
  // The result's first member follows (or it is empty): anything else, and the parse decides.
  const next = bytes[start];
  if (next !== QUOTE && next !== CLOSE) return undefined;
  if (
    bytes.includes('resultType') ||
    (bytes.includes(BACKSLASH) && bytes.includes('\\u')) ||
    (cacheable && (bytes.includes('ttlMs') || bytes.includes('cacheScope')))
  ) {
    return undefined;
  }
  const added = `"resultType":"complete"${cacheable ? ',"ttlMs":0,"cacheScope":"private"' : ''}`;
  head += next === CLOSE ? added : `${added},`;
  // The result's bytes are not copied: a large one would cost a fresh allocation per answer.
  const middle = bytes.subarray(start, end);
  return tail === undefined ? [Buffer.from(head), middle] : [Buffer.from(head), middle, Buffer.from(tail)];
}

const isSpace = (byte: number) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;

/** Bytes as Latin-1 text: one char per byte, so a comparison with ASCII text is a byte comparison. */
const text = (bytes: Buffer, from: number, to: number) => bytes.toString('latin1', from, Math.max(from, to));
