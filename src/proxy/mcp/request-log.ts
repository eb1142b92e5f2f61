/**
 * One structured log line per finished MCP request (info level). It names where the request went
 * and how it ended, never what it carried: no arguments, session ids, tokens or headers; the caller
 * as a digest unless --log-subject says otherwise; the trace and span ids when tracing is on. Callers
 * check `logger.isLevelEnabled('info')` first, so a quieter level costs one comparison.
 */
import { sha256Hex } from '../../shared/digest.js';
import { type Logger, writeInfoLine } from '../../shared/logger.js';
import type { Span } from '../../shared/tracing.js';
import type { Outcome } from './hop/outcome.js';

/** What the entry kept of one request (service.ts's own bookkeeping satisfies it). */
export interface RequestFacts {
  /** The metrics label: a known MCP method, `response`, `batch`, `other`, GET or DELETE. */
  readonly method: string;
  /** The tool (tools/call) or prompt (prompts/get) name the client asked for, at most 128 characters. */
  readonly name?: string;
  /** The request's server span (tracing on): the line carries its trace and span ids. */
  readonly span?: Span;
  /** Who called ('' when anonymous): logged as --log-subject says, only when a line is written. */
  readonly principal: string;
}

/** How the caller's identity appears in the log (--log-subject). */
export type LogSubject = 'hash' | 'plain' | 'off';

/** The caller's principal as the log shows it: a short SHA-256 digest, as it is, or not at all. */
export function subjectField(principal: string, mode: LogSubject): string | undefined {
  if (principal === '' || mode === 'off') return undefined;
  return mode === 'plain' ? principal.replace('\n', ' ').slice(0, 256) : sha256Hex(principal).slice(0, 16);
}

/**
 * The line is written as pino would write `logger.info(fields, 'mcp request')` (same keys, same
 * order of the common ones, the logger's bindings), but built as one string: the access log is on by
 * default, so every call pays for it, and pino's generic path (an object per line, a key loop, the
 * redaction pass, which has nothing to find in these fields) took 7.3 µs a line against 3.3. Only the
 * client's tool or prompt name and the ids from the routing table are escaped; the rest are numbers
 * or fixed labels.
 */
export function logRequest(
  logger: Logger,
  subjectMode: LogSubject,
  routeId: string,
  backendId: string,
  facts: RequestFacts,
  outcome: Outcome,
  /** The answer's JSON-RPC error code: the gateway's, or a target's (operation-labels.ts). */
  rpcError: number | undefined,
  result: 'ok' | 'error',
  durationMs: number,
): void {
  const { reply, target } = outcome;
  let line = `,"route":${JSON.stringify(routeId)},"backend":${JSON.stringify(backendId)},"method":${JSON.stringify(facts.method)},"outcome":"${result}","durationMs":${Math.round(durationMs * 1000) / 1000}`;
  if (target !== undefined) line += `,"target":${JSON.stringify(target)}`;
  if (facts.name !== undefined) {
    line += `,"${facts.method === 'prompts/get' ? 'prompt' : 'tool'}":${JSON.stringify(facts.name)}`;
  }
  // Streamed answers are 200 by construction.
  line += `,"status":${reply.kind === 'stream' ? 200 : reply.status}`;
  if (rpcError !== undefined && Number.isFinite(rpcError)) line += `,"rpcError":${rpcError}`;
  const subject = subjectField(facts.principal, subjectMode);
  if (subject !== undefined) line += `,"subject":${JSON.stringify(subject)}`;
  if (facts.span !== undefined) {
    const context = facts.span.spanContext();
    line += `,"trace_id":"${context.traceId}","span_id":"${context.spanId}"`;
  }
  writeInfoLine(logger, line, '"mcp request"');
}
