/** loadKubeConfig: explicit path, $KUBECONFIG, ~/.kube/config, and clear errors instead of localhost:8080. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadKubeConfig } from '../../src/control/sources/kubernetes/index.js';

const yaml = (server: string, context = 'c') => `apiVersion: v1
kind: Config
clusters: [{name: t, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: abc}}]
contexts: [{name: c, context: {cluster: t, user: u, namespace: ns}}]
current-context: ${context}
`;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'mcplane-kc-'));
}

describe('loadKubeConfig', () => {
  it('reads --kubeconfig before $KUBECONFIG and the home config', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'flag'), yaml('https://127.0.0.1:1'));
    writeFileSync(join(dir, 'env'), yaml('https://127.0.0.1:2'));
    const env = { KUBECONFIG: join(dir, 'env') };
    expect(loadKubeConfig(join(dir, 'flag'), { env, homeDir: dir }).getCurrentCluster()?.server).toBe(
      'https://127.0.0.1:1',
    );
    expect(loadKubeConfig(undefined, { env, homeDir: dir }).getCurrentCluster()?.server).toBe(
      'https://127.0.0.1:2',
    );
    mkdirSync(join(dir, '.kube'));
    writeFileSync(join(dir, '.kube', 'config'), yaml('https://127.0.0.1:3'));
    const kc = loadKubeConfig(undefined, { env: {}, homeDir: dir });
    expect(kc.getCurrentCluster()?.server).toBe('https://127.0.0.1:3');
    expect(kc.getContextObject(kc.getCurrentContext())?.namespace).toBe('ns');
  });

  it('fails clearly when nothing is configured (no silent http://localhost:8080)', () => {
    const dir = tempDir();
    expect(() => loadKubeConfig(undefined, { env: {}, homeDir: dir, inClusterPrefix: dir })).toThrow(
      /no Kubernetes configuration found: pass --kubeconfig PATH/,
    );
  });

  it('names a missing file, an unparseable file and a context without a cluster', () => {
    const dir = tempDir();
    expect(() => loadKubeConfig(join(dir, 'missing'))).toThrow(
      /kubeconfig .*missing \(--kubeconfig\) does not exist/,
    );
    writeFileSync(join(dir, 'garbage'), ': : :\n  - [');
    expect(() => loadKubeConfig(join(dir, 'garbage'))).toThrow(/cannot read kubeconfig/);
    writeFileSync(join(dir, 'nocontext'), yaml('https://127.0.0.1:1', 'other'));
    expect(() => loadKubeConfig(join(dir, 'nocontext'))).toThrow(/no usable current context \("other"/);
  });
});
