/**
 * Requests the gateway answers itself, through the whole standalone gateway: a route with no
 * backend, a backend with no targets, and a path no route matches. Each gets a clear HTTP status and a
 * JSON-RPC error a person can act on, at once, and the gateway keeps serving.
 */
import { appendFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { postInitialize } from '../support/mcp-harness.js';
import { freePort } from '../support/ports.js';
import { writeManifests } from '../support/standalone.js';

const EXTRA = `
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: nothing-behind, namespace: default }
spec:
  parentRefs: [{ name: gw }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /none } }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: empty, namespace: default }
spec:
  parentRefs: [{ name: gw }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /empty } }]
      backendRefs: [{ group: gateway.kgateway.dev, kind: Backend, name: no-services }]
---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: Backend
metadata: { name: no-services, namespace: default }
spec:
  type: MCP
  mcp:
    targets:
      - selectors: { serviceSelector: { matchLabels: { app: nobody-has-this-label } } }
`;

describe('errors the gateway answers itself', () => {
  let dir: string;
  let gateway: Gateway;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    dir = await writeManifests(port, []);
    await appendFile(join(dir, 'gateway.yaml'), EXTRA);
    gateway = await startTestGateway(['--manifests', dir]);
  });

  afterAll(async () => {
    await gateway?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function initialize(path: string) {
    const res = await postInitialize(`http://127.0.0.1:${port}${path}`, '2025-11-25');
    return { status: res.status, body: (await res.json()) as { error: { code: number; message: string } } };
  }

  it('answers 503 for a route with no backendRefs, naming the route', async () => {
    const { status, body } = await initialize('/none/mcp');
    expect(status).toBe(503);
    expect(body.error.message).toMatch(/nothing-behind/);
    expect(body.error.message).toMatch(/backendRef/);
  });

  it('answers 503 for a backend with no targets, naming the backend', async () => {
    const { status, body } = await initialize('/empty/mcp');
    expect(status).toBe(503);
    expect(body.error.message).toMatch(/no-services/);
  });

  it('answers 404 for a path no route matches, and keeps serving', async () => {
    const { status, body } = await initialize('/');
    expect(status).toBe(404);
    expect(body.error.message).toMatch(/no HTTPRoute/);
    expect((await initialize('/none')).status).toBe(503);
  });
});
