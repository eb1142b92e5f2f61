/**
 * The session sealing key: generated at install as one `kid:hex64` line, kept on upgrade (Helm's
 * `lookup` finds the Secret), or taken from an existing Secret.
 */
import { describe, expect, it } from 'vitest';
import { find, type Manifest, renderManifests } from '../support/helm/render.js';

const KEY_LINE = /^[a-z0-9]+:[0-9a-f]{64}$/;

function keys(manifests: Manifest[]): string {
  const secret = find(manifests, 'Secret', 'agentgateway-session-key') as any;
  return Buffer.from(secret.data['session-keys'], 'base64').toString('utf8');
}

describe('session key Secret', () => {
  it('install generates a fresh kid:hex64 key each time', () => {
    const a = keys(renderManifests());
    const b = keys(renderManifests());
    expect(a.trimEnd().split('\n')).toHaveLength(1);
    expect(a.trimEnd()).toMatch(KEY_LINE);
    expect(a).not.toBe(b);
  });

  it('upgrade keeps the key found by lookup, rotated key rings included', () => {
    const ring = 'k2:' + 'b'.repeat(64) + '\nk1:' + 'a'.repeat(64) + '\n';
    const existing = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'agentgateway-session-key', namespace: 'mcp-system' },
      data: { 'session-keys': Buffer.from(ring).toString('base64') },
    };
    expect(keys(renderManifests({ isUpgrade: true, lookup: [existing] }))).toBe(ring);
    // A Secret of the same name in another namespace is not ours.
    const elsewhere = { ...existing, metadata: { ...existing.metadata, namespace: 'other' } };
    expect(keys(renderManifests({ isUpgrade: true, lookup: [elsewhere] }))).not.toBe(ring);
  });

  it('the pod mounts the key and passes --session-key-file', () => {
    const pod = (find(renderManifests(), 'Deployment') as any).spec.template.spec;
    const mount = pod.containers[0].volumeMounts.find((m: any) => m.name === 'session-key');
    const volume = pod.volumes.find((v: any) => v.name === 'session-key');
    expect(volume.secret.secretName).toBe('agentgateway-session-key');
    expect(pod.containers[0].args).toContain(`--session-key-file=${mount.mountPath}/session-keys`);
    expect(mount.readOnly).toBe(true);
  });

  it('existingSecret: no Secret rendered, the named one mounted', () => {
    const m = renderManifests({ values: { sessionKey: { existingSecret: 'my-keys', secretKey: 'ring' } } });
    expect(m.filter((x) => x.kind === 'Secret')).toEqual([]);
    const pod = (find(m, 'Deployment') as any).spec.template.spec;
    expect(pod.volumes.find((v: any) => v.name === 'session-key').secret).toMatchObject({
      secretName: 'my-keys',
      items: [{ key: 'ring', path: 'ring' }],
    });
    expect(pod.containers[0].args).toContain('--session-key-file=/etc/mcplane/session-key/ring');
  });

  it('disabled: no Secret, no mount, no flag', () => {
    const m = renderManifests({ values: { sessionKey: { enabled: false } } });
    expect(m.filter((x) => x.kind === 'Secret')).toEqual([]);
    const c = (find(m, 'Deployment') as any).spec.template.spec.containers[0];
    expect(c.args.some((a: string) => a.startsWith('--session-key-file'))).toBe(false);
    expect(c.volumeMounts.map((v: any) => v.name)).toEqual(['tmp']);
  });
});
