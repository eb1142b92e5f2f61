/**
 * A request on a listener port as the gateway reads it: node:http's parsed request, with no web
 * `Request` or `Headers` built per call (the adaptation cost ~5 µs a request, more than the route
 * match, the policy and the session lookup together).
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/** Header reads as web `Headers` answers them: lower-case names, repeated values joined by ", ". */
export interface RequestHeaders {
  get(name: string): string | null;
  has(name: string): boolean;
  /** Every header once, names in lower case. */
  forEach(visit: (value: string, name: string) => void): void;
}

/** What routing and policy read of a request (a web `Request` has it too, which tests use). */
export interface HttpRequest {
  readonly method: string;
  /** The request target as sent: a path and query (or an absolute URL). */
  readonly url: string;
  readonly headers: RequestHeaders;
}

/** node:http's header object behind the web `Headers` reads (its parse is lazy and plain). */
class NodeHeaders implements RequestHeaders {
  constructor(readonly source: IncomingHttpHeaders) {}

  get(name: string): string | null {
    const value = this.source[name];
    if (value === undefined) return null;
    return typeof value === 'string' ? value : value.join(', ');
  }

  has(name: string): boolean {
    return this.source[name] !== undefined;
  }

  forEach(visit: (value: string, name: string) => void): void {
    for (const name in this.source) {
      const value = this.source[name];
      if (value !== undefined) visit(typeof value === 'string' ? value : value.join(', '), name);
    }
  }
}

/** A request that arrived on a listener port: its body and raw header list are read from node:http. */
export class IncomingRequest implements HttpRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: NodeHeaders;

  constructor(readonly incoming: IncomingMessage) {
    this.method = incoming.method ?? 'GET';
    this.url = incoming.url ?? '/';
    this.headers = new NodeHeaders(incoming.headers);
  }

  /** node:http's `[name, value, name, value, …]` as the client sent them. */
  get rawHeaders(): readonly string[] {
    return this.incoming.rawHeaders;
  }
}
