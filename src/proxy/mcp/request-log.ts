/**
 * One structured log line per finished MCP request (info level). It names where the request went
 * and how it ended, never what it carried: no arguments, session ids, tokens or headers. Callers
 * check `logger.isLevelEnabled('info')` first, so a quieter level costs one comparison.
 */
import type { Logger } from '../../shared/logger.js';
import type { Exchange } from './context.js';

export function logRequest(
  logger: Logger,
  route: string,
  ex: Exchange,
  outcome: 'ok' | 'error',
  durationMs: number,
): void {
  const line: Record<string, string | number> = {
    route,
    backend: ex.backend.id,
    method: ex.method,
    outcome,
    durationMs: Math.round(durationMs * 1000) / 1000,
  };
  if (ex.target !== undefined) line.target = ex.target;
  if (ex.name !== undefined) line[ex.method === 'prompts/get' ? 'prompt' : 'tool'] = ex.name;
  // Streamed answers (SSE) are 200 by construction; they finish after handle() returned.
  const status = ex.status ?? (ex.streamed ? 200 : undefined);
  if (status !== undefined) line.status = status;
  if (ex.rpcError !== undefined) line.rpcError = ex.rpcError;
  logger.info(line, 'mcp request');
}
