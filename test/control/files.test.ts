import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileSource, loadManifests, parseManifestText } from '../../src/control/sources/files.js';
import { ResourceStore } from '../../src/control/sources/store.js';
import { silentLogger } from '../../src/shared/logger.js';
import { createMetrics } from '../../src/shared/metrics.js';

const SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: everything
  labels: { app: everything }
spec:
  ports: [{ name: http, port: 3001, appProtocol: kgateway.dev/mcp }]
`;

const BACKEND_TYPO = `apiVersion: gateway.kgateway.dev/v1alpha1
kind: Backend
metadata:
  name: mcp-backend
  namespace: team-a
spec:
  type: MCP
  mcp:
    targtes: []
`;

describe('manifest parsing', () => {
  it('fills the default namespace and accepts List documents', () => {
    const list = `apiVersion: v1\nkind: List\nitems:\n  - ${SERVICE.replaceAll('\n', '\n    ').trimEnd()}\n`;
    const { resources, problems } = parseManifestText(`${SERVICE}---\n---\n${list}`, 'a.yaml');
    expect(problems).toEqual([]);
    expect(resources.map((r) => [r.kind, r.object.metadata.namespace])).toEqual([
      ['Service', 'default'],
      ['Service', 'default'],
    ]);
  });

  it('reports an invalid resource with file, document, kind, namespace/name and field path', () => {
    const { problems } = parseManifestText(`${SERVICE}---\n${BACKEND_TYPO}`, 'bad.yaml');
    expect(problems.join('\n')).toContain('bad.yaml (document 2): Backend team-a/mcp-backend: spec.mcp');
    expect(problems.join('\n')).toMatch(/targtes|targets/);
  });

  it('reports invalid YAML with the file and document', () => {
    const { problems } = parseManifestText('kind: Service\n  bad: [', 'broken.yaml');
    expect(problems[0]).toMatch(/^broken\.yaml \(document 1\): invalid YAML/);
  });

  it('reports kinds mcplane does not read', () => {
    const { problems } = parseManifestText(
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n',
      'd.yaml',
    );
    expect(problems).toEqual([
      'd.yaml (document 1): Deployment x: apps/v1 Deployment is not a kind mcplane reads',
    ]);
  });
});

describe('file source', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcplane-files-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports a resource defined twice across files', async () => {
    await writeFile(join(dir, 'a.yaml'), SERVICE);
    await writeFile(join(dir, 'b.yml'), SERVICE);
    const { problems } = await loadManifests(dir);
    expect(problems).toEqual([expect.stringContaining('Service/default/everything is defined twice')]);
  });

  it('reports a path that does not exist', async () => {
    const { problems } = await loadManifests(join(dir, 'missing'));
    expect(problems[0]).toContain('ENOENT');
  });

  it('applies valid files, keeps the last good set on an invalid edit, and picks up the fix', async () => {
    const store = new ResourceStore();
    const metrics = createMetrics(undefined, { processMetrics: false });
    await writeFile(join(dir, 'svc.yaml'), SERVICE);
    const source = new FileSource({ path: dir, store, logger: silentLogger, metrics, pollMs: 50 });
    await source.start();
    try {
      expect(source.synced).toBe(true);
      expect(store.count('Service')).toBe(1);

      await writeFile(join(dir, 'backend.yaml'), BACKEND_TYPO);
      await source.reload();
      expect(store.count('Service')).toBe(1); // last good set kept
      expect(store.count('Backend')).toBe(0);
      expect(await metrics.registry.getSingleMetricAsString('mcplane_source_errors_total')).toContain(
        'source="files"',
      );

      await writeFile(
        join(dir, 'backend.yaml'),
        BACKEND_TYPO.replace('targtes: []', 'targets: [{static: {name: a, host: 127.0.0.1, port: 1}}]'),
      );
      await expect.poll(() => store.count('Backend'), { timeout: 5000 }).toBe(1); // noticed by itself
      await rm(join(dir, 'svc.yaml'));
      await expect.poll(() => store.count('Service'), { timeout: 5000 }).toBe(0);
    } finally {
      source.stop();
    }
  });
});
