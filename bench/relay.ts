/**
 * The node relay: the floor a Node gateway can reach, measured beside mcplane. `node:http` server in,
 * an undici `Pool` out (mcplane's own upstream pool options), no MCP work at all: it forwards the
 * method, the path, the body (streamed) and the headers that matter (content-type, accept,
 * content-length, mcp-session-id, mcp-protocol-version, last-event-id), and streams the answer back
 * with its status and content-type, content-length and mcp-session-id headers. GET event streams get
 * a pool of their own, as in mcplane, so they never hold a connection calls need.
 *
 * Run as its own process (as nginx and mcplane are), so its CPU per call is read from /proc the same way:
 *   node --import tsx bench/relay.ts --upstream http://127.0.0.1:<port> [--port 0]
 * It prints one JSON line `{"ready":true,"port":N,"pid":P}` once listening.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { POOL_OPTIONS } from '../src/proxy/upstream/streamable-http.js';
import { serveAsChild } from './child.js';

const FORWARDED = [
  'content-type',
  'accept',
  'content-length',
  'mcp-session-id',
  'mcp-protocol-version',
  'last-event-id',
] as const;

export async function startRelay(
  upstream: string,
  port: number,
): Promise<{ port: number; close: () => Promise<void> }> {
  const calls = new Pool(upstream, POOL_OPTIONS);
  const streams = new Pool(upstream, { ...POOL_OPTIONS, connections: null });

  const relay = (req: IncomingMessage, res: ServerResponse): void => {
    const headers: Record<string, string> = {};
    for (const name of FORWARDED) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const length = req.headers['content-length'];
    const hasBody = length !== undefined ? length !== '0' : req.headers['transfer-encoding'] !== undefined;
    const method = req.method ?? 'GET';
    (method === 'GET' ? streams : calls).stream(
      { path: req.url ?? '/', method, headers, body: hasBody ? req : null },
      ({ statusCode, headers: answer }) => {
        const out: Record<string, string> = {};
        for (const name of ['content-type', 'content-length', 'mcp-session-id']) {
          const value = answer[name];
          if (typeof value === 'string') out[name] = value;
        }
        res.writeHead(statusCode, out);
        // An event stream may stay silent for long: its client must see the headers now.
        if (method === 'GET') res.flushHeaders();
        return res;
      },
      (err) => {
        if (!err) return;
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'text/plain' }).end(`relay: ${err.message}`);
        } else res.destroy();
      },
    );
  };

  const server = createServer(relay);
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([calls.destroy(), streams.destroy()]);
    },
  };
}

await serveAsChild(import.meta.url, () => {
  const { values } = parseArgs({
    options: { upstream: { type: 'string' }, port: { type: 'string', default: '0' } },
  });
  if (!values.upstream) throw new Error('--upstream http://127.0.0.1:<port> is required');
  return startRelay(values.upstream, Number(values.port));
});
