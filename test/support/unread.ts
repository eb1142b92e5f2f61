/**
 * Clients that stop reading, for backpressure tests: a request whose response stays paused until the
 * test reads it, and a wait until a counter (bytes an upstream managed to write) stops moving.
 */
import { type IncomingMessage, request } from 'node:http';
import { MCP_HEADERS } from './mcp-harness.js';

/** A request whose response is left unread (paused) until the test reads it; GET without a body. */
export function unread(
  url: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: body === undefined ? 'GET' : 'POST', headers }, (response) => {
      response.pause();
      resolve(response);
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Wait until `count()` stops moving (unchanged for 600 ms), then return it. */
export async function settled(count: () => number, limitMs = 20_000): Promise<number> {
  const deadline = Date.now() + limitMs;
  let last = -1;
  let still = 0;
  while (Date.now() < deadline) {
    const now = count();
    still = now === last ? still + 1 : 0;
    if (still >= 6) return now;
    last = now;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return count();
}

/** The headers of a request in a 2025-06-18 session. */
export const sessionHeaders = (session: string) => ({
  ...MCP_HEADERS,
  'mcp-session-id': session,
  'mcp-protocol-version': '2025-06-18',
});
