/** The upstream transports of one process, by protocol; each keeps its own connection pools. */
import type { McpTarget } from '../../../shared/table.js';
import { LegacySseTransport } from '../../upstream/legacy-sse.js';
import { StreamableHttpTransport } from '../../upstream/streamable-http.js';
import type { UpstreamTransport } from '../../upstream/transport.js';

export class Upstreams {
  readonly #http = new StreamableHttpTransport();
  readonly #sse = new LegacySseTransport();

  for(target: McpTarget): UpstreamTransport {
    return target.protocol === 'SSE' ? this.#sse : this.#http;
  }

  /** Close pooled connections; `force` aborts requests still running. */
  async close(force = false): Promise<void> {
    await Promise.all([this.#http.close(force), this.#sse.close(force)]);
  }
}
