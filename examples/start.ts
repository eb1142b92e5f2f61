/**
 * `npm start`: the standalone demo. Starts two example MCP servers on 127.0.0.1 (the reference
 * "everything" server on :3001 and the small toolbox server on :3002), then mcplane on
 * http://localhost:8080/mcp with the manifests in examples/standalone. Ctrl-C stops all three.
 * mcplane shares this terminal (stdio inherit), so its default `--log-format auto` prints pretty,
 * coloured lines here and JSON when piped; flags after `npm start --` reach it (`-- --log-format json`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const node = process.execPath;
const children: ChildProcess[] = [];

function start(name: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(node, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`[start] ${name} exited (${signal ?? code}); stopping the demo`);
      stop();
    }
  });
  children.push(child);
  return child;
}

function waitForPort(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.end();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline)
          reject(new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGINT');
  const force = setTimeout(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  }, 10_000);
  force.unref();
  const exits = children.map((c) =>
    c.exitCode !== null || c.signalCode !== null
      ? Promise.resolve(c.exitCode ?? c.signalCode)
      : new Promise((resolve) => c.once('exit', (code, signal) => resolve(code ?? signal))),
  );
  Promise.all(exits).then((codes) => {
    console.error(`[start] stopped (exit codes: ${codes.join(', ')})`);
    process.exit(0);
  });
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

const everything = join(root, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
start('server-everything', ['--import', './examples/servers/loopback.mjs', everything, 'streamableHttp'], {
  PORT: '3001',
});
start('toolbox', ['--import', 'tsx', 'examples/servers/toolbox.ts', '3002']);
try {
  await Promise.all([waitForPort(3001), waitForPort(3002)]);
} catch (err) {
  console.error(`[start] ${(err as Error).message}`);
  stop();
}
if (!stopping) {
  start('mcplane', [
    '--import',
    'tsx',
    'src/main.ts',
    '--manifests',
    'examples/standalone',
    '--bind-address',
    '127.0.0.1',
    '--admin-address',
    '127.0.0.1',
    ...process.argv.slice(2),
  ]);
  await waitForPort(8080).catch(() => undefined);
  console.error(`
  mcplane is serving http://localhost:8080/mcp (admin: http://localhost:9091/metrics)

  Connect the MCP Inspector:   npx @modelcontextprotocol/inspector   → Streamable HTTP → http://localhost:8080/mcp
  Or list tools from a shell:  npx @modelcontextprotocol/inspector --cli http://localhost:8080/mcp --method tools/list
  Ctrl-C stops everything.
`);
}
