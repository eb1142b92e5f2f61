/**
 * Renders charts/mcplane without a helm binary: scripts/helm-render is a small Go program on Helm's own
 * engine (text/template + Sprig + Helm's functions, values coalescing, values.schema.json validation).
 * It is built on first use from Debian's Go packages (see charts/mcplane/README.md, "Testing").
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';

export const REPO = resolve(import.meta.dirname, '../../..');
export const CHART_DIR = join(REPO, 'charts/mcplane');
const SOURCE_DIR = join(REPO, 'scripts/helm-render');
const CACHE_DIR = join(REPO, 'node_modules/.cache/mcplane-helm-render');
const BINARY = join(CACHE_DIR, 'helm-render');
const DEBIAN_GOPATH = '/usr/share/gocode';
export const INSTALL_HINT =
  'apt-get install -y --no-install-recommends golang-go golang-github-masterminds-sprig-dev ' +
  'golang-github-ghodss-yaml-dev golang-github-xeipuuv-gojsonschema-dev';

/** Builds the renderer when it is missing or older than its sources; returns its path. */
export function ensureRenderer(): string {
  const newest = Math.max(
    ...readdirSync(SOURCE_DIR)
      .filter((f) => f.endsWith('.go'))
      .map((f) => statSync(join(SOURCE_DIR, f)).mtimeMs),
  );
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= newest) return BINARY;
  if (!existsSync(join(DEBIAN_GOPATH, 'src/github.com/Masterminds/sprig'))) {
    throw new Error(`the chart renderer needs Go and Debian's Sprig packages: ${INSTALL_HINT}`);
  }
  mkdirSync(CACHE_DIR, { recursive: true });
  // Build beside the target, then rename: test files run in parallel and may build at the same time.
  const partial = `${BINARY}.${process.pid}`;
  execFileSync('go', ['build', '-o', partial, '.'], {
    cwd: SOURCE_DIR,
    env: {
      ...process.env,
      GO111MODULE: 'off',
      GOPATH: DEBIAN_GOPATH,
      GOFLAGS: '',
      GOCACHE: join(CACHE_DIR, 'gocache'),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  renameSync(partial, BINARY);
  return BINARY;
}

export interface RenderOptions {
  /** Release name (default `agentgateway`, as in the walk-through). */
  name?: string;
  namespace?: string;
  /** Values as an object, or paths of values files; objects are written to a temp file. */
  values?: Record<string, unknown> | string[];
  /** Objects that Helm's `lookup` finds, standing in for the cluster. */
  lookup?: Record<string, unknown>[];
  includeCrds?: boolean;
  notes?: boolean;
  isUpgrade?: boolean;
  /** Deterministic rand* functions, for golden files. */
  fakeRandom?: boolean;
  apiVersions?: string[];
  /** .Capabilities.KubeVersion (default v1.30.0). */
  kubeVersion?: string;
}

export interface RenderResult {
  status: number;
  stdout: string;
  stderr: string;
}

let scratch: string | undefined;
function scratchFile(name: string, text: string): string {
  scratch ??= mkdtempSync(join(tmpdir(), 'mcplane-chart-'));
  const path = join(scratch, `${process.hrtime.bigint()}-${name}`);
  writeFileSync(path, text);
  return path;
}

export function render(options: RenderOptions = {}): RenderResult {
  const args = ['--chart', CHART_DIR, '--name', options.name ?? 'agentgateway'];
  args.push('--namespace', options.namespace ?? 'mcp-system');
  const values = options.values;
  if (Array.isArray(values)) for (const file of values) args.push('-f', file);
  else if (values) args.push('-f', scratchFile('values.yaml', stringify(values)));
  if (options.lookup) {
    args.push('--lookup', scratchFile('lookup.yaml', options.lookup.map((o) => stringify(o)).join('---\n')));
  }
  if (options.includeCrds) args.push('--include-crds');
  if (options.notes) args.push('--notes');
  if (options.isUpgrade) args.push('--is-upgrade');
  if (options.fakeRandom) args.push('--fake-random');
  for (const v of options.apiVersions ?? []) args.push('--api-versions', v);
  if (options.kubeVersion) args.push('--kube-version', options.kubeVersion);
  const run = spawnSync(ensureRenderer(), args, { encoding: 'utf8' });
  if (run.error) throw run.error;
  return { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

export interface Manifest {
  source: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/**
 * Renders and parses every document. YAML 1.1 as the API machinery reads it (sigs.k8s.io/yaml), and
 * duplicate keys are errors, as they are for kubectl.
 */
export function renderManifests(options: RenderOptions = {}): Manifest[] {
  const result = render(options);
  if (result.status !== 0) throw new Error(`render failed: ${result.stderr}`);
  return parseManifests(result.stdout);
}

export function parseManifests(text: string): Manifest[] {
  const out: Manifest[] = [];
  for (const doc of parseAllDocuments(text, { version: '1.1', uniqueKeys: true })) {
    if (doc.errors.length > 0) throw new Error(`YAML error: ${doc.errors.map((e) => e.message).join('; ')}`);
    const comment = `${doc.commentBefore ?? ''}\n${doc.contents?.commentBefore ?? ''}`;
    const source = /Source: (\S+)/.exec(comment)?.[1] ?? '?';
    const value = doc.toJS() as Manifest | null;
    if (value) out.push({ ...value, source });
  }
  return out;
}

export function find(manifests: Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.find((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (!found) throw new Error(`no ${kind}${name ? ` ${name}` : ''} among ${manifests.map((m) => m.kind)}`);
  return found;
}
