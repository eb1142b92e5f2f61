/**
 * The Dockerfile, checked without a Docker engine: its structure (stages, non-root USER, exec-form
 * ENTRYPOINT that Kubernetes `args` cannot displace, no shell at run time), and its production path run
 * for real: the deps stage's RUN lines in a copy of the repo, dist/ built as the build stage builds it,
 * then `node dist/main.js` from that tree (production dependencies only) until /readyz answers 200.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDockerfile } from '../support/helm/dockerfile.js';
import { find, REPO, renderManifests } from '../support/helm/render.js';
import { freePort } from '../support/ports.js';

const stages = parseDockerfile(readFileSync(join(REPO, 'Dockerfile'), 'utf8'));
const dockerignore = readFileSync(join(REPO, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const final = stages.at(-1)!;
const deps = stages.find((s) => s.name === 'deps')!;
const all = (cmd: string) => final.instructions.filter((i) => i.cmd === cmd);

describe('Dockerfile structure', () => {
  it('builds on Debian bookworm and runs on distroless Debian 12 (same glibc)', () => {
    expect(stages.map((s) => [s.name, s.from])).toEqual([
      ['build', 'node:20-bookworm-slim'],
      ['deps', 'node:20-bookworm-slim'],
      [undefined, 'gcr.io/distroless/nodejs20-debian12:nonroot'],
    ]);
  });

  it('the runtime stage runs as a non-root numeric user with no shell step', () => {
    expect(all('USER').map((i) => i.args)).toEqual(['65532:65532']);
    expect(all('RUN')).toEqual([]);
    expect(all('CMD')).toEqual([]); // Kubernetes args replace CMD: the script must be in ENTRYPOINT
    expect(all('EXPOSE').map((i) => i.args)).toEqual(['8080 9091']);
  });

  it('ENTRYPOINT is exec form and runs dist/main.js with the image node', () => {
    const entrypoint = JSON.parse(all('ENTRYPOINT')[0]!.args) as string[];
    expect(entrypoint[0]).toBe('/nodejs/bin/node');
    expect(entrypoint.at(-1)).toBe('dist/main.js');
  });

  it('COPY --from names earlier stages; what the build stages copy exists and is not ignored', () => {
    const names = stages.map((s) => s.name);
    for (const copy of all('COPY')) {
      const from = /--from=(\S+)/.exec(copy.args)?.[1];
      if (from) expect(names).toContain(from);
    }
    const sources = stages
      .slice(0, -1)
      .flatMap((s) => s.instructions.filter((i) => i.cmd === 'COPY'))
      .flatMap((i) =>
        i.args
          .split(/\s+/)
          .filter((a) => !a.startsWith('--'))
          .slice(0, -1),
      );
    expect(sources.sort()).toEqual(
      [
        'package.json',
        'package-lock.json',
        'package.json',
        'package-lock.json',
        'tsconfig.json',
        'tsconfig.build.json',
        'src',
      ].sort(),
    );
    for (const source of sources) {
      expect(existsSync(join(REPO, source)), source).toBe(true);
      expect(dockerignore, source).not.toContain(source);
    }
    for (const heavy of ['**/node_modules', '.git', 'dist', 'test']) expect(dockerignore).toContain(heavy);
  });
});

describe('Dockerfile production path (no Docker engine: its steps run here)', () => {
  const root = mkdtempSync(join(tmpdir(), 'mcplane-image-'));
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  // node:20 images ship npm 10; the deps stage's RUN lines get that npm, as in the image.
  function npm10Shim(): string {
    const bin = join(root, '.shim');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'npm'), '#!/bin/sh\nexec npx --yes npm@10 "$@"\n', { mode: 0o755 });
    return bin;
  }

  // The deps stage, as the image runs it: its RUN lines in a directory holding only what it COPYs.
  beforeAll(() => {
    cpSync(join(REPO, 'package.json'), join(root, 'package.json'));
    cpSync(join(REPO, 'package-lock.json'), join(root, 'package-lock.json'));
    const env = { ...process.env, PATH: `${npm10Shim()}:${process.env.PATH}` };
    for (const run of deps.instructions.filter((i) => i.cmd === 'RUN')) {
      execFileSync('sh', ['-c', run.args], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
    }
  }, 180_000);

  it('the deps stage installs production dependencies only, and they all load after pruning', () => {
    // Nothing the lock marks dev-only is installed (a dev package in the image means a wrong --omit).
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.entries(lock.packages).filter(([path, p]) => path && p.dev);
    expect(devOnly.length).toBeGreaterThan(0);
    for (const [path] of devOnly) expect(existsSync(join(root, path)), path).toBe(false);
    // Every module src/ imports at run time still loads from the pruned tree.
    const imports = runtimeImports()
      .map((d) => `await import(${JSON.stringify(d)});`)
      .join('');
    execFileSync(process.execPath, ['--input-type=module', '-e', imports], { cwd: root, stdio: 'pipe' });
    const size = Number(
      execFileSync('du', ['-sm', join(root, 'node_modules')], { encoding: 'utf8' }).split('\t')[0],
    );
    expect(size).toBeLessThan(80); // MB; the runtime base adds about 130
  });

  it.skipIf(!existsSync(join(REPO, 'src/main.ts')))(
    'node dist/main.js starts from that tree and reports ready, then drains on SIGTERM',
    async () => {
      // The build stage: `npm run build` is tsc -p tsconfig.build.json.
      execFileSync(
        join(REPO, 'node_modules/.bin/tsc'),
        ['-p', 'tsconfig.build.json', '--outDir', join(root, 'dist')],
        {
          cwd: REPO,
          stdio: 'pipe',
        },
      );
      const [adminPort, listenerPort] = [await freePort(), await freePort()];
      const manifests = join(root, 'manifests.yaml');
      writeFileSync(manifests, gatewayYaml(listenerPort));
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MCPLANE_')));
      child = spawn(
        process.execPath,
        ['--enable-source-maps', 'dist/main.js', ...chartArgs(root, adminPort), '--manifests', manifests],
        {
          cwd: root,
          env: { ...env, NODE_ENV: 'production', POD_NAME: 'agentgateway-0', POD_NAMESPACE: 'mcp-system' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let output = '';
      child.stdout!.on('data', (d) => (output += d));
      child.stderr!.on('data', (d) => (output += d));
      const admin = `http://127.0.0.1:${adminPort}`;
      const running = () => child?.exitCode === null;
      await waitFor(
        async () => running() && (await fetch(`${admin}/readyz`)).status === 200,
        20_000,
        () => `exit code ${child?.exitCode}\n${output}`,
        running,
      );
      expect((await fetch(`${admin}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${admin}/metrics`)).text()).toContain('# HELP');
      const exit = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
      // The chart's generated key was accepted: no fallback to a per-process key.
      expect(output).not.toContain('random per-process key');
    },
    180_000,
  );
});

/**
 * The container args of the chart's default Deployment, as the pod would run them, except what a test must
 * change: addresses bound to 127.0.0.1, a free admin port, the session key file written to a temp dir
 * from the chart's own generated Secret, a short drain, and no --peer-service (nothing to discover).
 */
function chartArgs(dir: string, adminPort: number): string[] {
  const manifests = renderManifests();
  const secret = find(manifests, 'Secret') as any;
  const keyFile = join(dir, 'session-keys');
  writeFileSync(keyFile, Buffer.from(secret.data['session-keys'], 'base64'));
  const args = (find(manifests, 'Deployment') as any).spec.template.spec.containers[0].args as string[];
  // Standalone (--manifests) has no EndpointSlices to find peers in: the binary refuses --peer-service.
  return args
    .filter((arg) => !arg.startsWith('--peer-service='))
    .map((arg) => {
      const [flag] = arg.split('=');
      const replaced: Record<string, string> = {
        '--bind-address': '127.0.0.1',
        '--admin-address': '127.0.0.1',
        '--admin-port': String(adminPort),
        '--session-key-file': keyFile,
        '--drain-timeout': '2s',
        '--log-level': 'warn',
      };
      if (flag! in replaced) return `${flag}=${replaced[flag!]}`;
      return arg.replace('$(POD_NAME)', 'agentgateway-0').replace('$(POD_NAMESPACE)', 'mcp-system');
    });
}

/** Bare specifiers of the value imports in src/ (not `import type`), e.g. `@modelcontextprotocol/sdk/server/mcp.js`. */
function runtimeImports(): string[] {
  const files = execFileSync('find', [join(REPO, 'src'), '-name', '*.ts', '!', '-name', '*.test.ts'], {
    encoding: 'utf8',
  })
    .split('\n')
    .filter(Boolean);
  const out = new Set<string>();
  for (const file of files) {
    for (const m of readFileSync(file, 'utf8').matchAll(
      /^import\s+(?!type\s)[^;]*?from\s+'([^'.][^']*)'/gm,
    )) {
      if (!m[1]!.startsWith('node:')) out.add(m[1]!);
    }
  }
  expect(out.size).toBeGreaterThan(3);
  return [...out].sort();
}

function gatewayYaml(port: number): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: agentgateway}
spec: {controllerName: mcplane.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: agentgateway, namespace: default}
spec:
  gatewayClassName: agentgateway
  listeners: [{name: http, protocol: HTTP, port: ${port}}]
`;
}

async function waitFor(
  check: () => Promise<boolean>,
  ms: number,
  context: () => string,
  alive: () => boolean,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && alive()) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready after ${ms} ms; process output:\n${context()}`);
}
