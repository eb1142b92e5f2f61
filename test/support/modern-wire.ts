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
