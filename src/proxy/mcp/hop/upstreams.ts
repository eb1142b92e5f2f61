/**
 * The upstream transports of one process, by protocol; each keeps its own connection pools, and
 * closes those of endpoints the routing table no longer has (retain()).
 */
import type { McpTarget, RoutingTable } from '../../../shared/table.js';
import { LegacySseTransport } from '../../upstream/legacy-sse.js';
import { StreamableHttpTransport } from '../../upstream/streamable-http.js';
import { endpointKey, type UpstreamTransport } from '../../upstream/transport.js';

export class Upstreams {
  readonly #http = new StreamableHttpTransport();
  readonly #sse = new LegacySseTransport();

  for(target: McpTarget): UpstreamTransport {
    return target.protocol === 'SSE' ? this.#sse : this.#http;
  }

  /**
   * After a table change: close (gracefully) the pools of endpoints no target of any backend uses
   * any more. A request that picked such an endpoint just before opens a pool again, which the next
   * change closes.
   */
  retain(table: RoutingTable): void {
    const endpoints = endpointsOf(table);
    this.#http.retain(endpoints);
    this.#sse.retain(endpoints);
  }

  /** Close pooled connections; `force` aborts requests still running. */
  async close(force = false): Promise<void> {
    await Promise.all([this.#http.close(force), this.#sse.close(force)]);
  }
}

/** Every endpoint a target of the table may be sent to (pickEndpoint(): its endpoints, or host:port). */
function endpointsOf(table: RoutingTable): Set<string> {
  const endpoints = new Set<string>();
  for (const listener of table.listeners) {
    for (const route of listener.routes) {
      if (route.action.type !== 'mcp') continue;
      for (const target of route.action.backend.targets) {
        if (target.endpoints.length === 0)
          endpoints.add(endpointKey({ address: target.host, port: target.port }));
        for (const endpoint of target.endpoints) endpoints.add(endpointKey(endpoint));
      }
    }
  }
  return endpoints;
}
