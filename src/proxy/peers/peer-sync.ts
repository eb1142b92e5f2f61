/**
 * Revocations travel between replicas directly, without a shared store. A DELETE answered here is
 * pushed to every peer within `batchMs` (one POST per peer for everything revoked meanwhile),
 * retried for about ten seconds while a peer does not answer. A starting replica pulls every peer's
 * set before it reports ready (waiting at most `startupWaitMs`, so the first replica still starts),
 * and every `pullIntervalMs` it asks each peer for what is new, which heals a push that was lost.
 * Peers are `host:port` admin addresses: --peers, or the EndpointSlices of --peer-service.
 */
import { settledWithin, withDeadline } from '../../shared/deadline.js';
import type { Logger } from '../../shared/logger.js';
import type { Metrics } from '../../shared/metrics.js';
import type { RevocationChange, Revocations, RevokedEntry } from '../mcp/index.js';
import { PEER_AUTH_HEADER, type PeerAuth } from './peer-auth.js';
import { MAX_PUSH_ENTRIES, PEER_PATH, type PushMessage, pullSchema } from './peer-messages.js';

export interface PeerSyncOptions {
  readonly auth: PeerAuth;
  readonly revocations: Revocations;
  /** The other replicas' admin addresses now (`host:port`, IPv6 in brackets). */
  readonly peers: () => readonly string[];
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly batchMs?: number;
  readonly pullIntervalMs?: number;
  readonly startupWaitMs?: number;
  readonly timeoutMs?: number;
}

/** Waits between attempts of a push a peer did not take: about ten seconds in all. */
const RETRY_MS = [200, 1000, 3000, 6000];

/** What is still to be pushed to one peer. */
interface Outbox {
  readonly pending: Map<string, number>;
  floor: number;
  sending: boolean;
  failures: number;
  retry: NodeJS.Timeout | undefined;
}

export class PeerSync {
  readonly #o: Required<PeerSyncOptions>;
  readonly #outboxes = new Map<string, Outbox>();
  /** Per peer: its clock when it last answered a pull, to ask only for what is new. */
  readonly #since = new Map<string, number>();
  readonly #stopping = new AbortController();
  readonly #unsubscribe: () => void;
  #flushTimer: NodeJS.Timeout | undefined;
  #pullTimer: NodeJS.Timeout | undefined;
  #ready = false;

  constructor(options: PeerSyncOptions) {
    this.#o = { batchMs: 100, pullIntervalMs: 30_000, startupWaitMs: 2_000, timeoutMs: 2_000, ...options };
    this.#unsubscribe = options.revocations.onChange((change) => this.#revoked(change));
  }

  /** True once the first pull has answered or given up: until then the replica is not ready. */
  get ready(): boolean {
    return this.#ready;
  }

  /** Pull from every peer (bounded), then keep pulling what is new now and then. */
  async start(): Promise<void> {
    const peers = this.#o.peers();
    const pulled = Promise.allSettled(peers.map((peer) => this.#pull(peer)));
    const complete = await settledWithin(pulled, this.#o.startupWaitMs);
    this.#o.logger.info(
      { peers: peers.length, revoked: this.#o.revocations.size, complete },
      complete ? 'pulled deleted sessions from peers' : 'some peers did not answer in time; starting anyway',
    );
    this.#ready = true;
    if (this.#stopping.signal.aborted) return;
    this.#pullTimer = setInterval(() => {
      for (const peer of this.#o.peers()) void this.#pull(peer);
    }, this.#o.pullIntervalMs);
    this.#pullTimer.unref();
  }

  /** Push what is pending once more (one attempt each), then stop. */
  async stop(): Promise<void> {
    this.#unsubscribe();
    clearInterval(this.#pullTimer);
    clearTimeout(this.#flushTimer);
    const last: Promise<unknown>[] = [];
    for (const [peer, box] of this.#outboxes) {
      clearTimeout(box.retry);
      if (box.pending.size > 0 && !box.sending) last.push(this.#post(peer, this.#batch(box)));
    }
    await Promise.allSettled(last);
    this.#stopping.abort();
  }

  #revoked(change: RevocationChange): void {
    // Only what was revoked here: what a peer sent, that peer has sent to everyone.
    if (change.origin !== 'local' || this.#stopping.signal.aborted) return;
    for (const peer of this.#o.peers()) {
      let box = this.#outboxes.get(peer);
      if (!box) {
        box = { pending: new Map(), floor: 0, sending: false, failures: 0, retry: undefined };
        this.#outboxes.set(peer, box);
      }
      for (const [id, seconds] of change.revoked) box.pending.set(id, seconds);
      box.floor = Math.max(box.floor, change.floor);
    }
    this.#flushTimer ??= setTimeout(() => {
      this.#flushTimer = undefined;
      for (const [peer, box] of this.#outboxes) if (!box.sending && !box.retry) void this.#send(peer, box);
    }, this.#o.batchMs);
  }

  #batch(box: Outbox): string {
    const revoked: RevokedEntry[] = [];
    for (const entry of box.pending) {
      if (revoked.length === MAX_PUSH_ENTRIES) break;
      revoked.push(entry);
    }
    const message: PushMessage = { floor: box.floor, revoked: revoked.map(([id, s]) => [id, s]) };
    return JSON.stringify(message);
  }

  async #send(peer: string, box: Outbox): Promise<void> {
    if (box.pending.size === 0) {
      if (!this.#o.peers().includes(peer)) this.#outboxes.delete(peer);
      return;
    }
    box.sending = true;
    const sent = [...box.pending.keys()].slice(0, MAX_PUSH_ENTRIES);
    const ok = await this.#post(peer, this.#batch(box));
    box.sending = false;
    if (this.#stopping.signal.aborted) return;
    if (ok) {
      for (const id of sent) box.pending.delete(id);
      box.failures = 0;
      return this.#send(peer, box);
    }
    box.failures += 1;
    const wait = RETRY_MS[box.failures - 1];
    if (wait === undefined) {
      // The peer catches up by itself: with its next pull, or when it restarts.
      this.#o.logger.warn(
        { peer, dropped: box.pending.size },
        'peer did not take deleted sessions; giving up',
      );
      box.pending.clear();
      box.failures = 0;
      return;
    }
    box.retry = setTimeout(() => {
      box.retry = undefined;
      void this.#send(peer, box);
    }, wait);
    box.retry.unref();
  }

  async #post(peer: string, body: string): Promise<boolean> {
    const deadline = withDeadline(this.#stopping.signal, this.#o.timeoutMs);
    try {
      const response = await fetch(`http://${peer}${PEER_PATH}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [PEER_AUTH_HEADER]: this.#o.auth.signRequest('POST', PEER_PATH, body),
        },
        body,
        signal: deadline.signal,
      });
      await response.arrayBuffer();
      const ok = response.status === 204;
      this.#o.metrics.peerRequests.labels('push', ok ? 'ok' : resultOf(response.status)).inc();
      if (!ok) this.#o.logger.warn({ peer, status: response.status }, 'peer refused deleted sessions');
      return ok;
    } catch (err) {
      this.#o.metrics.peerRequests.labels('push', 'error').inc();
      this.#o.logger.debug({ peer, err: (err as Error).message }, 'push to peer failed');
      return false;
    } finally {
      deadline.clear();
    }
  }

  async #pull(peer: string): Promise<void> {
    const since = this.#since.get(peer);
    const path = since === undefined ? PEER_PATH : `${PEER_PATH}?since=${since}`;
    const header = this.#o.auth.signRequest('GET', path, '');
    const deadline = withDeadline(this.#stopping.signal, this.#o.timeoutMs);
    try {
      const response = await fetch(`http://${peer}${path}`, {
        headers: { [PEER_AUTH_HEADER]: header },
        signal: deadline.signal,
      });
      const body = await response.text();
      if (
        response.status !== 200 ||
        !this.#o.auth.verifyResponse(response.headers.get(PEER_AUTH_HEADER), header, body)
      ) {
        const result = response.status === 200 ? 'unauthorized' : resultOf(response.status);
        this.#o.metrics.peerRequests.labels('pull', result).inc();
        this.#o.logger.warn({ peer, status: response.status }, 'pull from peer refused or not authentic');
        return;
      }
      const parsed = pullSchema.safeParse(JSON.parse(body));
      if (!parsed.success) throw new Error('not a revocation list');
      this.#o.revocations.merge(parsed.data.revoked, parsed.data.floor);
      this.#since.set(peer, parsed.data.now);
      this.#o.metrics.peerRequests.labels('pull', 'ok').inc();
    } catch (err) {
      this.#o.metrics.peerRequests.labels('pull', 'error').inc();
      this.#o.logger.debug({ peer, err: (err as Error).message }, 'pull from peer failed');
    } finally {
      deadline.clear();
    }
  }
}

function resultOf(status: number): 'unauthorized' | 'invalid' | 'error' {
  if (status === 401) return 'unauthorized';
  return status >= 400 && status < 500 ? 'invalid' : 'error';
}
