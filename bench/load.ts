/**
 * Load generator speaking the MCP streamable HTTP wire protocol directly over undici (the SDK client
 * costs more CPU per call than the proxies we measure): initialize, notifications/initialized, then
 * workers sending requests back to back for a fixed time or count. Answers may be JSON or SSE.
 */
import { Pool } from 'undici';

export const PROTOCOL_VERSION = '2025-06-18';
export const MODERN_VERSION = '2026-07-28';
const MODERN_META = {
  'io.modelcontextprotocol/protocolVersion': MODERN_VERSION,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'mcplane-bench', version: '1.0.0' },
};

export interface Session {
  readonly id: string | undefined;
  readonly protocolVersion: string;
}

export interface RpcReply {
  readonly status: number;
  /** The JSON-RPC response with our id, if the body had one. */
  readonly message: { result?: unknown; error?: { code: number; message: string } } | undefined;
  readonly sessionId: string | undefined;
}

/** One origin + path with a connection pool sized for the concurrency that will use it. */
export class McpWire {
  readonly #pool: Pool;
  readonly #origin: string;
  readonly #path: string;
  /** GET streams get their own connections: each holds one for as long as it is open. */
  #streams: Pool | undefined;
  #nextId = 1;

  readonly #extra: Readonly<Record<string, string>>;

  constructor(url: string, connections: number, headers: Readonly<Record<string, string>> = {}) {
    this.#extra = headers;
    const parsed = new URL(url);
    this.#pool = new Pool(parsed.origin, {
      connections,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
    });
    this.#origin = parsed.origin;
    this.#path = parsed.pathname;
  }

  /**
   * Open the session's GET stream, as SDK clients do right after the handshake, and read whatever
   * comes on it. Resolves once the server answered; close() ends it.
   */
  async listen(session: Session): Promise<void> {
    this.#streams ??= new Pool(this.#origin);
    const headers: Record<string, string> = {
      ...this.#extra,
      accept: 'text/event-stream',
      'mcp-protocol-version': session.protocolVersion,
    };
    if (session.id !== undefined) headers['mcp-session-id'] = session.id;
    const res = await this.#streams.request({
      path: this.#path,
      method: 'GET',
      headers,
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`GET stream refused: HTTP ${res.statusCode}`);
    }
    res.body.on('error', () => {});
    res.body.resume();
  }

  async rpc(session: Session | undefined, method: string, params: unknown): Promise<RpcReply> {
    const id = this.#nextId++;
    if (session?.protocolVersion === MODERN_VERSION) {
      // 2026-07-28: every request says who the client is; the headers repeat the method and name.
      const body = { ...(params as Record<string, unknown>), _meta: MODERN_META };
      const name = (params as { name?: unknown }).name;
      const headers = { 'mcp-method': method, ...(typeof name === 'string' ? { 'mcp-name': name } : {}) };
      return this.#post(session, JSON.stringify({ jsonrpc: '2.0', id, method, params: body }), id, headers);
    }
    return this.#post(session, JSON.stringify({ jsonrpc: '2.0', id, method, params }), id);
  }

  async notify(session: Session, method: string): Promise<number> {
    const reply = await this.#post(session, JSON.stringify({ jsonrpc: '2.0', method }), undefined);
    return reply.status;
  }

  async #post(
    session: Session | undefined,
    body: string,
    id: number | undefined,
    extra?: Readonly<Record<string, string>>,
  ): Promise<RpcReply> {
    const headers: Record<string, string> = {
      ...this.#extra,
      ...extra,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    if (session) {
      headers['mcp-protocol-version'] = session.protocolVersion;
      if (session.id !== undefined) headers['mcp-session-id'] = session.id;
    }
    const res = await this.#pool.request({ path: this.#path, method: 'POST', headers, body });
    const text = await res.body.text();
    const sid = res.headers['mcp-session-id'];
    const type = String(res.headers['content-type'] ?? '');
    const message = id === undefined || text.length === 0 ? undefined : findReply(text, type, id);
    return { status: res.statusCode, message, sessionId: typeof sid === 'string' ? sid : undefined };
  }

  /** Open a session the way a client does; throws with the server's words when it cannot. */
  async open(clientName = 'mcplane-bench', modern = false): Promise<Session> {
    // A 2026-07-28 client has no session; it asks what the server speaks first, as SDK v2 clients in
    // version-negotiation mode do (and its connection is then open before a timed window starts, as
    // a legacy client's is after initialize).
    if (modern) {
      const client = { id: undefined, protocolVersion: MODERN_VERSION };
      const reply = await this.rpc(client, 'server/discover', {});
      const versions = (reply.message?.result as { supportedVersions?: unknown } | undefined)
        ?.supportedVersions;
      if (reply.status !== 200 || !Array.isArray(versions) || !versions.includes(MODERN_VERSION)) {
        throw new Error(
          `server/discover failed: HTTP ${reply.status} ${JSON.stringify(reply.message ?? null).slice(0, 300)}`,
        );
      }
      return client;
    }
    const reply = await this.rpc(undefined, 'initialize', {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: clientName, version: '1.0.0' },
    });
    const result = reply.message?.result as { protocolVersion?: string } | undefined;
    if (reply.status !== 200 || !result?.protocolVersion) {
      throw new Error(`initialize failed: HTTP ${reply.status} ${JSON.stringify(reply.message ?? null)}`);
    }
    const session = { id: reply.sessionId, protocolVersion: result.protocolVersion };
    const status = await this.notify(session, 'notifications/initialized');
    if (status !== 202 && status !== 200 && status !== 204) {
      throw new Error(`notifications/initialized failed: HTTP ${status}`);
    }
    return session;
  }

  async close(): Promise<void> {
    await this.#streams?.destroy();
    await this.#pool.close();
  }
}

type Message = { id?: unknown; result?: unknown; error?: { code: number; message: string } };

/** The response with `id` from a JSON body (object or batch) or from an SSE stream's `data:` events. */
export function findReply(text: string, contentType: string, id: number): Message | undefined {
  if (contentType.includes('text/event-stream')) {
    let data = '';
    for (const line of text.split('\n')) {
      const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (trimmed.startsWith('data:')) data += (data ? '\n' : '') + trimmed.slice(trimmed[5] === ' ' ? 6 : 5);
      else if (trimmed === '' && data) {
        const found = pick(data, id);
        if (found) return found;
        data = '';
      }
    }
    return data ? pick(data, id) : undefined;
  }
  return pick(text, id);
}

function pick(json: string, id: number): Message | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  return list.find((m): m is Message => typeof m === 'object' && m !== null && (m as Message).id === id);
}

// ---------------------------------------------------------------------------------------------
// Load

/** One request a worker sends, and the check its answer must pass (returns a problem or undefined). */
export interface Operation {
  readonly method: string;
  readonly params: (worker: number, seq: number) => unknown;
  readonly check: (result: unknown, worker: number, seq: number) => string | undefined;
}

export function echoOperation(): Operation {
  return {
    method: 'tools/call',
    params: (w, i) => ({ name: 'echo', arguments: { message: `w${w}-${i}` } }),
    check: (result, w, i) => {
      const text = (result as { content?: { text?: string }[] })?.content?.[0]?.text;
      return text === `Echo: w${w}-${i}`
        ? undefined
        : `echo returned ${JSON.stringify(result).slice(0, 200)}`;
    },
  };
}

export function listOperation(expectedTools: number): Operation {
  return {
    method: 'tools/list',
    params: () => ({}),
    check: (result) => {
      const tools = (result as { tools?: unknown[] })?.tools;
      if (!Array.isArray(tools)) return `tools/list returned ${JSON.stringify(result).slice(0, 200)}`;
      return tools.length === expectedTools
        ? undefined
        : `tools/list gave ${tools.length}, not ${expectedTools}`;
    },
  };
}

export function bigOperation(kib: number): Operation {
  return {
    method: 'tools/call',
    params: () => ({ name: 'big', arguments: { kib } }),
    check: (result) => {
      const text = (result as { content?: { text?: string }[] })?.content?.[0]?.text;
      return text?.length === kib * 1024 ? undefined : `big returned ${String(text?.length)} chars`;
    },
  };
}

export interface LoadOptions {
  readonly url: string;
  readonly concurrency: number;
  readonly operation: Operation;
  /** Stop after this long (ms) … */
  readonly durationMs?: number;
  /** … or after this many calls in all, whichever comes first. */
  readonly count?: number;
  /** Called once the sessions are open, just before the timed window starts (CPU sampling). */
  readonly onStart?: () => void;
  /** Each session opens its GET stream first, as SDK clients do. */
  readonly listen?: boolean;
  /** Sent with every request (a bearer token for a route with a policy). */
  readonly headers?: Readonly<Record<string, string>>;
  /** 2026-07-28 clients: no initialize, no session. */
  readonly modern?: boolean | undefined;
}

export interface LoadResult {
  readonly calls: number;
  readonly errors: number;
  readonly elapsedMs: number;
  /** Latency of each successful call, ms. */
  readonly latencies: Float64Array;
  /** The first few distinct problems, for the report. */
  readonly problems: string[];
}

/** Open one session per worker, then run the timed window. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const wire = new McpWire(options.url, options.concurrency, options.headers);
  try {
    const sessions = await Promise.all(
      Array.from({ length: options.concurrency }, (_, w) => wire.open(`bench-${w}`, options.modern)),
    );
    if (options.listen) await Promise.all(sessions.map((s) => wire.listen(s)));
    const latencies: number[] = [];
    const problems = new Set<string>();
    let errors = 0;
    let issued = 0;
    const limit = options.count ?? Number.POSITIVE_INFINITY;
    options.onStart?.();
    const start = process.hrtime.bigint();
    const deadline = options.durationMs === undefined ? undefined : start + BigInt(options.durationMs * 1e6);
    const worker = async (w: number): Promise<void> => {
      const session = sessions[w]!;
      for (let seq = 0; issued < limit; seq++) {
        if (deadline !== undefined && process.hrtime.bigint() >= deadline) return;
        issued++;
        const before = process.hrtime.bigint();
        let problem: string | undefined;
        try {
          const reply = await wire.rpc(session, options.operation.method, options.operation.params(w, seq));
          const after = process.hrtime.bigint();
          if (reply.status < 200 || reply.status > 299) problem = `HTTP ${reply.status}`;
          else if (!reply.message) problem = 'no JSON-RPC response in the body';
          else if (reply.message.error)
            problem = `JSON-RPC error ${reply.message.error.code}: ${reply.message.error.message}`;
          else problem = options.operation.check(reply.message.result, w, seq);
          if (!problem) latencies.push(Number(after - before) / 1e6);
        } catch (err) {
          problem = `request failed: ${(err as Error).message}`;
        }
        if (problem) {
          errors++;
          if (problems.size < 5) problems.add(problem);
          // A dead endpoint answers instantly: do not spin the CPU the others need.
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      }
    };
    await Promise.all(sessions.map((_, w) => worker(w)));
    const elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
    return {
      calls: latencies.length,
      errors,
      elapsedMs,
      latencies: Float64Array.from(latencies),
      problems: [...problems],
    };
  } finally {
    await wire.close();
  }
}

/** Nearest-rank percentile of an already sorted array. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

// ---------------------------------------------------------------------------------------------
// Sessions for the memory phase

export interface OpenOptions {
  /** Keep the ids (idle sessions) or drop them (abandoned sessions). */
  readonly keep: boolean;
  /** Call `onProgress` every this many sessions, with every worker paused so the sample is quiet. */
  readonly every?: number;
  readonly onProgress?: (done: number) => Promise<void> | void;
  /** Instead of a session, one 2026-07-28 client making one tools/call and never coming back. */
  readonly modern?: boolean;
}

/** Open `total` sessions with `concurrency` in flight; never closes them. */
export async function openSessions(
  url: string,
  total: number,
  concurrency: number,
  options: OpenOptions,
): Promise<{ ids: string[]; failures: number; problems: string[] }> {
  const wire = new McpWire(url, concurrency);
  const ids: string[] = [];
  const problems = new Set<string>();
  const every = options.every ?? Number.POSITIVE_INFINITY;
  let failures = 0;
  let started = 0;
  let done = 0;
  let nextReport = every;
  let gate: Promise<void> = Promise.resolve();
  try {
    const worker = async (): Promise<void> => {
      while (started < total) {
        started++;
        try {
          if (options.modern) {
            const client = { id: undefined, protocolVersion: MODERN_VERSION };
            const reply = await wire.rpc(client, 'tools/call', {
              name: 'echo',
              arguments: { message: `c${started}` },
            });
            if (reply.status !== 200 || !reply.message?.result)
              throw new Error(`a 2026-07-28 call failed: HTTP ${reply.status}`);
          } else {
            const session = await wire.open('bench-idle');
            if (options.keep && session.id !== undefined) ids.push(session.id);
          }
        } catch (err) {
          failures++;
          if (problems.size < 5) problems.add((err as Error).message);
        }
        done++;
        if (done >= nextReport && options.onProgress) {
          nextReport += every;
          gate = Promise.resolve(options.onProgress(done));
        }
        await gate;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  } finally {
    await wire.close();
  }
  return { ids, failures, problems: [...problems] };
}
