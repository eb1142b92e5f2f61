/** The golden fixture loader is strict: a typo in an MCP field or in the options fails the case. */
import { describe, expect, it } from 'vitest';
import { loadFixture } from '../golden/fixtures.js';

const backend = (targetsKey: string) => `
apiVersion: gateway.kgateway.dev/v1alpha1
kind: Backend
metadata: {name: b, namespace: default}
spec:
  type: MCP
  mcp:
    ${targetsKey}:
      - static: {name: s, host: h.example.com, port: 80}
`;

describe('golden fixture loader', () => {
  it('loads a well-formed backend with default options', () => {
    const { snapshot, options } = loadFixture([{ name: 'ok.yaml', text: backend('targets') }]);
    expect(snapshot.Backend).toHaveLength(1);
    expect(options).toEqual({
      controllerName: 'mcplane.dev/gateway-controller',
      clusterDomain: 'cluster.local',
    });
  });

  it('rejects a misspelt MCP field with its path', () => {
    expect(() => loadFixture([{ name: 'typo.yaml', text: backend('targtes') }])).toThrow(
      /typo\.yaml.*spec\.mcp/,
    );
  });

  it('rejects an unknown option and a kind mcplane does not read', () => {
    const badOption = 'apiVersion: test.mcplane.dev/v1\nkind: TranslateOptions\nclusterDomian: x\n';
    expect(() => loadFixture([{ name: 'opt.yaml', text: badOption }])).toThrow(/bad TranslateOptions/);
    const unknownKind = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n';
    expect(() => loadFixture([{ name: 'cm.yaml', text: unknownKind }])).toThrow(/not a kind mcplane reads/);
  });

  it('lets a case override base objects and options', () => {
    const base = 'apiVersion: test.mcplane.dev/v1\nkind: TranslateOptions\nclusterDomain: base.local\n';
    const override = 'apiVersion: test.mcplane.dev/v1\nkind: TranslateOptions\nclusterDomain: case.local\n';
    const { options } = loadFixture([
      { name: '_base.yaml', text: base },
      { name: 'case.yaml', text: override },
    ]);
    expect(options.clusterDomain).toBe('case.local');
  });
});
