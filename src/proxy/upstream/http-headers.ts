/** Header helpers shared by the upstream transports. */
import type { IncomingHttpHeaders } from 'node:http';
import type { McpTarget } from '../../shared/table.js';

/** The Host header for a target: its host, with the port unless it is 80. */
export function hostHeader(target: McpTarget): string {
  return target.port === 80 ? target.host : `${target.host}:${target.port}`;
}

/** A response header's value; the first one when the upstream repeated it. */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
