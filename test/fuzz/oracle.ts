/**
 * Judges one answer against the contract the gateway keeps (batches of at most 32 items, refused
 * whole with -32003; no duplicate ids in a batch; numeric ids safe integers; unknown methods -32601
 * on a multiplexed backend, and on a transparent one whatever the target answers, since the message
 * is forwarded as it is; session ids only in their canonical spelling; the body limit). A message
 * refused whole before its method is looked at (too deeply nested, an id outside the rules) is
 * answered with `id: null`, as JSON-RPC asks. A violation is a finding to report, not a test
 * failure: the fuzz test asserts only what must hold (no crash, no 5xx, liveness, RSS).
 */
import {
  type Backend,
  type HttpCase,
  isKnownMethod,
  isUnsafeNumber,
  MAX_BATCH,
  PROTOTYPE_NAMES,
  type Sent,
} from './generate.js';

export interface Answer {
  readonly status: number;
  readonly contentType: string;
  /** The Mcp-Session-Id the gateway issued, if any. */
  readonly sessionId: string | undefined;
  readonly text: string;
}

export interface Violation {
  readonly rule: string;
  /** Groups examples of one finding (rule plus what varies in a telling way). */
  readonly key: string;
  readonly why: string;
}

const METHOD_NOT_FOUND = -32601;
const INVALID_REQUEST = -32600;
const LIMIT_EXCEEDED = -32003;
/** The transparent backend forwards an unknown method; the target refusing the message (HTTP 400). */
const UPSTREAM_REFUSED = -32002;
const SESSION_ISSUED_LIMIT = 8 * 1024;

type Message = Record<string, unknown>;

/** The JSON-RPC messages of an answer: the JSON body (an array is a batch answer) or SSE data lines. */
export function messagesOf(answer: Answer): Message[] | undefined {
  try {
    if (answer.contentType.startsWith('text/event-stream')) {
      return answer.text
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => JSON.parse(line.slice(5)) as Message);
    }
    if (!answer.contentType.startsWith('application/json') || answer.text === '') return [];
    const parsed: unknown = JSON.parse(answer.text);
    return (Array.isArray(parsed) ? parsed : [parsed]) as Message[];
  } catch {
    return undefined;
  }
}

/** The id text as the gateway wrote it in its first response message (numbers are where ids change). */
function idTextOf(answer: Answer): string | undefined {
  return /"id":(-?[\d.eE+-]+|"(?:[^"\\]|\\.)*"|null)/.exec(answer.text)?.[1];
}

const codeOf = (m: Message | undefined) => (m?.error as { code?: unknown } | undefined)?.code;
const isResponse = (m: Message) => 'result' in m || 'error' in m;

function methodClass(method: string): string {
  if (PROTOTYPE_NAMES.includes(method)) return method;
  if (method.startsWith('fuzz/')) return 'a fresh unknown name';
  if (method.length > 1000) return 'a very long name';
  return 'another unknown name';
}

function clip(text: string, max = 160): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`;
}

/** Is `id` (a parsed value) the id whose JSON text was `idText`? */
function sameId(idText: string, id: unknown): boolean {
  try {
    return JSON.stringify(JSON.parse(idText)) === JSON.stringify(id);
  } catch {
    return false;
  }
}

/** Answers that say nothing about the contract: the session went away concurrently, or the id was in flight. */
function incidental(c: HttpCase, answer: Answer, messages: Message[] | undefined): boolean {
  if (c.expect.kind === 'session-404') return false;
  const first = messages?.[0];
  const message = String((first?.error as { message?: unknown } | undefined)?.message ?? '');
  return (answer.status === 404 && codeOf(first) === -32001) || message.includes('already in flight');
}

export function judge(c: HttpCase, answer: Answer): Violation[] {
  const out: Violation[] = [];
  const messages = messagesOf(answer);
  const { status } = answer;
  if (status >= 500 && status !== 503) {
    const first = messages?.[0];
    const detail = clip(
      String((first?.error as { message?: unknown } | undefined)?.message ?? answer.text),
      80,
    );
    out.push({
      rule: 'server-error',
      key: `${c.family} ${c.backend} ${status} ${detail}`,
      why: `HTTP ${status} for a client mistake: bad input must get a 4xx or a JSON-RPC error, never an internal error`,
    });
  }
  if (messages === undefined && answer.text !== '') {
    out.push({
      rule: 'unparseable-answer',
      key: `${c.family} ${answer.contentType}`,
      why: `the answer's body is not the JSON its content type (${answer.contentType}) says`,
    });
  }
  if (incidental(c, answer, messages)) return out;
  const expect = c.expect;
  switch (expect.kind) {
    case 'message':
      out.push(...judgeMessage(c.backend, expect.sent, answer, messages ?? []));
      break;
    case 'batch':
      out.push(...judgeBatch(c.backend, expect.items, answer, messages ?? []));
      break;
    case 'initialize':
      if (answer.sessionId !== undefined && answer.sessionId.length > SESSION_ISSUED_LIMIT) {
        out.push({
          rule: 'initialize-params-uncapped',
          key: 'initialize-params-uncapped',
          why: `initialize params of ${expect.paramsBytes} bytes were accepted and sealed into an Mcp-Session-Id of ${answer.sessionId.length} bytes: above 8 KiB many HTTP stacks refuse the header, above 16 KiB mcplane's own listener does (431), so the session is unusable and its id costs every request`,
        });
      }
      break;
    case 'session-404':
      if (status < 300) {
        const spelling =
          c.session.kind === 'variant'
            ? `<id>${JSON.stringify(c.session.prefix + '|' + c.session.suffix)}`
            : c.session.kind;
        out.push({
          rule: 'session-id-spelling',
          key: `${c.method} ${spelling}`,
          why: `${c.method} with ${describeSession(c)} answered ${status}: only the exact id the gateway issued may name a session (404 otherwise)`,
        });
      }
      break;
    case 'too-large':
      if (status !== 413 && status !== 0) {
        out.push({
          rule: 'body-limit',
          key: 'over',
          why: `a body over --max-body-bytes answered ${status}, not 413`,
        });
      }
      break;
    case 'fits':
      if (status === 413)
        out.push({ rule: 'body-limit', key: 'under', why: 'a body within --max-body-bytes answered 413' });
      break;
    case 'none':
      break;
  }
  return out;
}

function judgeMessage(backend: Backend, sent: Sent, answer: Answer, messages: Message[]): Violation[] {
  const out: Violation[] = [];
  if (sent.kind === 'invalid') {
    if (answer.status < 300) {
      out.push({
        rule: 'invalid-envelope-accepted',
        key: backend,
        why: `a message that is not JSON-RPC 2.0 answered ${answer.status}; expected 400 with -32600`,
      });
    }
    return out;
  }
  if (sent.kind !== 'request' || sent.idText === undefined || sent.method === undefined) return out;
  const response = messages.filter(isResponse).at(-1);
  if (isUnsafeNumber(sent.idText)) {
    if (codeOf(response) !== INVALID_REQUEST) {
      out.push({
        rule: 'unsafe-numeric-id',
        key: `${backend}`,
        why: `id ${sent.idText} is not a safe integer (expected -32600); the gateway answered HTTP ${answer.status} ${describeAnswer(response)} with id ${idTextOf(answer) ?? '(none)'}`,
      });
    }
    return out;
  }
  if (!/^(-?\d|")/.test(sent.idText)) return out; // null, objects, arrays: -32600 by today's code too
  // Refused whole before its method mattered (nesting, id length): the error names no id.
  if (answer.status === 400 && response !== undefined && response.id === null) return out;
  if (response && !sameId(sent.idText, response.id)) {
    out.push({
      rule: 'id-changed',
      key: backend,
      why: `request id ${clip(sent.idText, 60)} answered with id ${clip(JSON.stringify(response.id) ?? 'undefined', 60)}`,
    });
  }
  const forwarded = backend === 'solo' && codeOf(response) === UPSTREAM_REFUSED;
  if (!isKnownMethod(sent.method) && codeOf(response) !== METHOD_NOT_FOUND && !forwarded) {
    out.push({
      rule: 'unknown-method',
      key: `${backend} ${methodClass(sent.method)}`,
      why: `unknown method ${clip(JSON.stringify(sent.method), 60)} answered HTTP ${answer.status} ${describeAnswer(response)}; expected a -32601 error`,
    });
  }
  return out;
}

function judgeBatch(
  backend: Backend,
  items: readonly Sent[],
  answer: Answer,
  messages: Message[],
): Violation[] {
  const out: Violation[] = [];
  const answered = answer.status === 200 ? messages : [];
  if (items.length > MAX_BATCH) {
    // Refused whole: for its length (-32003), or first for its nesting (-32600), with id null.
    const refused = answer.status === 400 && messages.length === 1 && messages[0]?.id === null;
    if (!refused || ![LIMIT_EXCEEDED, INVALID_REQUEST].includes(codeOf(messages[0]) as number)) {
      out.push({
        rule: 'batch-too-long',
        key: backend,
        why: `a batch of ${items.length} messages (limit ${MAX_BATCH}) answered HTTP ${answer.status} with ${answered.length} responses (${answer.text.length} bytes); expected one -32003 error with HTTP 400`,
      });
    }
    return out;
  }
  const requests = items.filter(
    (s): s is Sent & { idText: string; method: string } => s.kind === 'request' && s.idText !== undefined,
  );
  const counts = new Map<string, number>();
  for (const r of requests) counts.set(r.idText, (counts.get(r.idText) ?? 0) + 1);
  const results = answered.filter((m) => 'result' in m);
  for (const [idText, count] of counts) {
    if (count < 2) continue;
    const accepted = results.filter((m) => sameId(idText, m.id)).length;
    if (accepted > 0) {
      out.push({
        rule: 'batch-duplicate-ids',
        key: backend,
        why: `a batch with id ${clip(idText, 40)} ${count} times answered HTTP ${answer.status} with ${accepted} result(s) for it; duplicate ids must be rejected`,
      });
    }
  }
  for (const r of requests) {
    if (counts.get(r.idText) !== 1) continue;
    if (isUnsafeNumber(r.idText)) {
      const parsed = Number(r.idText);
      if (results.some((m) => m.id === parsed)) {
        out.push({
          rule: 'unsafe-numeric-id',
          key: `${backend} (batch)`,
          why: `batch item id ${r.idText} is not a safe integer (expected -32600) but got a result, with id ${parsed}`,
        });
      }
      continue;
    }
    if (!/^(-?\d|")/.test(r.idText) || isKnownMethod(r.method)) continue;
    const response = answered.find((m) => isResponse(m) && sameId(r.idText, m.id));
    const forwarded = backend === 'solo' && codeOf(response) === UPSTREAM_REFUSED;
    if (response && codeOf(response) !== METHOD_NOT_FOUND && !forwarded) {
      out.push({
        rule: 'unknown-method',
        key: `${backend} ${methodClass(r.method)} (batch)`,
        why: `batch item with unknown method ${clip(JSON.stringify(r.method), 60)} answered ${describeAnswer(response)}; expected a -32601 error`,
      });
    }
  }
  return out;
}

function describeAnswer(m: Message | undefined): string {
  if (!m) return '(no JSON-RPC response)';
  if ('error' in m) return `error ${clip(JSON.stringify(m.error), 120)}`;
  return `result ${clip(JSON.stringify(m.result) ?? 'undefined', 120)}`;
}

export function describeSession(c: HttpCase): string {
  const s = c.session;
  switch (s.kind) {
    case 'none':
      return 'no session';
    case 'live':
      return `a live ${s.version} session id`;
    case 'foreign':
      return "the other backend's live session id";
    case 'deleted':
      return 'a deleted session id';
    case 'variant':
      return `a live session id respelled as ${JSON.stringify(s.prefix)} + <id> + ${JSON.stringify(s.suffix)}`;
    case 'literal':
      return `the session id ${clip(JSON.stringify(s.value), 60)}`;
  }
}

/** The request in a line: method, path, session, headers that differ from a client's, body head. */
export function describeCase(c: HttpCase, bodyChars = 300): string {
  const headers = Object.entries(c.headers)
    .filter(([k, v]) => !(k === 'content-type' && v === 'application/json'))
    .filter(([k, v]) => !(k === 'accept' && v === 'application/json, text/event-stream'))
    .filter(([k]) => k !== 'mcp-protocol-version' || c.family === 'headers')
    .map(([k, v]) => `${k}: ${clip(JSON.stringify(v), 60)}`);
  let body = '';
  if (c.body !== undefined) {
    const bytes =
      typeof c.body === 'string'
        ? Buffer.from(c.body)
        : c.body instanceof Uint8Array
          ? Buffer.from(c.body)
          : Buffer.concat(c.body.chunks.map((chunk) => Buffer.from(chunk)));
    const chunked = typeof c.body === 'object' && !(c.body instanceof Uint8Array) ? ' chunked' : '';
    const text = bytes.subarray(0, bodyChars).toString('latin1');
    body = ` body${chunked} ${bytes.length} B${shapeOf(bytes)}: ${JSON.stringify(text)}${bytes.length > bodyChars ? '…' : ''}`;
  }
  return `${c.method} ${clip(c.path, 80)} [${describeSession(c)}]${headers.length ? ` {${headers.join(', ')}}` : ''}${body}`;
}

/** ` (JSON nested D deep, N values)` for bodies whose shape is the point; '' for ordinary ones. */
function shapeOf(bytes: Buffer): string {
  if (bytes.length < 2000) return '';
  let root: unknown;
  try {
    root = JSON.parse(bytes.toString('utf8'));
  } catch {
    return '';
  }
  let deepest = 0;
  let values = 0;
  let longest = 0;
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    values += 1;
    deepest = Math.max(deepest, depth);
    if (typeof value === 'string') longest = Math.max(longest, value.length);
    if (typeof value === 'object' && value !== null) {
      for (const child of Object.values(value)) stack.push([child, depth + 1]);
    }
  }
  const parts = [`nested ${deepest} deep`, `${values} values`];
  if (Array.isArray(root)) parts.unshift(`a batch of ${root.length}`);
  if (longest > 1000) parts.push(`a string of ${longest} chars`);
  return ` (JSON: ${parts.join(', ')})`;
}
