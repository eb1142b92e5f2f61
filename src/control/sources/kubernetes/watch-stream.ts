/**
 * The watch transport: one GET ?watch=true on node:http(s), configured by `kc.applyToHTTPSOptions`
 * (agent, TLS material, Authorization). Replaces client-node's `Watch`, which cannot be aborted before
 * response headers and has no timeouts in 1.4.0. Resolves exactly once, and leaves no socket behind.
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { type KubeError, parseStatus, retryAfterMs } from './errors.js';

export interface WatchRequest {
  kubeConfig: KubeConfig;
  /** Collection path, e.g. `/apis/gateway.networking.k8s.io/v1/gateways`. */
  path: string;
  query: Record<string, string | undefined>;
  connectTimeoutMs: number;
  inactivityMs: number;
  signal: AbortSignal;
  /** Response headers arrived with 200: the watch is established. */
  onOpen(): void;
  /** One decoded event line. Called synchronously from the socket's data handler. */
  onEvent(type: string, object: unknown): void;
}

export type WatchEnd =
  /** The server ended the stream cleanly (timeoutSeconds, or a deliberate close). */
  { type: 'closed' } | { type: 'failed'; error: KubeError } | { type: 'aborted' };

const MAX_ERROR_BODY = 64 * 1024;

export async function watchStream(w: WatchRequest): Promise<WatchEnd> {
  const cluster = w.kubeConfig.getCurrentCluster();
  if (!cluster)
    return { type: 'failed', error: { code: 'CONFIG', message: 'kubeconfig has no current cluster' } };
  const url = new URL(cluster.server.replace(/\/+$/, '') + w.path);
  url.searchParams.set('watch', 'true');
  for (const [key, value] of Object.entries(w.query))
    if (value !== undefined) url.searchParams.set(key, value);
  const options: https.RequestOptions = {};
  try {
    await w.kubeConfig.applyToHTTPSOptions(options);
  } catch (err) {
    return { type: 'failed', error: { code: 'AUTH', message: `kubeconfig: ${(err as Error).message}` } };
  }
  if (w.signal.aborted) return { type: 'aborted' };
  return new Promise<WatchEnd>((resolve) => new Stream(w, url, options, resolve).start());
}

class Stream {
  #done = false;
  #timer: NodeJS.Timeout | undefined;
  #req: http.ClientRequest | undefined;
  #buffer = '';

  constructor(
    private readonly w: WatchRequest,
    private readonly url: URL,
    private readonly options: https.RequestOptions,
    private readonly resolve: (end: WatchEnd) => void,
  ) {}

  start(): void {
    const request = this.url.protocol === 'https:' ? https.request : http.request;
    const headers = { ...(this.options.headers ?? {}), Accept: 'application/json' };
    this.#req = request(this.url, { ...this.options, method: 'GET', headers });
    this.#arm(this.w.connectTimeoutMs, 'CONNECT_TIMEOUT', 'no response headers within the connect timeout');
    this.w.signal.addEventListener('abort', this.#onAbort, { once: true });
    this.#req.on('response', (res) => this.#onResponse(res));
    this.#req.on('error', (err: NodeJS.ErrnoException) =>
      this.#finish({ type: 'failed', error: { code: err.code ?? err.name, message: err.message } }),
    );
    this.#req.end();
  }

  readonly #onAbort = () => this.#finish({ type: 'aborted' });

  #arm(ms: number, code: string, message: string): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#finish({ type: 'failed', error: { code, message } }), ms);
  }

  #onResponse(res: http.IncomingMessage): void {
    if (res.statusCode !== 200) {
      this.#readError(res);
      return;
    }
    this.w.onOpen();
    const rearm = () => this.#arm(this.w.inactivityMs, 'INACTIVITY', 'no data within the inactivity timeout');
    rearm();
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      rearm();
      this.#buffer += chunk;
      let newline = this.#buffer.indexOf('\n');
      while (newline >= 0 && !this.#done) {
        const line = this.#buffer.slice(0, newline).trim();
        this.#buffer = this.#buffer.slice(newline + 1);
        if (line) this.#line(line);
        newline = this.#buffer.indexOf('\n');
      }
    });
    res.on('end', () => this.#finish({ type: 'closed' }));
    res.on('close', () =>
      this.#finish({
        type: 'failed',
        error: { code: 'PREMATURE_CLOSE', message: 'watch stream closed before its end' },
      }),
    );
    res.on('error', (err: NodeJS.ErrnoException) =>
      this.#finish({ type: 'failed', error: { code: err.code ?? err.name, message: err.message } }),
    );
  }

  #line(line: string): void {
    let event: { type?: unknown; object?: unknown };
    try {
      event = JSON.parse(line) as { type?: unknown; object?: unknown };
    } catch {
      this.#finish({
        type: 'failed',
        error: { code: 'BAD_EVENT', message: `undecodable watch line: ${line.slice(0, 120)}` },
      });
      return;
    }
    if (typeof event.type !== 'string') {
      this.#finish({ type: 'failed', error: { code: 'BAD_EVENT', message: 'watch event without a type' } });
      return;
    }
    this.w.onEvent(event.type, event.object);
  }

  /** A non-200 answer: read its Status body (bounded) for the reason and message. */
  #readError(res: http.IncomingMessage): void {
    const status = res.statusCode ?? 0;
    const retryAfter = retryAfterMs(res.headers['retry-after']);
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      if (body.length < MAX_ERROR_BODY) body += chunk;
    });
    const fail = () => {
      const parsed = parseStatus(body);
      const message = parsed.message ?? (res.statusMessage || `HTTP ${status}`);
      this.#finish({
        type: 'failed',
        error: { status, reason: parsed.reason, message, retryAfterMs: retryAfter },
      });
    };
    res.on('end', fail);
    res.on('close', fail);
    res.on('error', fail);
  }

  #finish(end: WatchEnd): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    this.w.signal.removeEventListener('abort', this.#onAbort);
    this.#req?.destroy();
    if (this.options.agent instanceof http.Agent) this.options.agent.destroy();
    this.resolve(end);
  }
}
