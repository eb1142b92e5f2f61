/**
 * A small example MCP server (streamable HTTP, stateful sessions) for the standalone demo: a few
 * tools, a prompt and a resource, so the gateway's multiplexing and prefixing are visible.
 * Usage: tsx examples/servers/toolbox.ts [port]   (binds 127.0.0.1)
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

export function createToolboxServer(): McpServer {
  const server = new McpServer({ name: 'toolbox', version: '1.0.0' }, { instructions: 'Small utilities.' });
  server.registerTool(
    'word_count',
    { description: 'Count the words in a text', inputSchema: { text: z.string() } },
    async ({ text }) => ({
      content: [{ type: 'text', text: String(text.split(/\s+/).filter(Boolean).length) }],
    }),
  );
  server.registerTool('uuid', { description: 'A random UUID' }, async () => ({
    content: [{ type: 'text', text: randomUUID() }],
  }));
  server.registerTool('now', { description: 'The current time (ISO 8601, UTC)' }, async () => ({
    content: [{ type: 'text', text: new Date().toISOString() }],
  }));
  server.registerPrompt(
    'summarize',
    { description: 'Ask for a short summary', argsSchema: { text: z.string() } },
    ({ text }) => ({
      messages: [{ role: 'user', content: { type: 'text', text: `Summarize briefly:\n${text}` } }],
    }),
  );
  server.registerResource('readme', 'toolbox://readme', { mimeType: 'text/plain' }, async (uri) => ({
    contents: [{ uri: uri.href, text: 'The toolbox example server.' }],
  }));
  return server;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
}

export function serveToolbox(port: number) {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer(async (req, res) => {
    try {
      const sessionId = req.headers['mcp-session-id'];
      let transport = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
      const body = req.method === 'POST' ? await readBody(req) : undefined;
      if (!transport) {
        if (sessionId !== undefined) {
          res.writeHead(404, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              jsonrpc: '2.0',
              id: null,
              error: { code: -32001, message: 'Session not found' },
            }),
          );
          return;
        }
        const created = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => void transports.set(id, created),
        });
        created.onclose = () => {
          if (created.sessionId) transports.delete(created.sessionId);
        };
        await createToolboxServer().connect(created);
        transport = created;
      }
      await transport.handleRequest(req, res, body);
    } catch (err) {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`bad request: ${(err as Error).message}`);
    }
  });
  http.listen(port, '127.0.0.1');
  return http;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.argv[2] ?? 3002);
  const http = serveToolbox(port);
  http.on('listening', () => console.error(`toolbox MCP server on http://127.0.0.1:${port}/mcp`));
  const stop = () => http.close(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
