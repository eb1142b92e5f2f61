/**
 * Calls to a 2025 target waiting for a 2026-07-28 client's next round (issue 12). The target sent
 * the client a request (elicitation, sampling, roots) on the call's stream and waits for the answer
 * with that stream open; the client got `input_required` and will retry with `inputResponses`. The
 * stream is kept here meanwhile, under a random handle that travels in the client's sealed
 * `requestState`. This is state on the replica that holds the upstream call: a retry that reaches
 * another replica finds no handle and is told to call again from the start. Bounded: at most
 * `maxCalls` wait at once (the oldest is ended first) and each waits at most `ttlMs`.
 */
import { randomBytes } from 'node:crypto';
import type { JsonRpcId } from '../wire/jsonrpc.js';
import type { ParkedUpstream } from './context.js';

export interface ParkedCall extends ParkedUpstream {
  /** The backend it belongs to: a handle opens only for it. */
  readonly backend: string;
  /** The call's id upstream (its response will carry it). */
  readonly hopId: JsonRpcId;
  /** inputRequests key → the id of the target's request it answers. */
  readonly pending: ReadonlyMap<string, JsonRpcId>;
}

export class ParkedCalls {
  readonly #calls = new Map<string, { readonly call: ParkedCall; readonly timer: NodeJS.Timeout }>();

  constructor(
    readonly maxCalls = 1024,
    readonly ttlMs = 300_000,
  ) {}

  get size(): number {
    return this.#calls.size;
  }

  /** Keep a call until its client's retry; returns the handle for its requestState. */
  park(call: ParkedCall): string {
    if (this.#calls.size >= this.maxCalls) this.#end(this.#calls.keys().next().value!);
    const handle = randomBytes(16).toString('base64url');
    const timer = setTimeout(() => this.#end(handle), this.ttlMs);
    timer.unref();
    this.#calls.set(handle, { call, timer });
    return handle;
  }

  /** The call a retry continues (it leaves the store), if it is still here and of this backend. */
  take(handle: string, backend: string): ParkedCall | undefined {
    const entry = this.#calls.get(handle);
    if (!entry || entry.call.backend !== backend) return undefined;
    this.#calls.delete(handle);
    clearTimeout(entry.timer);
    return entry.call;
  }

  /** A call nobody came back for: close its stream (the target sees the call cancelled). */
  #end(handle: string): void {
    const entry = this.#calls.get(handle);
    if (!entry) return;
    this.#calls.delete(handle);
    clearTimeout(entry.timer);
    entry.call.upstream.destroy();
  }

  close(): void {
    for (const handle of [...this.#calls.keys()]) this.#end(handle);
  }
}
