/**
 * The entry of a bench server run as its own process (an upstream, the relay): started by the
 * harness with `node --import tsx bench/<file>.ts …`, it prints one JSON line
 * `{"ready":true,"port":N,"pid":P}` once listening, and stops on SIGTERM, SIGINT, or when its stdin
 * closes (the harness died without killing it).
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export interface ChildServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serve `start()` as this process, if `moduleUrl` (the caller's import.meta.url) is the entry run. */
export async function serveAsChild(moduleUrl: string, start: () => Promise<ChildServer>): Promise<void> {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  const server = await start();
  process.stdout.write(`${JSON.stringify({ ready: true, port: server.port, pid: process.pid })}\n`);
  const stop = () => {
    void server.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
}

/** The flags both MCP upstreams take (upstream.ts, fast-upstream.ts), as their start options. */
export function upstreamArgs(defaults: { readonly name: string; readonly extraTools: number }): {
  port: number;
  name: string;
  extraTools: number;
  sse: boolean;
  maxSessions: number;
} {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      name: { type: 'string', default: defaults.name },
      'extra-tools': { type: 'string', default: String(defaults.extraTools) },
      sse: { type: 'boolean', default: false },
      'max-sessions': { type: 'string', default: '20000' },
    },
  });
  return {
    port: Number(values.port),
    name: values.name,
    extraTools: Number(values['extra-tools']),
    sse: values.sse,
    maxSessions: Number(values['max-sessions']),
  };
}
