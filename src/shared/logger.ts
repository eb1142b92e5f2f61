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
  if (resolveLogFormat(format, destination) === 'json') return pino(options, destination);
  return pino(options, prettyStream(destination));
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

/** A logger that drops everything: for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
