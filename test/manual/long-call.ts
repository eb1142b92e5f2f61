/**
 * Manual check (not part of `npm test`): ONE real long silent tool call through a real mcplane
 * process, default settings (`--sse-keepalive 15s`). Three calls run at once, each silent for the
 * whole duration: transparent route with an SSE upstream, multiplexed route with an SSE upstream, and
 * transparent route with an upstream that sends no headers until its JSON answer. The client has no
 * timeouts of its own (undici headersTimeout/bodyTimeout 0), so whatever cuts a call is the gateway.
 *
 *   npx tsx test/manual/long-call.ts [minutes=10]
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Agent, fetch } from 'undici';
import { freePort } from '../support/ports.js';
import { startRawUpstream } from '../support/raw-upstream.js';
import { transparentAndMultiplexed, writeManifests } from '../support/standalone.js';

const minutes = Number(process.argv[2] ?? 10);
const silentMs = Math.round(minutes * 60_000);
const root = fileURLToPath(new URL('../..', import.meta.url));
const dispatcher = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

const [a, b] = await Promise.all([startRawUpstream({ name: 'a' }), startRawUpstream({ name: 'b' })]);
const port = await freePort();
const adminPort = await freePort();
const dir = await writeManifests(port, transparentAndMultiplexed(a, b));
const gateway = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    'src/main.ts',
    '--manifests',
    dir,
    '--bind-address',
    '127.0.0.1',
    '--admin-address',
    '127.0.0.1',
    '--admin-port',
    String(adminPort),
    '--log-level',
    'warn',
  ],
  { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] },
);
for (let i = 0; ; i++) {
  const ready = await fetch(`http://127.0.0.1:${adminPort}/readyz`, { dispatcher }).catch(() => undefined);
  if (ready?.status === 200) break;
  if (i > 200) throw new Error('gateway not ready');
  await new Promise((r) => setTimeout(r, 100));
}

async function call(path: string, tool: string) {
  const url = `http://127.0.0.1:${port}${path}`;
  const init = await fetch(url, {
    method: 'POST',
    headers,
    dispatcher,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'long', version: '1' } },
    }),
  });
  await init.text();
  const session = init.headers.get('mcp-session-id')!;
  const started = performance.now();
  let keepAlives = 0;
  let text = '';
  let firstByteMs: number | undefined;
  try {
    const response = await fetch(url, {
      method: 'POST',
      dispatcher,
      headers: { ...headers, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: tool, arguments: { ms: silentMs } },
      }),
    });
    const decoder = new TextDecoder();
    for await (const chunk of response.body!) {
      firstByteMs ??= performance.now() - started;
      const piece = decoder.decode(chunk as Uint8Array);
      keepAlives += piece.split(': keep-alive').length - 1;
      text += piece;
    }
    const ok = text.includes(`silent for ${silentMs} ms`);
    return {
      path,
      tool,
      status: response.status,
      seconds: +((performance.now() - started) / 1000).toFixed(1),
      firstByteSeconds: +((firstByteMs ?? 0) / 1000).toFixed(1),
      keepAlives,
      resultArrived: ok,
    };
  } catch (error) {
    return {
      path,
      tool,
      error: String(error),
      seconds: +((performance.now() - started) / 1000).toFixed(1),
      keepAlives,
    };
  }
}

console.log(`[long-call] ${minutes} min silent calls through mcplane pid ${gateway.pid} on :${port}`);
const results = await Promise.all([
  call('/one', 'silent_sse'),
  call('/two', 'b_silent_sse'),
  call('/one', 'silent_json'),
]);
console.log(JSON.stringify({ minutes, results }, null, 2));
gateway.kill('SIGTERM');
await new Promise((r) => gateway.once('exit', r));
await Promise.all([a.close(), b.close()]);
await rm(dir, { recursive: true, force: true });
await dispatcher.close();
process.exit(results.every((r) => 'resultArrived' in r && r.resultArrived) ? 0 : 1);
