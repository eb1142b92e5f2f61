import { describe, expect, it } from 'vitest';
import { createLogger, type LogFormat, resolveLogFormat, writeInfoLine } from '../../src/shared/logger.js';

/** A destination that keeps what the logger writes; `isTTY` as a terminal or a pipe would say. */
function sink(isTTY?: boolean) {
  const lines: string[] = [];
  return { lines, stream: { isTTY, write: (line: string) => void lines.push(line) } };
}

const secrets = {
  sessionId: 'sess-0123456789',
  token: 'tok-secret-abc',
  authorization: 'Bearer very-secret',
  headers: { authorization: 'Bearer header-secret', cookie: 'c=cookie-secret' },
  call: { arguments: { password: 'argument-secret' } },
};
const SECRET_VALUES = [
  'sess-0123456789',
  'tok-secret-abc',
  'very-secret',
  'header-secret',
  'cookie-secret',
  'argument-secret',
];

function log(format: LogFormat, isTTY?: boolean): string {
  const { lines, stream } = sink(isTTY);
  const logger = createLogger('info', stream, format);
  logger.info({ ...secrets, route: 'default/mcp' }, 'request done');
  logger.debug('below the level');
  return lines.join('');
}

describe('process logger', () => {
  it('json: one JSON object per line, with level, message and fields', () => {
    const out = log('json');
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({ level: 30, msg: 'request done', app: 'mcplane', route: 'default/mcp' });
  });

  it('json: session ids, tokens, authorization, cookies and arguments are censored', () => {
    const out = log('json');
    const entry = JSON.parse(out);
    expect(entry.sessionId).toBe('[redacted]');
    expect(entry.token).toBe('[redacted]');
    expect(entry.authorization).toBe('[redacted]');
    expect(entry.headers).toEqual({ authorization: '[redacted]', cookie: '[redacted]' });
    expect(entry.call.arguments).toBe('[redacted]');
    for (const secret of SECRET_VALUES) expect(out).not.toContain(secret);
  });

  it('pretty: human-readable lines, not JSON, with the level and the message', () => {
    const out = log('pretty');
    expect(() => JSON.parse(out)).toThrow();
    expect(out).toContain('INFO');
    expect(out).toContain('request done');
    expect(out).toContain('default/mcp');
    expect(out).not.toContain('below the level');
    // Not a terminal: no colour codes.
    expect(out).not.toContain('\u001b[');
  });

  it('pretty: the same fields are censored as in JSON', () => {
    const out = log('pretty');
    expect(out).toMatch(/sessionId: "\[redacted\]"/);
    expect(out).toMatch(/token: "\[redacted\]"/);
    expect(out).toMatch(/authorization: "\[redacted\]"/);
    for (const secret of SECRET_VALUES) expect(out).not.toContain(secret);
  });

  it('pretty: coloured only on a terminal', () => {
    expect(log('pretty', true)).toContain('\u001b[');
    expect(log('pretty', false)).not.toContain('\u001b[');
  });

  it('auto: pretty on a terminal, JSON otherwise', () => {
    expect(resolveLogFormat('auto', { isTTY: true, write: () => undefined })).toBe('pretty');
    expect(resolveLogFormat('auto', { write: () => undefined })).toBe('json');
    expect(resolveLogFormat('json', { isTTY: true, write: () => undefined })).toBe('json');
    expect(resolveLogFormat('pretty', { write: () => undefined })).toBe('pretty');
    expect(() => JSON.parse(log('auto', false))).not.toThrow();
    expect(log('auto', true)).toContain('request done');
    expect(() => JSON.parse(log('auto', true))).toThrow();
  });

  it('pretty formatting happens on the calling thread: the line is written before info() returns', () => {
    const { lines, stream } = sink();
    createLogger('info', stream, 'pretty').info('synchronous');
    expect(lines.join('')).toContain('synchronous');
  });

  it('a line written by hand (the access log) is the line pino writes: same keys, same order, bindings', () => {
    const { lines, stream } = sink();
    const logger = createLogger('info', stream).child({ component: 'proxy' });
    const name = 'we"ird\ntool\u2028é';
    logger.info({ route: 'default/mcp', tool: name, status: 200 }, 'mcp request');
    writeInfoLine(
      logger,
      `,"route":"default/mcp","tool":${JSON.stringify(name)},"status":200`,
      '"mcp request"',
    );
    const [byPino, byHand] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(byHand).toEqual({ ...byPino, time: byHand!.time });
    expect(Object.keys(byHand!)).toEqual(Object.keys(byPino!));
    expect(byHand!.tool).toBe(name);
    expect(lines[1]!.endsWith('}\n')).toBe(true);
  });

  it('pretty: a line written by hand is formatted like any other', () => {
    const { lines, stream } = sink();
    writeInfoLine(createLogger('info', stream, 'pretty'), ',"route":"default/mcp"', '"mcp request"');
    expect(lines.join('')).toMatch(/INFO.*mcp request/);
    expect(lines.join('')).toContain('default/mcp');
  });
});
