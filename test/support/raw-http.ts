/**
 * A raw TCP connection for tests that need bytes an HTTP client will not send: a trickled body, a
 * request on a connection the server is draining, a connection that never sends anything.
 */
import { connect, type Socket } from 'node:net';

export interface RawConnection {
  readonly socket: Socket;
  /** Everything received so far. */
  text(): string;
  write(data: string): void;
  /** Resolves once the received text satisfies `ready`; rejects after the timeout. */
  until(ready: (text: string) => boolean, timeoutMs?: number, what?: string): Promise<string>;
  /** Resolves with performance.now() when the server closed (or reset) the connection. */
  readonly closed: Promise<number>;
  destroy(): void;
}

export function rawConnect(port: number, options: { localAddress?: string } = {}): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: options.localAddress });
    let received = '';
    const waiters = new Set<() => void>();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      for (const wake of waiters) wake();
    });
    const closed = new Promise<number>((done) => socket.once('close', () => done(performance.now())));
    socket.on('error', () => {}); // a reset shows as `closed`
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve({
        socket,
        text: () => received,
        write: (data) => socket.write(data),
        until: (ready, timeoutMs = 5000, what = 'the expected bytes') =>
          new Promise((done, fail) => {
            const check = () => {
              if (!ready(received)) return;
              clearTimeout(timer);
              waiters.delete(check);
              done(received);
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(new Error(`timed out waiting for ${what}; received: ${JSON.stringify(received)}`));
            }, timeoutMs);
            waiters.add(check);
            check();
          }),
        closed,
        destroy: () => socket.destroy(),
      });
    });
    socket.once('error', reject);
  });
}

/** The JSON body of the first complete response in `text` (Content-Length framed). */
export function jsonBodyOf(text: string): unknown {
  const start = text.indexOf('\r\n\r\n');
  const length = Number(/content-length: (\d+)/i.exec(text.slice(0, start))?.[1]);
  return JSON.parse(text.slice(start + 4, start + 4 + length));
}

/** Whether `text` holds one complete Content-Length framed response. */
export function completeResponse(text: string): boolean {
  const start = text.indexOf('\r\n\r\n');
  if (start === -1) return false;
  const length = /content-length: (\d+)/i.exec(text.slice(0, start))?.[1];
  return length !== undefined && text.length >= start + 4 + Number(length);
}
