/**
 * A real legacy HTTP+SSE MCP server (protocol 2024-11-05) for proxy tests: the SDK's
 * SSEServerTransport on 127.0.0.1:0, GET /sse opens a session's stream and POST /messages takes its
 * messages. Options bend the `endpoint` event (absolute, query-only, another origin, never sent)
 * and dropStreams() cuts every open stream, as an upstream restart or a dead proxy would.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { ListRootsResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { buildServer, type FixtureOptions } from './mcp-servers.js';

/** How the server announces where to POST (the SDK itself always sends a relative path). */
export type EndpointStyle = 'relative' | 'absolute' | 'query' | 'foreign' | 'none';

export interface LegacySseOptions extends FixtureOptions {
  readonly endpoint?: EndpointStyle;
}

export interface LegacySeen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

export interface LegacySseServer {
  readonly name: string;
  readonly port: number;
  readonly seen: LegacySeen[];
  /** Open SSE sessions by the SDK's sessionId (closed ones are removed). */
  readonly sessions: Map<string, SSEServerTransport>;
  /** Destroy every open event stream's socket (no clean end). */
  dropStreams(): void;
  close(): Promise<void>;
}

/** Rewrite the endpoint event the SDK writes, per style. */
function bendEndpoint(res: ServerResponse, style: EndpointStyle, port: number): void {
  if (style === 'relative') return;
  const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : '';
    const match = /^event: endpoint\ndata: (.*)\n\n$/.exec(text);
    if (!match) return write(chunk, ...rest);
    const relative = match[1]!;
    if (style === 'none') return true;
    const data =
      style === 'absolute'
        ? `http://127.0.0.1:${port}${relative}`
        : style === 'query'
          ? relative.slice(relative.indexOf('?'))
          : `http://other.example:${port}${relative}`;
    return write(`event: endpoint\ndata: ${data}\n\n`, ...rest);
  }) as ServerResponse['write'];
}

export async function startLegacySse(options: LegacySseOptions): Promise<LegacySseServer> {
  const sessions = new Map<string, SSEServerTransport>();
  const streams = new Set<ServerResponse>();
  const seen: LegacySeen[] = [];
  const style = options.endpoint ?? 'relative';
  let port = 0;
  const httpServer = createServer(async (req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const url = new URL(req.url ?? '/', 'http://fixture');
    if (req.method === 'GET' && url.pathname === '/sse') {
      bendEndpoint(res, style, port);
      // With style 'query' the endpoint is resolved against /sse, so messages arrive there too.
      const transport = new SSEServerTransport(style === 'query' ? '/sse' : '/messages', res);
      sessions.set(transport.sessionId, transport);
      streams.add(res);
      res.on('close', () => {
        sessions.delete(transport.sessionId);
        streams.delete(res);
      });
      const server = buildServer(options);
      server.registerTool('roots', { description: 'Ask the client for its roots' }, async (extra) => {
        const result = await extra.sendRequest({ method: 'roots/list' }, ListRootsResultSchema);
        return { content: [{ type: 'text', text: result.roots.map((root) => root.uri).join(',') }] };
      });
      await server.connect(transport);
      return;
    }
    if (req.method === 'POST') {
      const transport = sessions.get(url.searchParams.get('sessionId') ?? '');
      if (!transport) {
        res.writeHead(404).end('Could not find session');
        return;
      }
      // The SDK answers 500 and throws when the stream is already gone.
      await transport.handlePostMessage(req, res).catch(() => {});
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  port = (httpServer.address() as AddressInfo).port;
  return {
    name: options.name,
    port,
    seen,
    sessions,
    dropStreams() {
      for (const res of streams) res.destroy();
    },
    async close() {
      for (const res of streams) res.destroy();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
