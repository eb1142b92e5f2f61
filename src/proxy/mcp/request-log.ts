/**
 * One structured log line per finished MCP request (info level). It names where the request went
 * and how it ended, never what it carried: no arguments, session ids, tokens or headers; the caller
 * as a digest unless --log-subject says otherwise; the trace and span ids when tracing is on. Callers
 * check `logger.isLevelEnabled('info')` first, so a quieter level costs one comparison.
 */
import { sha256Hex } from '../../shared/digest.js';
import type { Logger } from '../../shared/logger.js';
import type { Span } from '../../shared/tracing.js';

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
  /** The request's server span (tracing on): the line carries its trace and span ids. */
  readonly span?: Span;
  /** Who called, as --log-subject says (a digest by default); absent when anonymous. */
  readonly subject?: string;
}

/** How the caller's identity appears in the log (--log-subject). */
export type LogSubject = 'hash' | 'plain' | 'off';

/** The caller's principal as the log shows it: a short SHA-256 digest, as it is, or not at all. */
export function subjectField(principal: string, mode: LogSubject): string | undefined {
  if (principal === '' || mode === 'off') return undefined;
  return mode === 'plain' ? principal.replace('\n', ' ').slice(0, 256) : sha256Hex(principal).slice(0, 16);
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
  if (finished.subject !== undefined) line.subject = finished.subject;
  if (finished.span !== undefined) {
    const context = finished.span.spanContext();
    line.trace_id = context.traceId;
    line.span_id = context.spanId;
  }
  logger.info(line, 'mcp request');
}
