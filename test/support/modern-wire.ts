/**
 * A 2026-07-28 request on the wire, raw (every header is what the test says): `MCP-Protocol-Version`
 * and `Mcp-Method` set, `Mcp-Name` when the params name an item, the per-request `_meta`. Answers
 * are read whole, JSON or SSE (the last `data:` message).
 */

/** What a modern answer may hold; tests read the fields they expect. */
export interface ModernAnswer {
  readonly id?: unknown;
  readonly result?: any;
  readonly error?: { readonly code: number; readonly message: string };
}

export interface ModernCall {
  readonly id?: number | string;
  readonly params?: Record<string, unknown>;
  /** Headers added or overriding the defaults. */
  readonly headers?: Record<string, string>;
  /** `_meta` client capabilities (default none). */
  readonly capabilities?: Record<string, unknown>;
}

export async function modernPost(
  url: string | URL,
  method: string,
  { id = 1, params = {}, headers = {}, capabilities = {} }: ModernCall = {},
): Promise<{ status: number; body: ModernAnswer }> {
  const name = params.name ?? params.uri;
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': method,
      ...(typeof name === 'string' ? { 'mcp-name': name } : {}),
      ...headers,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id,
      method,
      params: {
        ...params,
        _meta: {
          ...(params._meta as Record<string, unknown> | undefined),
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientCapabilities': capabilities,
          'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
        },
      },
    }),
  });
  const text = await response.text();
  const data = text.includes('data: ')
    ? text
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .at(-1)!
        .slice(6)
    : text;
  return { status: response.status, body: JSON.parse(data) as ModernAnswer };
}

/** A message heard on a listen stream. */
export interface Heard {
  readonly method?: string;
  readonly params?: { readonly uri?: string; readonly _meta?: Record<string, unknown> } & Record<
    string,
    unknown
  >;
}

/**
 * A raw 2026-07-28 `subscriptions/listen`: what the stream delivers lands in `heard`, in order,
 * until `stop()`. Resolves once the stream is open (its answer's headers came).
 */
export async function modernListen(
  url: string | URL,
  notifications: Record<string, unknown>,
  id: string | number = 'listen-1',
): Promise<{ readonly heard: Heard[]; readonly contentType: string | null; stop(): void }> {
  const listening = new AbortController();
  const heard: Heard[] = [];
  const response = await fetch(url, {
    method: 'POST',
    signal: listening.signal,
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'subscriptions/listen',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: 'subscriptions/listen',
      params: {
        notifications,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientCapabilities': {},
        },
      },
    }),
  });
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body!) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const data = buffer
          .slice(0, end)
          .split('\n')
          .find((l) => l.startsWith('data: '));
        buffer = buffer.slice(end + 2);
        if (data) heard.push(JSON.parse(data.slice(6)) as Heard);
      }
    }
  })().catch(() => {});
  return { heard, contentType: response.headers.get('content-type'), stop: () => listening.abort() };
}
