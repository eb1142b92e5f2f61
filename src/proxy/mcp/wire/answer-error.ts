/**
 * Whether a JSON-RPC answer an upstream sent is an error, without parsing it: the forwarded bytes
 * are scanned for their first top-level `result` or `error` member (`jsonrpc` and `id` come first
 * in practice, so the scan stops within a few dozen bytes whatever the answer's size); only an
 * error — short, and rare — is parsed, for its code. For the metrics' `error_type`.
 */
import { asObject } from './jsonrpc.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COLON = 0x3a;

const RESULT = Buffer.from('result');
const ERROR = Buffer.from('error');

/** Scan at most this far for the first top-level member (a huge `id` is not worth more). */
const MAX_SCAN = 4096;

/**
 * The error code of a JSON-RPC error answer: `undefined` for a result (or bytes that are not one
 * JSON-RPC message), NaN for an error without a readable code.
 */
export function answerErrorCode(body: Uint8Array): number | undefined {
  let depth = 0;
  const end = Math.min(body.length, MAX_SCAN);
  for (let i = 0; i < end; i++) {
    const byte = body[i];
    if (byte === QUOTE) {
      const start = i + 1;
      i = closingQuote(body, start, end);
      if (i < 0) return undefined;
      if (depth !== 1 || !isKey(body, i + 1, end)) continue;
      if (same(body, start, i, RESULT)) return undefined;
      if (same(body, start, i, ERROR)) return errorCode(body);
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) depth += 1;
    else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) depth -= 1;
  }
  return undefined;
}

function closingQuote(body: Uint8Array, from: number, end: number): number {
  for (let i = from; i < end; i++) {
    if (body[i] === BACKSLASH) i += 1;
    else if (body[i] === QUOTE) return i;
  }
  return -1;
}

/** The string that closed at `from - 1` is a member name: a colon follows (after spaces). */
function isKey(body: Uint8Array, from: number, end: number): boolean {
  for (let i = from; i < end; i++) {
    const byte = body[i];
    if (byte === COLON) return true;
    if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return false;
  }
  return false;
}

function same(body: Uint8Array, start: number, end: number, word: Buffer): boolean {
  if (end - start !== word.length) return false;
  for (let i = 0; i < word.length; i++) if (body[start + i] !== word[i]) return false;
  return true;
}

function errorCode(body: Uint8Array): number {
  try {
    const code = asObject(asObject(JSON.parse(Buffer.from(body).toString('utf8')))?.error)?.code;
    return typeof code === 'number' ? code : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
