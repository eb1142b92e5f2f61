/**
 * The process logger: structured JSON (pino). Secrets never reach it: session ids, tokens and tool
 * arguments are redacted by path, and callers log names rather than payloads.
 */
import { pino } from 'pino';

export type Logger = pino.Logger;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(level: LogLevel = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { app: 'mcplane' },
      redact: {
        paths: [
          'sessionId',
          'token',
          'authorization',
          'headers.authorization',
          'headers.cookie',
          'arguments',
          '*.arguments',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/** A logger that drops everything: for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
