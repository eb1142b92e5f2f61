/**
 * The drain's closing of idle keep-alive connections (src/proxy/server.ts, closeUnused) against the
 * race a proxy in front runs: a request sent into an idle connection while the gateway's event loop
 * is busy sits unread in the kernel when the sweep that would close the connection runs. Closing it
 * then would reset a request the proxy cannot retry (a POST). Here the client is a worker thread (so
 * it runs while this thread is blocked), the event loop is blocked across the moment the grace ends,
 * and the request the worker sent during the block must still be answered. The same holds for a
 * connection the kernel accepted while the loop was busy when the drain began: closing the
 * listening socket at once would reset it with its request.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { type HttpServer, IDLE_GRACE_MS, listen, serveFetch } from '../../src/proxy/server.js';

/** A keep-alive client on its own thread: one request now, the second one when told. */
const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const socket = net.connect(workerData.port, '127.0.0.1');
let received = '';
const request = (n) => 'POST /mcp HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nContent-Type: application/json\\r\\nContent-Length: 2\\r\\n\\r\\n{}';
socket.on('data', (chunk) => {
  received += chunk.toString();
  parentPort.postMessage({ kind: 'data', received });
});
socket.on('close', () => parentPort.postMessage({ kind: 'closed', received }));
socket.on('error', (error) => parentPort.postMessage({ kind: 'error', code: error.code }));
socket.on('connect', () => socket.write(request(1)));
parentPort.on('message', (message) => {
  if (message === 'send') setTimeout(() => socket.write(request(2)), workerData.sendAfterMs);
});
`;

let server: HttpServer | undefined;
afterEach(() => server?.destroy());

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // The gateway's event loop, busy with other work.
  }
}

describe('drain while the event loop is busy', () => {
  it('a request sent into an idle connection while the loop is blocked at the end of the grace is answered', async () => {
    server = await listen(
      serveFetch(() => new Response('{"ok":true}', { headers: { 'content-type': 'application/json' } })),
      0,
      '127.0.0.1',
    );
    const worker = new Worker(CLIENT, { eval: true, workerData: { port: server.port, sendAfterMs: 100 } });
    const events: { kind: string; received?: string; code?: string }[] = [];
    const until = (test: () => boolean) =>
      new Promise<void>((resolve) => {
        const check = () => (test() ? resolve() : setTimeout(check, 5));
        check();
      });
    worker.on('message', (event) => events.push(event));
    const answers = () => (events.at(-1)?.received ?? '').split('HTTP/1.1 200').length - 1;
    await until(() => answers() === 1);

    const drained = server.close();
    // Let the grace run out on its own, then block the loop from just before it ends until well
    // after: the worker's second request arrives during the block, and the overdue sweep runs
    // before the loop reads it.
    await new Promise((resolve) => setTimeout(resolve, IDLE_GRACE_MS - 150));
    worker.postMessage('send');
    busy(400);

    await until(() => answers() === 2 || events.some((e) => e.kind === 'closed' || e.kind === 'error'));
    await until(() => events.some((e) => e.kind === 'closed' || e.kind === 'error'));
    const received = events.findLast((e) => e.received !== undefined)?.received ?? '';
    expect(answers(), JSON.stringify(events.at(-1))).toBe(2);
    // The answer during the drain tells the client to close, and the server then closes it.
    expect(received.split('HTTP/1.1 200')[2]).toMatch(/connection: close/i);
    await drained;
    await worker.terminate();
  }, 15_000);

  it('a connection queued while the loop is busy when the drain begins is served, not reset with the listener', async () => {
    server = await listen(
      serveFetch(() => new Response('{"ok":true}', { headers: { 'content-type': 'application/json' } })),
      0,
      '127.0.0.1',
    );
    const worker = new Worker(LATE_CLIENT, {
      eval: true,
      workerData: { port: server.port, connectAfterMs: 50 },
    });
    const events: string[] = [];
    worker.on('message', (event: string) => events.push(event));
    await new Promise((resolve) => setTimeout(resolve, 10));
    // The worker connects and sends during the block; the drain begins before the loop accepts it.
    busy(300);
    const drained = server.close();
    await drained;
    await new Promise<void>((resolve) => {
      const check = () => (events.some((e) => e.startsWith('closed')) ? resolve() : setTimeout(check, 5));
      check();
    });
    expect(events).toContain('connected');
    expect(events.find((e) => e.startsWith('closed'))).toMatch(
      /^closed HTTP\/1\.1 200 OK.*connection: close/is,
    );
    expect(events.some((e) => e.startsWith('error'))).toBe(false);
    await worker.terminate();
  }, 15_000);
});

/** A client that connects (and sends at once) only after `connectAfterMs`; reports what it got on close. */
const LATE_CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
setTimeout(() => {
  const socket = net.connect(workerData.port, '127.0.0.1');
  let received = '';
  socket.on('connect', () => {
    parentPort.postMessage('connected');
    socket.write('POST /mcp HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nContent-Type: application/json\\r\\nContent-Length: 2\\r\\n\\r\\n{}');
  });
  socket.on('data', (chunk) => (received += chunk));
  socket.on('error', (error) => parentPort.postMessage('error ' + error.code));
  socket.on('close', () => parentPort.postMessage('closed ' + received));
}, workerData.connectAfterMs);
`;
