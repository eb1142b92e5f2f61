/**
 * The process logger's stdout stream: asynchronous, so lines logged in one burst are written
 * together; bounded, so a reader that falls behind makes lines drop (counted) instead of memory
 * grow; and flushed when the process exits, so nothing that was not dropped is lost.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { LOG_BUFFER_BYTES } from '../../src/shared/logger.js';
import { ROOT } from '../support/process.js';

/** Run the flood with stdout unread until the child reported its drops on stderr. */
async function flood(count: number): Promise<{ lines: number[]; dropped: number; code: number | null }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/log-flood.ts', String(count)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pause();
  let errors = '';
  const reported = new Promise<number>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
      const line = errors.split('\n').find((l) => l.startsWith('{"dropped"'));
      if (line) resolve((JSON.parse(line) as { dropped: number }).dropped);
    });
    child.once('exit', () => reject(new Error(`no report from the child:\n${errors}`)));
  });
  const dropped = await reported;
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (out += chunk));
  child.stdout.resume();
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  const lines = out
    .trimEnd()
    .split('\n')
    .map((line) => (JSON.parse(line) as { i: number }).i);
  return { lines, dropped, code };
}

describe('process logger on stdout', () => {
  it('a burst within the buffer: every line arrives, in order, even though the process exits at once', async () => {
    const { lines, dropped, code } = await flood(2_000);
    expect(code).toBe(0);
    expect(dropped).toBe(0);
    expect(lines).toEqual([...Array(2_000).keys()]);
  }, 30_000);

  it('a reader that falls behind: lines beyond the buffer drop and are counted, none lost silently', async () => {
    // ~1 KiB a line: three times what the buffer holds.
    const count = Math.ceil((3 * LOG_BUFFER_BYTES) / 1024);
    const { lines, dropped, code } = await flood(count);
    expect(code).toBe(0);
    expect(dropped).toBeGreaterThan(0);
    expect(lines.length + dropped).toBe(count);
    // What arrived is in order and starts at the first line (the newest are the ones dropped).
    expect(lines[0]).toBe(0);
    expect(lines.every((n, at) => at === 0 || n > lines[at - 1]!)).toBe(true);
  }, 60_000);
});
