/**
 * The bounds on what the gateway queues for clients, built once per process: each downstream SSE
 * stream's cap (`--max-stream-buffer`) and a session's buffer while no GET stream is open
 * (`--session-buffer-bytes`), with the metrics they report to.
 */
import type { Metrics } from '../../../shared/metrics.js';
import {
  DEFAULT_SESSION_BUFFER_BYTES,
  EVENT_BUFFER_LIMIT,
  type SessionBufferLimits,
} from '../session/session-events.js';
import { DEFAULT_MAX_STREAM_BUFFER, type SseLimits } from '../wire/sse-stream.js';

export function streamLimits(
  metrics: Metrics,
  maxStreamBufferBytes = DEFAULT_MAX_STREAM_BUFFER,
  sessionBufferBytes = DEFAULT_SESSION_BUFFER_BYTES,
): { sse: SseLimits; sessionBuffer: SessionBufferLimits } {
  return {
    sse: {
      maxBytes: maxStreamBufferBytes,
      queued: (delta) => metrics.sseQueuedBytes.inc(delta),
      overflowed: () => metrics.limitRejected('stream_buffer'),
    },
    sessionBuffer: {
      messages: EVENT_BUFFER_LIMIT,
      // What a session kept goes into its next GET stream at once: more would overflow that stream.
      bytes: Math.min(sessionBufferBytes, maxStreamBufferBytes),
      dropped: () => metrics.limitRejected('session_buffer'),
    },
  };
}
