/**
 * The process logger (pino): JSON lines, or pino-pretty's human-readable lines for a terminal. Secrets
 * never reach either: session ids, tokens and tool arguments are redacted by path before a line is
 * formatted, and callers log names rather than payloads.
 */
import { createRequire } from 'node:module';
import { pino } from 'pino';

export type Logger = pino.Logger;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `auto` is `pretty` when the output is a terminal, `json` otherwise. */
export const LOG_FORMATS = ['json', 'pretty', 'auto'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** A destination that may say whether it is a terminal (process.stdout does; pino.destination does not). */
type Destination = pino.DestinationStream & { isTTY?: boolean };

export const REDACT_PATHS = [
  'sessionId',
  'token',
  'authorization',
  'headers.authorization',
  'headers.cookie',
  'arguments',
  '*.arguments',
];

/** `auto` → `pretty` on a terminal (stdout when no destination is given), `json` otherwise. */
export function resolveLogFormat(format: LogFormat, destination?: Destination): 'json' | 'pretty' {
  if (format !== 'auto') return format;
  return (destination ?? process.stdout).isTTY === true ? 'pretty' : 'json';
}

export function createLogger(
  level: LogLevel = 'info',
  destination?: Destination,
  format: LogFormat = 'json',
): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { app: 'mcplane' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  if (resolveLogFormat(format, destination) === 'json') return pino(options, destination ?? stdoutStream());
  return pino(options, prettyStream(destination));
}

/** What stdout may hold while the reader (a pipe, the container runtime) is behind: beyond, lines drop. */
export const LOG_BUFFER_BYTES = 8 * 1024 * 1024;

/** The smallest write of log lines to stdout, the largest, and how long lines may wait for one. */
const LOG_BATCH_BYTES = 64 * 1024;
const LOG_MAX_WRITE = 256 * 1024;
const LOG_FLUSH_MS = 100;
const NEWLINE = 0x0a;

let droppedLines = 0;

/** Log lines dropped because stdout's reader fell LOG_BUFFER_BYTES behind (`mcplane_log_lines_dropped_total`). */
export function droppedLogLines(): number {
  return droppedLines;
}

/**
 * JSON lines to stdout, gathered into asynchronous writes of at least LOG_BATCH_BYTES, or whatever
 * LOG_FLUSH_MS gathered. The access log writes a line per request: with lines arriving one per
 * event-loop turn, a write(2) per line cost 7.9–9.0 µs of CPU a line, an asynchronous write per line
 * 6.2–7.1, and batches 4.6 (`bench/README.md`); an asynchronous write also never blocks the loop
 * on a reader that is behind, as a synchronous one into a full pipe would. Bounded: a reader that
 * stops reading makes lines drop (counted) rather than memory grow. pino writes whatever is
 * buffered synchronously when the process exits (its autoEnd).
 *
 * The stream keeps bytes, not text: in its text mode sonic-boom appends each line to one growing
 * string and measures that string's UTF-8 length again at every line, so a line's cost grows with
 * the batch (2.1 µs a line at 4 KiB batches, 8 µs at 64 KiB, against 0.8 µs as bytes at 64 KiB).
 */
function stdoutStream(): pino.DestinationStream {
  const stream = pino.destination({
    dest: 1,
    sync: false,
    contentMode: 'buffer',
    minLength: LOG_BATCH_BYTES,
    maxWrite: LOG_MAX_WRITE,
    periodicFlush: LOG_FLUSH_MS,
    maxLength: LOG_BUFFER_BYTES,
  });
  // In its byte mode the stream takes Buffers; pino hands it text. (sonic-boom sets `write` per instance too.)
  const writeBytes = stream.write.bind(stream) as unknown as (data: Buffer) => boolean;
  stream.write = (line: string) => writeBytes(Buffer.from(line));
  stream.on('drop', (data: Buffer) => {
    let lines = 0;
    for (let at = data.indexOf(NEWLINE); at !== -1; at = data.indexOf(NEWLINE, at + 1)) lines += 1;
    droppedLines += Math.max(lines, 1);
  });
  return stream;
}

const require = createRequire(import.meta.url);

/**
 * pino-pretty as a synchronous in-process stream: each JSON line pino writes (already redacted) is
 * formatted and written at once, on this thread; no worker transport, so no logging thread and no line
 * lost on process.exit. Loaded only when asked for, so JSON logging does not pay for it. Colours only
 * on a terminal.
 */
function prettyStream(destination?: Destination): pino.DestinationStream {
  const { prettyFactory } = require('pino-pretty') as typeof import('pino-pretty');
  const out: Destination = destination ?? pino.destination({ dest: 1, sync: true });
  const pretty = prettyFactory({
    colorize: (destination ?? process.stdout).isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,app',
  });
  return {
    write(line: string) {
      const text = pretty(line);
      if (text) out.write(text);
    },
  };
}

/**
 * Writes one info line exactly as `logger.info(fields, msg)` would, from `fields` already serialised
 * (`,"key":value…`) and `msg` as a JSON string: the level, the time, the logger's bindings (pid,
 * hostname, app, a child's own), then the fields, to the logger's destination. For the hottest line
 * (the access log) only: no redaction runs, so `fields` must hold nothing secret. Callers check
 * `logger.isLevelEnabled('info')` first.
 */
export function writeInfoLine(logger: Logger, fields: string, msg: string): void {
  const internals = logger as unknown as Record<symbol, unknown>;
  const bindings = internals[pino.symbols.chindingsSym] as string;
  const stream = internals[pino.symbols.streamSym] as pino.DestinationStream;
  stream.write(`{"level":30,"time":${Date.now()}${bindings}${fields},"msg":${msg}}\n`);
}

/** A logger that drops everything: for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
