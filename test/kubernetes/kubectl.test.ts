/** Real kubectl against the test API server: discovery, get, and client-side apply of a custom resource. */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { KubeApiServer } from '../support/kube/api-server.js';
import { gateway, service } from './fixtures.js';

const KUBECTL = '/usr/bin/kubectl';
const exec = promisify(execFile);
let server: KubeApiServer;

beforeEach(async () => {
  server = await KubeApiServer.start();
});
afterEach(() => server.close());

// Async exec: the server runs in this process, so a synchronous child would deadlock it.
const kubectl = async (...args: string[]) =>
  (
    await exec(KUBECTL, ['--server', server.url, '--insecure-skip-tls-verify', '--token', 't', ...args], {
      timeout: 15_000,
    })
  ).stdout;

it.skipIf(!existsSync(KUBECTL))('kubectl get and apply work against the test API server', async () => {
  server.apply(service('s1', 'team-a'));
  expect(await kubectl('get', 'services', '-A', '-o', 'name')).toBe('service/s1\n');
  const uid = (server.get('Service', 'team-a', 's1')!.metadata as { uid: string }).uid;
  expect(await kubectl('get', 'service', 's1', '-n', 'team-a', '-o', 'jsonpath={.metadata.uid}')).toBe(uid);
  const file = join(mkdtempSync(join(tmpdir(), 'mcplane-kubectl-')), 'gw.json');
  writeFileSync(file, JSON.stringify(gateway('g')));
  expect(await kubectl('apply', '--validate=false', '-f', file)).toMatch(/gateway.*\/g created/);
  writeFileSync(
    file,
    JSON.stringify({ ...gateway('g'), spec: { ...gateway('g').spec, gatewayClassName: 'other' } }),
  );
  expect(await kubectl('apply', '--validate=false', '-f', file)).toMatch(/\/g configured/);
  const stored = server.get('Gateway', 'default', 'g') as {
    spec: { gatewayClassName: string };
    metadata: { generation: number };
  };
  expect(stored.spec.gatewayClassName).toBe('other');
  expect(stored.metadata.generation).toBe(2);
  expect(server.requests.find((r) => r.method === 'PATCH')?.headers['content-type']).toBe(
    'application/merge-patch+json',
  );
});
