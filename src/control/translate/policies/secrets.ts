/**
 * What policies read from Secrets: API keys (kept as SHA-256 digests only) and upstream credentials.
 * A Secret that is missing, or lacks the key a policy names, makes the policy Invalid with a message
 * that names the Secret and the key, never a value.
 */

import { sha256Hex } from '../../../shared/digest.js';
import { compileSelector } from '../../../shared/labels.js';
import { objectKey } from '../../../shared/object-key.js';
import { SECRET_LABEL, type Secret } from '../../../shared/resources.js';
import type { ApiKeyEntry, TokenExchange, UpstreamCredential } from '../../../shared/table.js';
import type { World } from '../world.js';
import type { ApiKeyAuthenticationSpec, BackendAuthSpec } from './spec.js';

/** Headers the gateway itself sets on upstream requests. */
const RESERVED: ReadonlySet<string> = new Set([
  'host',
  'content-type',
  'content-length',
  'accept',
  'connection',
  'transfer-encoding',
  'cache-control',
]);

const NOT_FOUND_HINT = `(in Kubernetes, mcplane reads only Secrets labelled ${SECRET_LABEL}: "true")`;

/** A Secret's entries as text: `data` is base64, `stringData` (files) is plain. */
export function secretEntries(secret: Secret): Map<string, string> {
  const entries = new Map<string, string>();
  for (const [key, value] of Object.entries(secret.data ?? {})) {
    entries.set(key, Buffer.from(value, 'base64').toString('utf8'));
  }
  for (const [key, value] of Object.entries(secret.stringData ?? {})) entries.set(key, value);
  return entries;
}

function apiKeyEntry(id: string, value: string): ApiKeyEntry | string {
  const text = value.trim();
  if (!text.startsWith('{')) return { id, sha256: sha256Hex(text), metadata: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return `entry ${id} is neither a key nor a JSON object`;
  }
  const { key, keyHash, metadata } = (parsed ?? {}) as {
    key?: unknown;
    keyHash?: unknown;
    metadata?: unknown;
  };
  const meta = typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata) ? metadata : {};
  if (typeof key === 'string' && key !== '')
    return { id, sha256: sha256Hex(key), metadata: meta as Record<string, unknown> };
  if (typeof keyHash === 'string' && /^sha256:[0-9a-f]{64}$/i.test(keyHash))
    return { id, sha256: keyHash.slice(7).toLowerCase(), metadata: meta as Record<string, unknown> };
  return `entry ${id} has no "key" or "keyHash" (sha256:<64 hex digits>)`;
}

/** The API keys a policy names, or what is wrong with its reference. */
export function apiKeysOf(
  world: World,
  namespace: string,
  spec: ApiKeyAuthenticationSpec,
): ApiKeyEntry[] | string {
  let secrets: Secret[];
  if (spec.secretRef) {
    const secret = world.secretsByKey.get(objectKey(namespace, spec.secretRef.name));
    if (!secret) return `Secret ${namespace}/${spec.secretRef.name} not found ${NOT_FOUND_HINT}`;
    secrets = [secret];
  } else {
    const matches = compileSelector({ matchLabels: spec.secretSelector?.matchLabels ?? {} });
    secrets = [...world.secretsByKey.values()].filter(
      (s) => (s.metadata.namespace ?? 'default') === namespace && matches(s.metadata.labels ?? {}),
    );
  }
  const keys: ApiKeyEntry[] = [];
  for (const secret of secrets) {
    for (const [name, value] of secretEntries(secret)) {
      const entry = apiKeyEntry(`${namespace}/${secret.metadata.name}/${name}`, value);
      if (typeof entry === 'string') return `Secret ${namespace}/${secret.metadata.name}: ${entry}`;
      keys.push(entry);
    }
  }
  return keys.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function headerOf(spec: BackendAuthSpec): { header: string; prefix: string } | string {
  const header = (spec.location?.header.name ?? 'authorization').toLowerCase();
  if (RESERVED.has(header) || header.startsWith('mcp-') || !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(header))
    return `location.header.name ${header} cannot carry a credential (a reserved or invalid header name)`;
  return { header, prefix: spec.location?.header.prefix ?? (header === 'authorization' ? 'Bearer ' : '') };
}

/** `backend.auth.oauthTokenExchange`, with its client secret read, or what is wrong with it. */
export function tokenExchangeOf(
  world: World,
  namespace: string,
  spec: BackendAuthSpec,
): TokenExchange | string {
  const exchange = spec.oauthTokenExchange!;
  const where = headerOf(spec);
  if (typeof where === 'string') return where;
  let clientSecret: string | undefined;
  const ref = exchange.clientAuth?.secretRef;
  if (ref) {
    const secret = world.secretsByKey.get(objectKey(namespace, ref.name));
    if (!secret)
      return `oauthTokenExchange.clientAuth: Secret ${namespace}/${ref.name} not found ${NOT_FOUND_HINT}`;
    const key = ref.key ?? 'clientSecret';
    clientSecret = secretEntries(secret).get(key);
    if (clientSecret === undefined)
      return `oauthTokenExchange.clientAuth: Secret ${namespace}/${ref.name} has no key ${key}`;
  }
  return {
    url: exchange.url,
    ...(exchange.clientAuth ? { clientId: exchange.clientAuth.clientId } : {}),
    ...(clientSecret === undefined ? {} : { clientSecret }),
    clientAuth: exchange.clientAuth?.method ?? 'ClientSecretBasic',
    audiences: exchange.audiences ?? [],
    resources: exchange.resources ?? [],
    scopes: exchange.scopes ?? [],
    ...where,
  };
}

/** `backend.auth` with a key or a Secret: the header and value mcplane sets upstream, or what is wrong. */
export function upstreamCredentialOf(
  world: World,
  namespace: string,
  spec: BackendAuthSpec,
): UpstreamCredential | string {
  const where = headerOf(spec);
  if (typeof where === 'string') return where;
  const { header, prefix } = where;
  let value: string;
  if (spec.key !== undefined) {
    value = spec.key;
  } else {
    const ref = spec.secretRef!;
    const secret = world.secretsByKey.get(objectKey(namespace, ref.name));
    if (!secret) return `Secret ${namespace}/${ref.name} not found ${NOT_FOUND_HINT}`;
    const key = ref.key ?? 'Authorization';
    const found = secretEntries(secret).get(key);
    if (found === undefined) return `Secret ${namespace}/${ref.name} has no key ${key}`;
    // agentgateway: a `Bearer ` prefix is stripped only from the default key.
    value = ref.key === undefined && /^bearer /i.test(found) ? found.slice(7) : found;
  }
  value = value.trim();
  if (/[\r\n]/.test(value)) return 'the credential contains a line break';
  return { header, value: `${prefix}${value}` };
}
