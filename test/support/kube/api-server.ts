/**
 * An in-process Kubernetes API server for tests: real HTTP on 127.0.0.1, the wire protocol that
 * @kubernetes/client-node speaks (docs/kubernetes-client.md section 3), a programmatic API for
 * arranging state, and fault injection for every failure the reflectors must survive.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ClusterState, type StoredEvent } from './cluster-state.js';
import { discovery } from './discovery.js';
import { type FaultAction, type FaultMatch, type FaultRule, takeFault, type Verb } from './faults.js';
import {
  apiVersionOf,
  FAKE_KINDS,
  type FakeKind,
  fakeKindOf,
  parseResourcePath,
  type ResourcePath,
} from './kinds.js';
import { Lister, primeWatch, selectorPredicate, watchStart } from './reads.js';
import { objectBody, readBody, verbOf } from './requests.js';
import { ApiError, errorBody, isObject, type JsonObject, statusBody } from './status.js';
import { Watcher } from './watch.js';

export interface ApiServerOptions {
  /** Events kept per kind; a watch from an RV older than the window gets 410. Default 1000. */
  historyLimit?: number;
  /** How a too-old watch RV is answered: in-stream ERROR event (real apiserver) or HTTP 410. */
  expiredWatch?: 'event' | 'http';
  /** Send BOOKMARKs to watches that allow them this often (in addition to sendBookmarks()). */
  bookmarkIntervalMs?: number;
  /** Kinds that start "not installed" (404 until installKind). */
  uninstalled?: string[];
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
  body?: unknown;
  kind?: string;
  verb?: Verb;
  status?: number;
  at: number;
}

export class KubeApiServer {
  readonly requests: LoggedRequest[] = [];
  readonly #server: Server;
  readonly #cluster: ClusterState;
  readonly #lister: Lister;
  readonly #watchers = new Set<Watcher>();
  readonly #sockets = new Set<Socket>();
  readonly #faults: FaultRule[] = [];
  readonly #options: ApiServerOptions;
  #down = false;
  #port = 0;

  private constructor(options: ApiServerOptions) {
    this.#options = options;
    this.#cluster = new ClusterState(options.historyLimit ?? 1000, (kind, event) =>
      this.#broadcast(kind, event),
    );
    this.#lister = new Lister(this.#cluster);
    for (const kind of options.uninstalled ?? []) this.#cluster.state(fakeKindOf(kind)).installed = false;
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => this.#send(res, 500, statusBody(500, String(err))));
    });
    this.#server.on('connection', (socket) => {
      if (this.#down) {
        socket.destroy();
        return;
      }
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  static async start(options: ApiServerOptions = {}): Promise<KubeApiServer> {
    const server = new KubeApiServer(options);
    await new Promise<void>((resolve) => server.#server.listen(0, '127.0.0.1', resolve));
    server.#port = (server.#server.address() as AddressInfo).port;
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** TCP connections currently open to the server (a stopped client must leave none). */
  get openConnections(): number {
    return this.#sockets.size;
  }

  /** The global resourceVersion counter. */
  get resourceVersion(): number {
    return this.#cluster.rv;
  }

  async close(): Promise<void> {
    for (const w of this.#watchers) w.destroy();
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  // --- programmatic state ----------------------------------------------------------------------

  /** Create or replace an object as given (status included, no RV precondition). Returns the stored object. */
  apply(obj: Record<string, unknown>): JsonObject {
    const body = JSON.parse(JSON.stringify(obj)) as JsonObject;
    const kind = fakeKindOf(String(body.kind));
    if (body.apiVersion !== apiVersionOf(kind)) {
      throw new Error(
        `${String(body.kind)} is served as ${apiVersionOf(kind)}, not ${String(body.apiVersion)}`,
      );
    }
    const meta = isObject(body.metadata) ? body.metadata : {};
    const ns = kind.namespaced ? String(meta.namespace ?? 'default') : undefined;
    const name = String(meta.name);
    const { resourceVersion: _rv, ...rest } = meta;
    body.metadata = rest;
    if (this.#cluster.get(kind, ns, name)) {
      return this.#cluster.replace(kind, ns, name, body, { viaApi: false });
    }
    return this.#cluster.create(kind, ns, body, { viaApi: false });
  }

  delete(kind: string, namespace: string | undefined, name: string): JsonObject {
    return this.#cluster.delete(fakeKindOf(kind), namespace, name);
  }

  get(kind: string, namespace: string | undefined, name: string): JsonObject | undefined {
    return this.#cluster.get(fakeKindOf(kind), namespace, name);
  }

  list(kind: string): JsonObject[] {
    return [...this.#cluster.state(fakeKindOf(kind)).objects.values()];
  }

  installKind(kind: string): void {
    this.#cluster.state(fakeKindOf(kind)).installed = true;
  }

  /** Remove a CRD: its objects go, its watches end, later requests get 404. */
  uninstallKind(kind: string): void {
    const k = fakeKindOf(kind);
    const state = this.#cluster.state(k);
    state.installed = false;
    state.objects.clear();
    this.#cluster.compact(k);
    this.closeWatches(kind);
  }

  // --- watches -----------------------------------------------------------------------------------

  watchCount(kind?: string): number {
    return [...this.#watchers].filter((w) => !kind || w.spec.kind.kind === kind).length;
  }

  /** End watches cleanly, as a server-side timeout does. */
  closeWatches(kind?: string): void {
    for (const w of this.#selectWatchers(kind)) w.end();
  }

  /** Cut watch connections abruptly (ECONNRESET / premature close on the client). */
  destroyWatches(kind?: string): void {
    for (const w of this.#selectWatchers(kind)) w.destroy();
  }

  /** Send a BOOKMARK at the current RV to every watch that allowed bookmarks. */
  sendBookmarks(kind?: string): void {
    for (const w of this.#selectWatchers(kind)) w.bookmark(this.#cluster.rv);
  }

  // --- faults ------------------------------------------------------------------------------------

  /** Replace the answer to the next `times` requests matching `match`. Returns the live rule. */
  inject(match: FaultMatch, action: FaultAction, times = 1): FaultRule {
    const rule: FaultRule = { match, action, remaining: times, hits: 0 };
    this.#faults.push(rule);
    return rule;
  }

  /** Shorthand: answer `status` to the next `times` matching requests. */
  failNext(match: FaultMatch, status: number, times = 1, retryAfterSeconds?: number): FaultRule {
    return this.inject(match, { status, retryAfterSeconds }, times);
  }

  clearFaults(): void {
    this.#faults.length = 0;
  }

  /** Forget history up to now for one kind or all: older watch RVs get 410. Continue tokens expire. */
  compact(kind?: string): void {
    for (const k of kind ? [fakeKindOf(kind)] : FAKE_KINDS.values()) this.#cluster.compact(k);
    this.#lister.expireContinueTokens();
  }

  expireContinueTokens(): void {
    this.#lister.expireContinueTokens();
  }

  /** Go unreachable: every connection is cut and new ones are refused until resume(). */
  pause(): void {
    this.#down = true;
    for (const w of this.#watchers) w.destroy();
    for (const socket of this.#sockets) socket.destroy();
  }

  resume(): void {
    this.#down = false;
  }

  /**
   * An API-server restart that loses the watch cache: connections cut, `during` runs while down,
   * resourceVersions jump ahead, every kind's history is gone (old RVs get 410), then back up.
   */
  async restart(options: { during?: () => void; downMs?: number } = {}): Promise<void> {
    this.pause();
    options.during?.();
    this.#cluster.rv += 1000;
    this.compact();
    if (options.downMs) await new Promise((r) => setTimeout(r, options.downMs));
    this.resume();
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  /** Logged requests, optionally for one kind and verb. */
  requestsFor(kind?: string, verb?: Verb): LoggedRequest[] {
    return this.requests.filter((r) => (!kind || r.kind === kind) && (!verb || r.verb === verb));
  }

  // --- HTTP --------------------------------------------------------------------------------------

  #selectWatchers(kind?: string): Watcher[] {
    return [...this.#watchers].filter((w) => !kind || w.spec.kind.kind === kind);
  }

  #broadcast(kind: FakeKind, event: StoredEvent): void {
    for (const w of this.#watchers) if (w.spec.kind === kind) w.offer(event);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const entry: LoggedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      at: Date.now(),
    };
    this.requests.push(entry);
    // Watches never finish while open: record the status when headers go out.
    const writeHead = res.writeHead.bind(res) as (
      code: number,
      headers?: Record<string, string | number>,
    ) => ServerResponse;
    res.writeHead = ((code: number, headers?: Record<string, string | number>) => {
      entry.status = code;
      return writeHead(code, headers);
    }) as typeof res.writeHead;
    try {
      entry.body = await readBody(req);
      const route = parseResourcePath(url.pathname);
      if (!route) {
        const doc =
          entry.method === 'GET'
            ? discovery(url.pathname, (k) => this.#cluster.state(k).installed)
            : undefined;
        if (doc) return this.#send(res, 200, doc);
        throw new ApiError(404, 'the server could not find the requested resource');
      }
      const verb = verbOf(entry.method, route, url.searchParams);
      [entry.kind, entry.verb] = [route.kind.kind, verb];
      const fault = takeFault(this.#faults, {
        kind: route.kind.kind,
        verb,
        path: url.pathname,
        continue: url.searchParams.has('continue'),
        subresource: route.subresource,
      });
      if (fault && (await this.#applyFault(fault, req, res, route, url.searchParams))) return;
      if (!this.#cluster.state(route.kind).installed) {
        throw new ApiError(404, 'the server could not find the requested resource');
      }
      if (verb === 'watch') return this.#watch(req, res, route, url.searchParams);
      const [code, body] = this.#serve(
        verb,
        route,
        url.searchParams,
        entry.body,
        req.headers['content-type'],
      );
      this.#send(res, code, body);
    } catch (err) {
      if (err instanceof ApiError) this.#send(res, err.code, errorBody(err));
      else this.#send(res, 500, statusBody(500, err instanceof Error ? err.message : String(err)));
    }
  }

  /** Returns true when the fault answered the request itself. */
  async #applyFault(
    fault: FaultAction,
    req: IncomingMessage,
    res: ServerResponse,
    route: ResourcePath,
    query: URLSearchParams,
  ): Promise<boolean> {
    if ('status' in fault) {
      if (fault.retryAfterSeconds !== undefined)
        res.setHeader('Retry-After', String(fault.retryAfterSeconds));
      const message = fault.message ?? `injected ${fault.status}`;
      this.#send(res, fault.status, statusBody(fault.status, message, fault.reason));
      return true;
    }
    if ('hang' in fault) return true; // never answered; the socket closes when either side gives up
    if ('destroy' in fault) {
      req.socket.destroy();
      return true;
    }
    if ('delayMs' in fault) {
      await new Promise((r) => setTimeout(r, fault.delayMs));
      return req.socket.destroyed;
    }
    const watcher = this.#openWatcher(req, res, route, query);
    if ('silent' in fault) watcher.silent = true;
    else watcher.end();
    return true;
  }

  #openWatcher(
    req: IncomingMessage,
    res: ServerResponse,
    route: ResourcePath,
    query: URLSearchParams,
  ): Watcher {
    const bookmarks = ['true', '1'].includes(query.get('allowWatchBookmarks') ?? '');
    const spec = {
      kind: route.kind,
      namespace: route.namespace,
      predicate: selectorPredicate(query),
      bookmarks,
    };
    const watcher = new Watcher(spec, req, res, (w) => this.#watchers.delete(w));
    this.#watchers.add(watcher);
    watcher.open();
    return watcher;
  }

  #watch(req: IncomingMessage, res: ServerResponse, route: ResourcePath, query: URLSearchParams): void {
    const start = watchStart(this.#cluster, route.kind, query.get('resourceVersion'));
    if (start.kind === 'expired' && this.#options.expiredWatch === 'http') {
      throw new ApiError(410, start.message, 'Expired');
    }
    const watcher = this.#openWatcher(req, res, route, query);
    if (start.kind === 'expired') {
      watcher.send('ERROR', statusBody(410, start.message, 'Expired'));
      watcher.end();
      return;
    }
    primeWatch(this.#cluster, watcher, start);
    const timeoutSeconds = Number(query.get('timeoutSeconds') ?? '0');
    if (timeoutSeconds > 0) watcher.endAfter(timeoutSeconds * 1000);
    const interval = this.#options.bookmarkIntervalMs;
    if (interval && watcher.spec.bookmarks) watcher.every(interval, () => watcher.bookmark(this.#cluster.rv));
  }

  #serve(
    verb: Verb,
    route: ResourcePath,
    query: URLSearchParams,
    body: unknown,
    contentType: string | undefined,
  ): [number, JsonObject] {
    const { kind, namespace, name, subresource } = route;
    const opts = { viaApi: true, subresource };
    switch (verb) {
      case 'list':
        return [200, this.#lister.list(kind, namespace, query)];
      case 'get':
        return [200, this.#cluster.mustGet(kind, namespace, name!)];
      case 'create':
        if (subresource)
          throw new ApiError(405, 'the server does not allow this method on the requested resource');
        return [201, this.#cluster.create(kind, namespace, objectBody(body), opts)];
      case 'update':
        return [200, this.#cluster.replace(kind, namespace, name!, objectBody(body), opts)];
      case 'patch':
        if (!contentType?.startsWith('application/merge-patch+json')) {
          throw new ApiError(
            415,
            `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json (got ${contentType ?? 'none'})`,
          );
        }
        return [200, this.#cluster.patch(kind, namespace, name!, objectBody(body), opts)];
      default:
        this.#cluster.delete(kind, namespace, name!);
        return [
          200,
          {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Success',
            details: { name: name!, group: kind.group, kind: kind.plural },
          },
        ];
    }
  }

  #send(res: ServerResponse, code: number, body: JsonObject): void {
    if (res.headersSent || res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }
}
