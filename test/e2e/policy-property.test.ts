/**
 * The property behind "one rule set for what an identity sees and calls": for generated identities
 * (claims) and generated rule sets (Allow / Deny / Require over claims and the item), the tools,
 * prompts and resources in an identity's merged lists are exactly those it may call, get or read.
 * Seeded, so a failure names a case that reproduces; each rule set is its own route and backend
 * over the same two real upstream MCP servers, so one gateway serves every case.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { JWTPayload } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { Rng } from '../fuzz/prng.js';
import { startTestGateway } from '../support/gateway.js';
import { type TestIssuer, testIssuer } from '../support/jwt.js';
import { type FixtureServer, startFixture } from '../support/mcp-servers.js';
import { freePort } from '../support/ports.js';
import { type StaticBackend, writeManifests } from '../support/standalone.js';

const SEED = 20261203;
const RULE_SETS = 12;
const IDENTITIES = 6;
const ISSUER = 'https://idp.test';

/** The fuzzer's seeded PRNG: a failure names a case that reproduces. */
function random(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

const ATOMS = [
  '"eng" in jwt.groups',
  '"ops" in jwt.groups',
  'jwt.level >= 2',
  'jwt.sub == "u1"',
  'has(jwt.admin)',
  'jwt.missing == "x"', // always an evaluation error
  'mcp.tool.name == "echo"',
  'mcp.tool.name == "add"',
  'mcp.tool.name.startsWith("s")',
  'mcp.tool.target == "a"',
  'mcp.prompt.name == "greet" && mcp.prompt.target == "b"',
  'mcp.resource.name == "memo://readme"',
  'mcp.resource.target == "a"',
  'has(mcp.tool)',
];

function expression(next: () => number): string {
  const atom = () => ATOMS[Math.floor(next() * ATOMS.length)]!;
  const shape = next();
  if (shape < 0.5) return atom();
  if (shape < 0.7) return `!(${atom()})`;
  if (shape < 0.85) return `${atom()} || ${atom()}`;
  return `${atom()} && ${atom()}`;
}

function ruleSet(next: () => number): Array<{ action: string; expressions: string[] }> {
  const count = 1 + Math.floor(next() * 3);
  return Array.from({ length: count }, () => ({
    action: ['Allow', 'Allow', 'Deny', 'Require'][Math.floor(next() * 4)]!,
    expressions: Array.from({ length: 1 + Math.floor(next() * 2) }, () => expression(next)),
  }));
}

function identity(next: () => number, i: number): JWTPayload {
  const groups = ['eng', 'ops', 'sales'].filter(() => next() < 0.4);
  return { sub: `u${i}`, groups, level: Math.floor(next() * 4), ...(next() < 0.3 ? { admin: true } : {}) };
}

/** Tools the check calls, with arguments their schemas accept. */
const TOOL_ARGS: Record<string, Record<string, unknown>> = {
  echo: { message: 'hi' },
  add: { a: 1, b: 2 },
  whoami: {},
  sleep: { ms: 1 },
};

let a: FixtureServer;
let b: FixtureServer;
let gateway: Gateway;
let dir: string;
let port: number;
let idp: TestIssuer;
const next = random(SEED);
const sets = Array.from({ length: RULE_SETS }, () => ruleSet(next));
const identities = Array.from({ length: IDENTITIES }, (_, i) => identity(next, i));

const sign = (claims: JWTPayload) => idp.sign(claims);

beforeAll(async () => {
  idp = await testIssuer(ISSUER);
  a = await startFixture({ name: 'a', prompts: true, resources: true });
  b = await startFixture({ name: 'b', prompts: true, resources: true });
  port = await freePort();
  const backends: StaticBackend[] = sets.map((_, i) => ({
    name: `case${i}`,
    pathPrefix: `/case${i}`,
    targets: [
      { name: 'a', port: a.port },
      { name: 'b', port: b.port },
    ],
  }));
  dir = await writeManifests(port, backends);
  const policies = [
    `apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: { name: jwt, namespace: default }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: Gateway, name: gw }]
  traffic:
    jwtAuthentication:
      providers: [{ issuer: ${ISSUER}, jwks: { inline: '${idp.jwks}' } }]`,
    ...sets.flatMap((rules, i) =>
      rules.map(
        (rule, r) => `apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: { name: case${i}-rule${r}, namespace: default }
spec:
  targetRefs: [{ group: agentgateway.dev, kind: AgentgatewayBackend, name: case${i} }]
  backend:
    mcp:
      authorization:
        action: ${rule.action}
        policy: { matchExpressions: ${JSON.stringify(rule.expressions)} }`,
      ),
    ),
  ];
  await writeFile(join(dir, 'policies.yaml'), `${policies.join('\n---\n')}\n`);
  gateway = await startTestGateway(['--manifests', dir]);
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await a?.close();
  await b?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function refused(run: () => Promise<unknown>): Promise<boolean> {
  try {
    await run();
    return false;
  } catch (error) {
    const text = String(error);
    if (/Unknown (tool|prompt|resource)/.test(text)) return true;
    throw error;
  }
}

it(`${IDENTITIES} identities × ${RULE_SETS} rule sets: an identity lists exactly what it may call, get or read`, async () => {
  let checked = 0;
  let hidden = 0;
  for (const [i, rules] of sets.entries()) {
    for (const claims of identities) {
      const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/case${i}`), {
        requestInit: { headers: { authorization: `Bearer ${await sign(claims)}` } },
      });
      const client = new Client({ name: 'property', version: '1.0.0' });
      const context = `seed ${SEED}, case ${i} ${JSON.stringify(rules)}, identity ${JSON.stringify(claims)}`;
      await client.connect(transport);
      try {
        const tools = new Set((await client.listTools()).tools.map((t) => t.name));
        const prompts = new Set((await client.listPrompts()).prompts.map((p) => p.name));
        const resources = new Set((await client.listResources()).resources.map((r) => r.uri));
        for (const target of ['a', 'b']) {
          for (const [tool, args] of Object.entries(TOOL_ARGS)) {
            const name = `${target}_${tool}`;
            const denied = await refused(() => client.callTool({ name, arguments: args }));
            expect(denied, `${name} listed=${tools.has(name)} (${context})`).toBe(!tools.has(name));
            checked += 1;
            hidden += denied ? 1 : 0;
          }
          const prompt = `${target}_greet`;
          const promptDenied = await refused(() =>
            client.getPrompt({ name: prompt, arguments: { who: 'x' } }),
          );
          expect(promptDenied, `${prompt} (${context})`).toBe(!prompts.has(prompt));
          const uri = `${target}+memo://readme`;
          const resourceDenied = await refused(() => client.readResource({ uri }));
          expect(resourceDenied, `${uri} (${context})`).toBe(!resources.has(uri));
          checked += 2;
        }
      } finally {
        await client.close();
      }
    }
  }
  // The generator must produce both outcomes, or the property says nothing.
  expect(hidden).toBeGreaterThan(checked / 10);
  expect(hidden).toBeLessThan(checked);
}, 120_000);
