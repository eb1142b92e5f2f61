/**
 * Fault injection: rules that match requests (by kind, verb, path) and replace the normal answer for
 * the next N matching requests.
 */
export type Verb = 'list' | 'watch' | 'get' | 'create' | 'update' | 'patch' | 'delete';

export interface FaultMatch {
  kind?: string;
  verb?: Verb;
  /** A substring of, or a pattern for, the request path (without the query). */
  path?: string | RegExp;
  /** Only list requests that carry a `continue` token. */
  continue?: boolean;
  subresource?: string;
}

export type FaultAction =
  /** Answer with this HTTP status and a metav1.Status body. */
  | { status: number; message?: string; reason?: string; retryAfterSeconds?: number }
  /** Accept the request and never send headers (held until the client gives up or the server closes). */
  | { hang: true }
  /** Watches: send headers, then never another byte. */
  | { silent: true }
  /** Destroy the socket without answering. */
  | { destroy: true }
  /** Serve normally after a delay (e.g. a slow list). */
  | { delayMs: number }
  /** Watches: send headers, then end the stream at once. */
  | { closeImmediately: true };

export interface FaultRule {
  readonly match: FaultMatch;
  readonly action: FaultAction;
  /** Requests still to be hit; Infinity for "until removed". */
  remaining: number;
  hits: number;
}

export interface RequestFacts {
  kind?: string;
  verb?: Verb;
  path: string;
  continue: boolean;
  subresource?: string;
}

export function ruleMatches(match: FaultMatch, req: RequestFacts): boolean {
  if (match.kind !== undefined && match.kind !== req.kind) return false;
  if (match.verb !== undefined && match.verb !== req.verb) return false;
  if (match.continue !== undefined && match.continue !== req.continue) return false;
  if (match.subresource !== undefined && match.subresource !== req.subresource) return false;
  if (typeof match.path === 'string' && !req.path.includes(match.path)) return false;
  if (match.path instanceof RegExp && !match.path.test(req.path)) return false;
  return true;
}

/** Take the first live rule matching this request, counting the hit. */
export function takeFault(rules: FaultRule[], req: RequestFacts): FaultAction | undefined {
  for (const rule of rules) {
    if (rule.remaining <= 0 || !ruleMatches(rule.match, req)) continue;
    rule.remaining--;
    rule.hits++;
    return rule.action;
  }
  return undefined;
}
