/**
 * The Backend CRD in charts/mcplane/crds/ accepts what mcplane reads (the walk-through's v2.0 shape, the
 * v2.1 shape, mcplane's prefixMode/failureMode), rejects what it would reject, and stays in sync with
 * kgatewayBackendSchema in src/shared/resources.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { kgatewayBackendSchema } from '../../src/shared/resources.js';
import { checkShape } from '../support/helm/k8s-shape.js';
import { CHART_DIR, REPO, renderManifests } from '../support/helm/render.js';
import { type JSONSchemaProps, validateStructural } from '../support/helm/structural-schema.js';

type Obj = Record<string, any>;
const crdFiles = readdirSync(join(CHART_DIR, 'crds'));
const crd = parseAllDocuments(
  readFileSync(join(CHART_DIR, 'crds/gateway.kgateway.dev_backends.yaml'), 'utf8'),
)[0]!.toJS() as Obj;
const version = crd.spec.versions[0];
const schema = version.schema.openAPIV3Schema as JSONSchemaProps;

function backend(spec: Obj): Obj {
  return { apiVersion: 'gateway.kgateway.dev/v1alpha1', kind: 'Backend', metadata: { name: 'b' }, spec };
}

const V20_STATIC = backend({
  type: 'MCP',
  mcp: {
    name: 'v',
    targets: [{ static: { name: 'docs', host: 'docs.example.com', port: 443, protocol: 'SSE' } }],
  },
});
const V21 = backend({
  type: 'MCP',
  mcp: {
    targets: [
      {
        name: 'everything',
        selector: { service: { matchLabels: { app: 'e' } }, namespace: { matchLabels: { team: 'a' } } },
      },
      { name: 'docs', static: { host: 'docs', port: 8080, path: '/mcp', protocol: 'StreamableHTTP' } },
    ],
    prefixMode: 'Always',
    failureMode: 'FailOpen',
  },
});

describe('Backend CRD', () => {
  it('crds/ holds only the Backend CRD, a valid CustomResourceDefinition', () => {
    expect(crdFiles).toEqual(['gateway.kgateway.dev_backends.yaml']);
    expect(checkShape(crd as any)).toEqual([]);
    expect(crd.metadata.name).toBe('backends.gateway.kgateway.dev');
    expect(crd.spec).toMatchObject({
      group: 'gateway.kgateway.dev',
      scope: 'Namespaced',
      names: { kind: 'Backend' },
    });
    expect(version).toMatchObject({
      name: 'v1alpha1',
      served: true,
      storage: true,
      subresources: { status: {} },
    });
    expect(version.additionalPrinterColumns.map((c: Obj) => c.name)).toEqual([
      'Type',
      'Accepted',
      'Targets',
      'Age',
    ]);
  });

  it('helm template --include-crds prints it before everything else', () => {
    expect(renderManifests({ includeCrds: true })[0]).toMatchObject({ kind: 'CustomResourceDefinition' });
  });

  it('accepts the walk-through Backend (examples/standalone/walkthrough.yaml)', () => {
    const docs = parseAllDocuments(readFileSync(join(REPO, 'examples/standalone/walkthrough.yaml'), 'utf8'));
    const backends = docs.map((d) => d.toJS() as Obj).filter((o) => o?.kind === 'Backend');
    expect(backends.length).toBeGreaterThan(0);
    for (const b of backends) {
      expect(validateStructural(b, schema)).toEqual([]);
      kgatewayBackendSchema.parse(b);
    }
  });

  it('accepts the v2.0 static shape and the v2.1 shape, as the zod schema does', () => {
    for (const b of [V20_STATIC, V21]) {
      expect(validateStructural(b, schema)).toEqual([]);
      kgatewayBackendSchema.parse(b);
    }
  });

  it('accepts status with conditions and targets', () => {
    const status = {
      conditions: [
        { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'ok', observedGeneration: 1 },
      ],
      targets: [{ name: 'everything-mcp', source: 'Service default/everything port 3001', endpoints: 2 }],
    };
    expect(validateStructural({ ...V21, status }, schema)).toEqual([]);
  });

  it.each([
    [
      'a misspelt field',
      { type: 'MCP', mcp: { targtes: [] } },
      ['spec.mcp.targets: required', 'spec.mcp.targtes: unknown field'],
    ],
    ['no targets', { type: 'MCP', mcp: { targets: [] } }, ['spec.mcp.targets: needs at least 1 item(s)']],
    [
      'a port out of range',
      { type: 'MCP', mcp: { targets: [{ name: 'x', static: { host: 'h', port: 70000 } }] } },
      ['spec.mcp.targets[0].static.port: must be <= 65535'],
    ],
    [
      'an unknown protocol',
      { type: 'MCP', mcp: { targets: [{ name: 'x', static: { host: 'h', port: 1, protocol: 'HTTP' } }] } },
      ['spec.mcp.targets[0].static.protocol: "HTTP" is not one of "StreamableHTTP", "SSE", "Undefined"'],
    ],
    [
      'an unknown prefixMode',
      {
        type: 'MCP',
        mcp: { targets: [{ name: 'x', static: { host: 'h', port: 1 } }], prefixMode: 'Sometimes' },
      },
      ['spec.mcp.prefixMode: "Sometimes" is not one of "Always", "Conditional", "Never"'],
    ],
    [
      'an unknown type',
      { type: 'Lambda' },
      ['spec.type: "Lambda" is not one of "AI", "AWS", "Static", "DynamicForwardProxy", "MCP"'],
    ],
    [
      'a port as a string',
      { type: 'MCP', mcp: { targets: [{ name: 'x', static: { host: 'h', port: '80' } }] } },
      ['spec.mcp.targets[0].static.port: expected integer, got "80"'],
    ],
  ])('rejects %s', (_what, spec, errors) => {
    expect(validateStructural(backend(spec), schema)).toEqual(errors);
    // zod agrees, except on spec.type, which it leaves to translate() (it reports NotMcpBackend).
    if (spec.type === 'MCP') expect(kgatewayBackendSchema.safeParse(backend(spec)).success).toBe(false);
  });

  it('has every field of kgatewayBackendSchema spec.mcp and no other, with the same enums', () => {
    const zodTree = fromJsonSchema(
      z.toJSONSchema((kgatewayBackendSchema.shape.spec as any).shape.mcp.unwrap(), {
        unrepresentable: 'any',
      }) as Obj,
    );
    const crdTree = fromJsonSchema(schema.properties!.spec!.properties!.mcp as Obj);
    expect(crdTree.paths).toEqual(zodTree.paths);
    for (const [path, values] of Object.entries(zodTree.enums))
      expect(crdTree.enums[path], path).toEqual(values);
  });
});

/** Field paths and enums of a JSON Schema, with anyOf branches merged (the CRD lists their union). */
function fromJsonSchema(root: Obj): { paths: string[]; enums: Record<string, unknown[]> } {
  const paths = new Set<string>();
  const enums: Record<string, unknown[]> = {};
  const visit = (node: Obj, path: string): void => {
    for (const branch of node.anyOf ?? []) visit(branch, path);
    if (node.enum) enums[path] = [...node.enum].sort();
    if (node.items) visit(node.items, `${path}[]`);
    for (const [key, sub] of Object.entries((node.properties ?? {}) as Obj)) {
      paths.add(`${path}.${key}`);
      visit(sub, `${path}.${key}`);
    }
  };
  visit(root, 'mcp');
  return { paths: [...paths].sort(), enums };
}
