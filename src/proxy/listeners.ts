/**
 * Opens and closes listener ports to match the routing table. Each port's server reads the current
 * table per request, so a table swap needs no server restart; only added or removed ports cause I/O.
 */
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import type { RoutingTable } from '../shared/table.js';
import { createGatewayApp, type McpHandler } from './gateway-app.js';
import type { Guards } from './policy/guards.js';
import { isLoopbackAddress, originPolicy } from './rebinding.js';
import { serveReplies } from './reply-writer.js';
import { ClientConnections, type HttpServer, listen, type ServerOptions } from './server.js';

export interface ListenerManagerOptions {
  readonly bindAddress: string;
  /** --request-timeout, --headers-timeout (ms). */
  readonly requestTimeoutMs: number;
  readonly headersTimeoutMs: number;
  /** --max-client-connections: per client address, across every listener port (0: no limit). */
  readonly maxClientConnections: number;
  /** --allowed-origins. */
  readonly allowedOrigins: readonly string[];
  readonly table: () => RoutingTable;
  readonly mcp: McpHandler;
  readonly guards: Guards;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export class ListenerManager {
  readonly #servers = new Map<number, HttpServer>();
  /** Ports that failed to bind, with the reason: shown by /readyz and retried on the next sync. */
  readonly #failed = new Map<number, string>();
  #syncing: Promise<void> = Promise.resolve();
  #closed = false;
  #syncedOnce = false;
  readonly #serverOptions: ServerOptions;

  constructor(private readonly options: ListenerManagerOptions) {
    this.#serverOptions = {
      requestTimeoutMs: options.requestTimeoutMs,
      headersTimeoutMs: options.headersTimeoutMs,
      clients: new ClientConnections(options.maxClientConnections),
      onLimit: (limit) => options.metrics.limitRejected(limit),
    };
  }

  /** Reconcile open ports with the table. Calls are serialised so two syncs never race on a port. */
  sync(table: RoutingTable): Promise<void> {
    this.#syncing = this.#syncing.then(() => this.#sync(table));
    return this.#syncing;
  }

  get ports(): number[] {
    return [...this.#servers.keys()].sort((a, b) => a - b);
  }

  get failures(): ReadonlyMap<number, string> {
    return this.#failed;
  }

  /** True once the ports of the first table have been opened (or have failed): part of readiness. */
  get synced(): boolean {
    return this.#syncedOnce;
  }

  /**
   * Drain every port: stop accepting connections, `Connection: close` on every response, idle
   * connections closed after a grace (see server.ts); resolves when every connection has ended.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#syncing;
    await Promise.all([...this.#servers.values()].map((s) => s.close()));
  }

  /** Abort the requests still in flight with `reason` (see HttpServer.abort); returns how many connections. */
  abort(reason: unknown): number {
    let aborted = 0;
    for (const server of this.#servers.values()) aborted += server.abort(reason);
    return aborted;
  }

  /** Cut whatever is still open (after the drain timeout). */
  destroy(): void {
    for (const server of this.#servers.values()) server.destroy();
  }

  async #sync(table: RoutingTable): Promise<void> {
    if (this.#closed) return;
    const wanted = new Set(table.listeners.map((l) => l.port));
    for (const [port, server] of this.#servers) {
      if (wanted.has(port)) continue;
      this.#servers.delete(port);
      this.options.logger.info({ port }, 'closing listener port: no Gateway listener uses it any more');
      void server.close();
    }
    for (const port of wanted) {
      if (this.#servers.has(port)) continue;
      await this.#open(port);
    }
    for (const port of this.#failed.keys()) if (!wanted.has(port)) this.#failed.delete(port);
    this.options.metrics.listenersOpen.set(this.#servers.size);
    this.#syncedOnce = true;
  }

  async #open(port: number): Promise<void> {
    const { bindAddress, table, mcp, guards, logger, metrics } = this.options;
    const app = createGatewayApp({
      port,
      loopback: isLoopbackAddress(bindAddress),
      origins: originPolicy(this.options.allowedOrigins),
      table,
      mcp,
      guards,
      logger,
      metrics,
    });
    try {
      const server = await listen(serveReplies(app.serve), port, bindAddress, this.#serverOptions);
      this.#servers.set(port, server);
      this.#failed.delete(port);
      logger.info({ port, address: bindAddress }, 'listening for MCP clients');
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      this.#failed.set(port, reason);
      logger.error({ port, address: bindAddress, reason }, 'cannot open listener port');
    }
  }
}
