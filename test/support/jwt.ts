/**
 * A test issuer without a server: a key pair, its key set as the inline JWKS a policy names, and
 * tokens signed with it (jose), for tests of JWT policies that need no OAuth flow.
 */
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';

export interface TestIssuer {
  readonly issuer: string;
  /** `{"keys":[…]}` as a string, for `jwks.inline`. */
  readonly jwks: string;
  sign(
    claims: JWTPayload,
    options?: { audience?: string; issuer?: string; expiresIn?: string; foreignKey?: boolean },
  ): Promise<string>;
}

export async function testIssuer(issuer: string, alg: 'ES256' | 'RS256' = 'ES256'): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair(alg);
  const stranger = (await generateKeyPair(alg)).privateKey;
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg, use: 'sig' };
  return {
    issuer,
    jwks: JSON.stringify({ keys: [jwk] }),
    sign(claims, options = {}) {
      const token = new SignJWT(claims)
        .setProtectedHeader({ alg, kid: 'k1' })
        .setIssuer(options.issuer ?? issuer)
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? '10m');
      if (options.audience !== undefined) token.setAudience(options.audience);
      return token.sign(options.foreignKey ? stranger : privateKey);
    },
  };
}
