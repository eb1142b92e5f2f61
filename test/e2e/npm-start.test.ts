/**
 * Acceptance for the front door: `npm start` serves http://localhost:8080/mcp with both example
 * servers, the official MCP Inspector CLI lists their tools (prefixed) and calls echo through the
 * gateway, and Ctrl-C (SIGINT to the process group, as a terminal sends it) stops everything cleanly.
 *
 * It uses the demo's fixed ports (8080, 9091, 3001, 3002), exactly as a new user would.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { portOpen } from '../support/ports.js';
import { INSPECTOR, NODE22 } from '../support/tools.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

async function inspector(...args: string[]): Promise<unknown> {
  const { stdout } = await run(NODE22, [INSPECTOR, '--cli', 'http://localhost:8080/mcp', ...args], {
    cwd: root,
    timeout: 60_000,
    env: { ...process.env, HOME: root, MCP_CATALOG_PATH: `${root}/.tmp/inspector-catalog.json` },
  });
  return JSON.parse(stdout);
}

describe('npm start', () => {
  let demo: ChildProcess | undefined;
  let output = '';

  afterAll(() => {
    if (demo?.pid && demo.exitCode === null && demo.signalCode === null) process.kill(-demo.pid, 'SIGKILL');
  });

  it('serves both example servers to the MCP Inspector and stops cleanly on Ctrl-C', async () => {
    for (const port of [8080, 9091, 3001, 3002]) {
      expect(await portOpen(port), `port ${port} must be free for the demo`).toBe(false);
    }
    demo = spawn('npm', ['start', '--silent'], {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    demo.stdout?.on('data', (chunk) => (output += chunk));
    demo.stderr?.on('data', (chunk) => (output += chunk));
    await expect
      .poll(async () => (await fetch('http://127.0.0.1:9091/readyz').catch(() => undefined))?.status, {
        timeout: 60_000,
        interval: 250,
      })
      .toBe(200);

    const listed = (await inspector('--method', 'tools/list')) as { tools: { name: string }[] };
    const names = listed.tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['everything_echo', 'toolbox_uuid', 'toolbox_word_count']));
    expect(names.every((n) => n.startsWith('everything_') || n.startsWith('toolbox_'))).toBe(true);

    const called = (await inspector(
      '--method',
      'tools/call',
      '--tool-name',
      'everything_echo',
      '--tool-arg',
      'message=Hello, world!',
    )) as { content: { type: string; text: string }[] };
    expect(called.content[0]).toEqual({ type: 'text', text: 'Echo: Hello, world!' });

    const exited = new Promise<string>((resolve) =>
      demo?.once('exit', (code, signal) => resolve(signal ?? `${code}`)),
    );
    process.kill(-demo.pid!, 'SIGINT'); // what Ctrl-C in a terminal does
    // npm re-raises the SIGINT it got once its script has exited; what matters is that every process
    // behind it stopped by itself: mcplane drained and exited 0, and so did both example servers.
    expect(['0', 'SIGINT']).toContain(await exited);
    expect(output).toContain('"msg":"stopped"');
    expect(output).toMatch(/\[start\] stopped \(exit codes: 0, 0, 0\)/);
    for (const port of [8080, 9091, 3001, 3002]) {
      await expect.poll(() => portOpen(port), { timeout: 10_000 }).toBe(false);
    }
  }, 120_000);
});
