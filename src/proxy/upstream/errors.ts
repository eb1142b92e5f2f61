/**
 * Why an upstream target could not serve a message. Messages name the target and the kind of
 * failure but not its address (that goes to the log), since they travel to clients.
 */
export type UpstreamFailure =
  | 'unreachable'
  | 'timeout'
  | 'status'
  | 'session-expired'
  | 'protocol'
  | 'unsupported'
  | 'aborted'
  | 'shutdown';

/** The JSON-RPC error a target refused a request with (in a 4xx answer's body). */
export interface RpcRefusal {
  readonly code: number;
  readonly message: string;
  readonly data?: unknown;
}

export class UpstreamError extends Error {
  override name = 'UpstreamError';
  constructor(
    readonly target: string,
    readonly failure: UpstreamFailure,
    message: string,
    readonly status?: number,
    /** What the target said when it refused (a 4xx with a JSON-RPC error): passed to the client. */
    readonly refusal?: RpcRefusal,
  ) {
    super(message);
  }
}

/** The target took a request (202) that needs an answer, and gave none. */
export function acceptedUnanswered(target: string): UpstreamError {
  return new UpstreamError(target, 'protocol', `target "${target}" accepted a request without answering it`);
}

/** The target's response stream ended before the response came (`why`: what else failed, if anything). */
export function endedUnanswered(target: string, why?: string): UpstreamError {
  const message = `target "${target}" ended its stream without a response`;
  return new UpstreamError(target, 'protocol', why === undefined ? message : `${message} (${why})`);
}

const CONNECT_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ETIMEDOUT: 'connect timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_CLOSED: 'connection closed',
};

/**
 * Why the gateway cuts the calls its drain could not wait for: aborts the client connections' signals
 * a moment before the drain deadline, so each call answers with this message instead of a cut
 * connection.
 */
export function shutdownReason(drainTimeout: string): DOMException {
  return new DOMException(
    `the gateway is shutting down: the call did not finish within the drain timeout (--drain-timeout ${drainTimeout})`,
    'ShutdownError',
  );
}

/** Map whatever the HTTP client threw to an UpstreamError naming the target. */
export function toUpstreamError(target: string, error: unknown, signal?: AbortSignal): UpstreamError {
  if (error instanceof UpstreamError) return error;
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof Error && reason.name === 'TimeoutError') {
      return new UpstreamError(target, 'timeout', `target "${target}" did not answer in time`);
    }
    if (reason instanceof Error && reason.name === 'ShutdownError') {
      return new UpstreamError(target, 'shutdown', reason.message);
    }
    return new UpstreamError(target, 'aborted', `request to target "${target}" was cancelled`);
  }
  const code = (error as { code?: unknown } | null)?.code;
  const reason = typeof code === 'string' ? CONNECT_CODES[code] : undefined;
  if (reason) return new UpstreamError(target, 'unreachable', `target "${target}" is unreachable: ${reason}`);
  const detail = error instanceof Error ? error.message : String(error);
  return new UpstreamError(target, 'unreachable', `target "${target}" failed: ${detail}`);
}
