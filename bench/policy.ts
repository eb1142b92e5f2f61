/**
 * The governed route of the benchmark (issue 11's cost bound): JWT authentication with an inline
 * key set, one MCP authorization rule and one local rate limit far above the load, attached to one
 * backend; and the bearer token its clients send. Signed here with jose: no authorization server
 * runs during the measurement, as none is on the hot path.
 */
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

const ISSUER = 'https://bench.mcplane.test';

export interface BenchPolicy {
  readonly policies: unknown[];
  readonly headers: Record<string, string>;
}

export async function benchPolicy(backend: string): Promise<BenchPolicy> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256' };
  const token = await new SignJWT({ sub: 'bench', groups: ['eng'] })
    .setProtectedHeader({ alg: 'ES256', kid: 'bench' })
    .setIssuer(ISSUER)
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(privateKey);
  const policy = (name: string, targetRef: Record<string, string>, spec: Record<string, unknown>) => ({
    apiVersion: 'agentgateway.dev/v1alpha1',
    kind: 'AgentgatewayPolicy',
    metadata: { name, namespace: 'default' },
    spec: { targetRefs: [targetRef], ...spec },
  });
  const backendRef = { group: 'agentgateway.dev', kind: 'AgentgatewayBackend', name: backend };
  return {
    headers: { authorization: `Bearer ${token}` },
    policies: [
      policy(`${backend}-jwt`, backendRef, {
        traffic: {
          jwtAuthentication: {
            providers: [{ issuer: ISSUER, jwks: { inline: JSON.stringify({ keys: [jwk] }) } }],
          },
          rateLimit: { local: [{ requests: 1_000_000, unit: 'Seconds' }] },
        },
        backend: { mcp: { authorization: { policy: { matchExpressions: ['"eng" in jwt.groups'] } } } },
      }),
    ],
  };
}
