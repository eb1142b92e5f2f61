/**
 * SEP-1699 polling (2025-11-25): a target that keeps events (its SSE stream carries ids, the first
 * a priming event) may close a call's stream before the response, and expects its client to GET it
 * back with `Last-Event-ID` after the stream's `retry` time. mcplane is that client, for every
 * path: the call's client gets one unbroken stream (the target's bytes, as it sent them on each
 * connection), and never has to resume through the gateway. 2026-07-28 removed resumption, so a
 * 2026 target's stream is never wrapped.
 */
import { Readable } from 'node:stream';
import { endedUnanswered } from './errors.js';
import { MAX_UPSTREAM_MESSAGE_BYTES } from './read.js';
import { SseParser } from './sse-parser.js';

/** Resumptions of one call's stream; past them the stream ends (the call: "ended its stream…"). */
export const MAX_STREAM_RESUMES = 1000;
/** When the target sets no `retry`: what SDK clients wait. */
const DEFAULT_RETRY_MS = 1000;
/** A target's `retry` is kept within these: never a tight loop of GETs, never a call parked for long. */
const MIN_RETRY_MS = 100;
const MAX_RETRY_MS = 30_000;
/** The longest event id sent back as `Last-Event-ID` (SDK servers' ids are under 100 characters). */
const MAX_EVENT_ID_CHARS = 1024;
/** How long a resuming GET may take to answer with its headers. */
const RESUME_ANSWER_MS = 10_000;

export type ResumeResult = 'resumed' | 'refused' | 'exhausted';

export interface ResumeOptions {
  /** The target's name, for the error a stream that could not be resumed fails with. */
  readonly target: string;
  /** GET the stream back after `lastEventId`: its SSE body, or undefined / a throw when refused. */
  readonly resume: (lastEventId: string, signal: AbortSignal) => Promise<Readable | undefined>;
  /** Whether an event's data is the call's response (after it, the stream needs no resuming). */
  readonly answers: (data: string) => boolean;
  /** Each time the stream ended before the response and was (or could not be) taken up again. */
  readonly onResume?: (result: ResumeResult) => void;
  /** Resumptions allowed (MAX_STREAM_RESUMES). */
  readonly maxResumes?: number;
}

/**
 * `body` as one stream that goes on across the target's closes until the call's response: the
 * same bytes, followed by each resumed connection's. A stream without event ids, or one cut inside
 * an event, ends where it ended. One whose target refuses the GET (or closes it for the
 * `maxResumes`+1st time) fails with an UpstreamError, which the call's client gets as its answer.
 */
export function resumableSse(body: Readable, options: ResumeOptions): Readable {
  return new ResumableSse(body, options);
}

class ResumableSse extends Readable {
  readonly #options: ResumeOptions;
  readonly #stop = new AbortController();
  readonly #parser = new SseParser(MAX_UPSTREAM_MESSAGE_BYTES);
  #decoder = new TextDecoder();
  #source!: Readable;
  /** The response went by, or the stream cannot be followed (an event over the bound). */
  #done = false;
  #resumes = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(body: Readable, options: ResumeOptions) {
    super();
    this.#options = options;
    this.#follow(body);
  }

  #follow(source: Readable): void {
    this.#source = source;
    source.on('data', (chunk: Buffer) => {
      if (!this.#done) this.#watch(chunk);
      if (!this.push(chunk)) source.pause();
    });
    source.once('end', () => this.#ended());
    source.once('error', (error) => this.destroy(error));
    source.once('close', () => {
      if (!source.readableEnded && !this.destroyed) this.destroy(new Error('the target closed its stream'));
    });
  }

  #watch(chunk: Buffer): void {
    let events: ReturnType<SseParser['feed']>;
    try {
      events = this.#parser.feed(this.#decoder.decode(chunk, { stream: true }));
    } catch {
      this.#done = true; // an event over the bound: the stream's reader reports it
      return;
    }
    for (const event of events) {
      // A response has an id; notifications mostly have none anywhere, and are not parsed.
      if (event.event !== 'message' || !event.data.includes('"id"')) continue;
      if (this.#options.answers(event.data)) {
        this.#done = true;
        return;
      }
    }
  }

  #ended(): void {
    const lastEventId = this.#parser.lastEventId;
    if (this.#done || !lastEventId || !this.#parser.atBoundary || this.destroyed) {
      this.push(null);
      return;
    }
    if (lastEventId.length > MAX_EVENT_ID_CHARS) {
      this.#fail(`its last event id is over ${MAX_EVENT_ID_CHARS} characters`);
      return;
    }
    const max = this.#options.maxResumes ?? MAX_STREAM_RESUMES;
    if (this.#resumes >= max) {
      this.#options.onResume?.('exhausted');
      this.#fail(`closed it ${max + 1} times`);
      return;
    }
    this.#resumes += 1;
    const retry = this.#parser.retryMs ?? DEFAULT_RETRY_MS;
    const wait = Math.min(Math.max(retry, MIN_RETRY_MS), MAX_RETRY_MS);
    this.#timer = setTimeout(() => void this.#resume(lastEventId), wait);
  }

  async #resume(lastEventId: string): Promise<void> {
    this.#timer = undefined;
    const attempt = new AbortController();
    const abort = () => attempt.abort(this.#stop.signal.reason);
    this.#stop.signal.addEventListener('abort', abort, { once: true });
    const slow = setTimeout(
      () => attempt.abort(new Error('no answer to the resuming GET')),
      RESUME_ANSWER_MS,
    );
    let body: Readable | undefined;
    let refusal = 'it answered the resuming GET with 405';
    try {
      body = await this.#options.resume(lastEventId, attempt.signal);
    } catch (error) {
      refusal = `resuming it failed: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      clearTimeout(slow);
      // From here on, destroying this stream destroys the body it follows.
      this.#stop.signal.removeEventListener('abort', abort);
    }
    if (this.destroyed) {
      body?.destroy();
      return;
    }
    if (!body) {
      this.#options.onResume?.('refused');
      this.#fail(refusal);
      return;
    }
    this.#options.onResume?.('resumed');
    this.#decoder = new TextDecoder();
    this.#follow(body);
  }

  #fail(why: string): void {
    const error = endedUnanswered(this.#options.target, why.slice(0, 200));
    // Destroying drops what is buffered: what the target sent goes out first.
    if (this.readableLength === 0) {
      this.destroy(error);
      return;
    }
    const drained = () => {
      if (this.readableLength > 0) return;
      this.off('data', drained);
      setImmediate(() => this.destroy(error));
    };
    this.on('data', drained);
  }

  override _read(): void {
    this.#source.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#timer);
    this.#stop.abort(error ?? new Error('the stream was closed'));
    this.#source.destroy();
    callback(error);
  }
}
