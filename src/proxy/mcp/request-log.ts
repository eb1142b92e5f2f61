/**
 * One structured log line per finished MCP request (info level). It names where the request went
 * and how it ended, never what it carried: no arguments, session ids, tokens or headers. Callers
 * check `logger.isLevelEnabled('info')` first, so a quieter level costs one comparison.
 */
import type { Logger } from '../../shared/logger.js';

export interface Finished {
  readonly route: string;
  readonly backend: string;
  /** The metrics label: a known MCP method, `response`, `batch`, `other`, GET or DELETE. */
  readonly method: string;
  readonly outcome: 'ok' | 'error';
  readonly durationMs: number;
  /** The HTTP status sent (streamed answers are 200 by construction). */
  readonly status: number;
  /** The target a routed request went to. */
  readonly target?: string;
  /** The tool (tools/call) or prompt (prompts/get) name the client asked for, at most 128 characters. */
  readonly name?: string;
  /** The JSON-RPC error code, when the gateway answered with one. */
  readonly rpcError?: number;
}

export function logRequest(logger: Logger, finished: Finished): void {
  const line: Record<string, string | number> = {
    route: finished.route,
    backend: finished.backend,
    method: finished.method,
    outcome: finished.outcome,
    durationMs: Math.round(finished.durationMs * 1000) / 1000,
  };
  if (finished.target !== undefined) line.target = finished.target;
  if (finished.name !== undefined)
    line[finished.method === 'prompts/get' ? 'prompt' : 'tool'] = finished.name;
  line.status = finished.status;
  if (finished.rpcError !== undefined) line.rpcError = finished.rpcError;
  logger.info(line, 'mcp request');
}
