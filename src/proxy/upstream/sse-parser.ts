/**
 * An incremental text/event-stream parser (WHATWG "server-sent events" rules): feed decoded text as
 * it arrives, get complete events back. One event is bounded so a hostile upstream cannot make the
 * gateway buffer without limit.
 */
export interface SseEvent {
  readonly event: string;
  readonly data: string;
  readonly id: string | undefined;
}

export class SseEventTooLarge extends Error {
  override name = 'SseEventTooLarge';
}

export class SseParser {
  /** Text since the last line break, in pieces: joining only at a break keeps a long line linear. */
  #pending: string[] = [];
  #pendingChars = 0;
  #data: string[] = [];
  #dataSize = 0;
  #event = '';
  #id: string | undefined;
  #retryMs: number | undefined;
  #skipLeadingNewline = false;

  constructor(private readonly maxEventChars: number) {}

  /** The last event id the stream set (it carries over to later events, as in browsers). */
  get lastEventId(): string | undefined {
    return this.#id;
  }

  /** The reconnection time the stream asked for (`retry:`), if any. */
  get retryMs(): number | undefined {
    return this.#retryMs;
  }

  /** Between events: no partial line or data held (a stream cut here lost nothing). */
  get atBoundary(): boolean {
    return this.#pendingChars === 0 && this.#data.length === 0;
  }

  /** Parse a chunk; returns the events it completed (possibly none). */
  feed(chunk: string): SseEvent[] {
    if (chunk === '') return [];
    const text = this.#skipLeadingNewline && chunk.startsWith('\n') ? chunk.slice(1) : chunk;
    this.#skipLeadingNewline = false;
    if (!text.includes('\n') && !text.includes('\r')) {
      this.#pending.push(text);
      this.#pendingChars += text.length;
      this.#bound();
      return [];
    }
    const events: SseEvent[] = [];
    const buffer = this.#pending.length === 0 ? text : this.#pending.join('') + text;
    this.#pending = [];
    this.#pendingChars = 0;
    let start = 0;
    // Next LF / CR at or after start (-1: none left); each is searched again only once passed.
    let lf = -2;
    let cr = -2;
    for (;;) {
      if (lf !== -1 && lf < start) lf = buffer.indexOf('\n', start);
      if (cr !== -1 && cr < start) cr = buffer.indexOf('\r', start);
      const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      if (end === -1) break;
      const line = buffer.slice(start, end);
      if (buffer[end] === '\r') {
        if (end + 1 === buffer.length) this.#skipLeadingNewline = true;
        start = buffer[end + 1] === '\n' ? end + 2 : end + 1;
      } else {
        start = end + 1;
      }
      const event = this.#line(line);
      if (event) events.push(event);
    }
    if (start < buffer.length) {
      this.#pending.push(buffer.slice(start));
      this.#pendingChars = buffer.length - start;
    }
    this.#bound();
    return events;
  }

  /** Checked as data accumulates, before an event can complete, so no event over the bound escapes. */
  #bound(): void {
    if (this.#pendingChars + this.#dataSize > this.maxEventChars) {
      throw new SseEventTooLarge(`an upstream SSE event exceeds ${this.maxEventChars} characters`);
    }
  }

  #line(line: string): SseEvent | undefined {
    if (line === '') return this.#dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      this.#data.push(value);
      this.#dataSize += value.length + 1;
      this.#bound();
    } else if (field === 'event') {
      this.#event = value;
    } else if (field === 'id' && !value.includes('\0')) {
      this.#id = value;
    } else if (field === 'retry' && /^\d{1,9}$/.test(value)) {
      this.#retryMs = Number(value);
    }
    return undefined;
  }

  #dispatch(): SseEvent | undefined {
    const hasData = this.#data.length > 0;
    const event = { event: this.#event || 'message', data: this.#data.join('\n'), id: this.#id };
    this.#data = [];
    this.#dataSize = 0;
    this.#event = '';
    return hasData ? event : undefined;
  }
}
