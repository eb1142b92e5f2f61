/**
 * Configuration: command-line flags, each with a matching MCPLANE_* environment variable, validated
 * once at start (zod). A bad value stops the process with a message naming the flag.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { isAddressOrCidr } from './proxy/policy/forwarded.js';
import { LOG_FORMATS, LOG_LEVELS } from './shared/logger.js';

/** `10s`, `250ms`, `30m`, `1h` or a plain number of milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a duration (examples: 250ms, 10s, 30m, 1h)`);
  const value = Number(match[1]);
  const unit = match[2] ?? 'ms';
  return Math.round(value * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h']);
}

/** `4MiB`, `512KiB`, `1000000` bytes. */
export function parseBytes(text: string): number {
  const match = /^(\d+)(B|KiB|MiB|GiB)?$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a size (examples: 512KiB, 4MiB, 1048576)`);
  const unit = match[2] ?? 'B';
  return (
    Number(match[1]) *
    { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }[unit as 'B' | 'KiB' | 'MiB' | 'GiB']
  );
}

const duration = z.string().transform((text, ctx) => {
  try {
    return parseDuration(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});
const bytes = z.string().transform((text, ctx) => {
  try {
    return parseBytes(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});
const positiveDuration = duration.refine((ms) => ms > 0, 'must be longer than 0');
const port = z.coerce.number().int().min(0).max(65535);

/** `https://app.example.com`, as a browser sends it: scheme://host[:port], lower case, no path. */
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+$/;

/** A comma-separated list whose entries `problem` checks (undefined when an entry is fine). */
function commaList(problem: (entry: string) => string | undefined) {
  return z
    .string()
    .optional()
    .transform((text, ctx) => {
      const list = (text ?? '')
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry.length > 0);
      for (const entry of list) {
        const message = problem(entry);
        if (message !== undefined) ctx.addIssue({ code: 'custom', message });
      }
      return list as readonly string[];
    });
}

const addresses = commaList((entry) =>
  isAddressOrCidr(entry) ? undefined : `"${entry}" is not an IP address or a CIDR (10.0.0.0/8, ::1/128)`,
);

/** Exact origins, `null`, or `*`. */
const origins = commaList((entry) => {
  if (entry === '*' || entry === 'null') return undefined;
  let canonical: string | undefined;
  try {
    const url = new URL(entry);
    canonical = url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : entry;
  } catch {
    // not a URL at all: reported below
  }
  if (ORIGIN.test(entry) && canonical === entry) return undefined;
  return `"${entry}" is not an origin as browsers send it: scheme://host[:port] in lower case, without a path or the default port (example: https://app.example.com), or * for any`;
});
const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

/** Every flag: name → [schema, default, help]. The README's flag table is generated from this list. */
export const FLAGS = {
  manifests: [
    z.string().optional(),
    undefined,
    'Standalone mode: a YAML file or folder of manifests, reloaded on change.',
  ],
  kubeconfig: [
    z.string().optional(),
    undefined,
    'Kubernetes mode: kubeconfig path (default: $KUBECONFIG, ~/.kube/config, in-cluster).',
  ],
  'controller-name': [
    z.string().min(1),
    'mcplane.dev/gateway-controller',
    'GatewayClasses with this spec.controllerName are served.',
  ],
  'bind-address': [z.string().min(1), '0.0.0.0', 'Address the Gateway listener ports bind to.'],
  'admin-port': [port, '9091', 'Port of the admin server: /metrics, /healthz, /readyz.'],
  'admin-address': [z.string().min(1), '0.0.0.0', 'Address the admin server binds to.'],
  'log-level': [z.enum(LOG_LEVELS), 'info', 'fatal, error, warn, info, debug, trace or silent.'],
  'log-format': [
    z.enum(LOG_FORMATS),
    'auto',
    '`json` (one JSON object per line), `pretty` (human-readable lines, coloured on a terminal), or `auto`: `pretty` when stdout is a terminal, else `json`.',
  ],
  'log-subject': [
    z.enum(['hash', 'plain', 'off']),
    'hash',
    "How the request log names an authenticated caller: `hash` (the first 16 hex digits of the SHA-256 of its identity), `plain` (the token's issuer and subject, or `apikey <key id>`), or `off`.",
  ],
  'cluster-domain': [z.string().min(1), 'cluster.local', 'Cluster DNS domain for Service host names.'],
  'session-key': [
    z.string().optional(),
    undefined,
    'Session sealing key(s): `kid:hex64[,kid:hex64...]`; the first seals, all open.',
  ],
  'session-key-file': [
    z.string().optional(),
    undefined,
    'File with one `kid:hex64` key per line (the chart mounts a Secret here).',
  ],
  'session-idle-ttl': [
    duration,
    '30m',
    "A session unused this long leaves this replica's memory; its id still works (it reopens from the sealed id, here or on any replica).",
  ],
  'session-max-lifetime': [
    duration,
    '24h',
    'A session ends this long after it started (the issue time sealed in its id), on every replica: its id then gets 404.',
  ],
  'max-sessions': [
    z.coerce.number().int().min(1),
    '10000',
    'Sessions held in memory, busy ones included: the least recently used idle ones make room (recency to within a second); when all are busy a new session gets 503.',
  ],
  'max-initialize-bytes': [
    bytes,
    '64KiB',
    'Largest initialize params (serialized JSON) a client may send (400 above).',
  ],
  'max-revoked-sessions': [
    z.coerce.number().int().min(1),
    '100000',
    'Deleted sessions remembered (until their max lifetime); when full, sessions issued before the oldest tenth end too.',
  ],
  peers: [
    z
      .string()
      .optional()
      .transform((text, ctx) => {
        const peers = (text ?? '')
          .split(',')
          .map((p) => p.trim())
          .filter((p) => p !== '');
        for (const peer of peers) {
          if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(peer)) {
            ctx.addIssue({ code: 'custom', message: `"${peer}" is not host:port` });
          }
        }
        return peers;
      }),
    undefined,
    'Admin addresses (host:port, comma-separated) of the other replicas: they exchange deleted sessions.',
  ],
  'peer-service': [
    z.string().optional(),
    undefined,
    "Kubernetes mode: the Service (in POD_NAMESPACE) whose EndpointSlices list the replicas' admin ports, to exchange deleted sessions.",
  ],
  'max-body-bytes': [bytes, '4MiB', 'Largest request body accepted (413 above).'],
  'max-batch-size': [
    z.coerce.number().int().min(1),
    '32',
    'Most messages in one JSON-RPC batch (2025-03-26 sessions); a longer batch gets 400 and none of it runs.',
  ],
  'max-session-inflight': [
    z.coerce.number().int().min(1),
    '64',
    'Requests one session may have in flight at once, batch items included (429 beyond).',
  ],
  'max-session-target-calls': [
    z.coerce.number().int().min(1),
    '16',
    'Upstream calls one session may have open to one target at once: list pages and forwarded calls, a streamed answer until it ends (429 beyond).',
  ],
  'fanout-timeout': [duration, '10s', 'Per-target deadline for fan-out requests (initialize, */list).'],
  'upstream-era': [
    z.enum(['auto', 'legacy']),
    'auto',
    'How mcplane learns which MCP revision a target speaks: `auto` asks each target with a 2026-07-28 server/discover and falls back to the 2025 initialize handshake; `legacy` always uses the handshake.',
  ],
  'upstream-failure-threshold': [
    z.coerce.number().int().min(1).max(1_000),
    '3',
    'Consecutive failed requests (unreachable, timed out, 5xx) that mark an upstream target down (mcplane_upstream_up 0); any answer marks it up.',
  ],
  'upstream-probe-interval': [
    duration,
    '0s',
    'Probe every upstream target this often (`server/discover` for 2026-07-28 targets, `ping` for 2025 ones); 0 probes only targets that are down, every 5s.',
  ],
  'upstream-down-grace': [
    duration,
    '30s',
    'How long a target stays down before its tools, prompts and resources leave merged lists (clients get list_changed; they come back when it answers).',
  ],
  'metrics-max-tools': [
    z.coerce.number().int().min(0).max(10_000),
    '200',
    'Tool names per backend that label the per-tool metrics (names a target listed; the rest count as `other`).',
  ],
  'upstream-era-max-age': [
    duration,
    '5m',
    "How long a target's probed revision is trusted before it is asked again (an unreachable target is asked again at once).",
  ],
  'sse-keepalive': [duration, '15s', 'Interval of `:` keep-alive comments on open SSE streams.'],
  'max-stream-buffer': [
    bytes.pipe(z.number().min(64 * 1024, 'must be at least 64KiB')),
    '8MiB',
    'Bytes one SSE stream may queue for a client that reads slower than its messages arrive (upstreams wait first); past it the stream ends with a -32003 error.',
  ],
  'session-buffer-bytes': [
    bytes,
    '1MiB',
    'Bytes of messages (at most 64) a session keeps while it has no GET stream open, oldest dropped first; at most --max-stream-buffer.',
  ],
  'list-cache': [
    bool,
    'true',
    "Answer a session's repeated */list from the target's last answer while its event stream is open and it declared listChanged.",
  ],
  'drain-timeout': [
    duration,
    '25s',
    'On SIGTERM/SIGINT: how long in-flight requests and streams may finish; a call still running then is answered with a JSON-RPC error.',
  ],
  'request-timeout': [
    positiveDuration,
    '30s',
    'How long a whole request (headers and body) may take to arrive; 408 after. Long calls and SSE streams are not limited once the request has arrived.',
  ],
  'headers-timeout': [
    positiveDuration,
    '10s',
    'How long request headers may take to arrive (at most --request-timeout); 408 after.',
  ],
  'max-client-connections': [
    z.coerce.number().int().min(0),
    '256',
    'Open connections one client address may hold on the listener ports; the next is answered 503 and closed (0: no limit). Clients behind one proxy or SNAT share its address.',
  ],
  'allowed-origins': [
    origins,
    undefined,
    'Browser origins allowed besides loopback ones (comma-separated, exact: `https://app.example.com`; `*` for any); a request with another Origin gets 403.',
  ],
  'trusted-proxies': [
    addresses,
    undefined,
    'Proxies (comma-separated addresses or CIDRs) whose X-Forwarded-Proto and X-Forwarded-Host name the URL clients used, in OAuth protected-resource metadata and 401 challenges; from any other peer they are ignored.',
  ],
  debounce: [
    duration,
    '30ms',
    'Coalesce resource changes for this long before rebuilding the routing table.',
  ],
  'gateway-address': [z.string().optional(), undefined, 'Address written to Gateway status.addresses.'],
  'leader-elect': [bool, 'true', 'Elect a status writer through a Lease (Kubernetes mode).'],
  'lease-name': [z.string().min(1), 'mcplane-status-writer', 'Name of the leader-election Lease.'],
  'lease-duration': [
    duration,
    '15s',
    'Lease duration: a dead leader is replaced after this long (renew deadline 2/3, retry 2/15 of it).',
  ],
  'lease-namespace': [
    z.string().optional(),
    undefined,
    'Namespace of the Lease (default: POD_NAMESPACE or the kubeconfig namespace).',
  ],
  'pod-name': [
    z.string().optional(),
    undefined,
    'Identity in the Lease (default: POD_NAME or the host name).',
  ],
} as const satisfies Record<string, readonly [z.ZodType, string | undefined, string]>;

type FlagName = keyof typeof FLAGS;
type FlagValue<N extends FlagName> = z.output<(typeof FLAGS)[N][0]>;
export type Config = { readonly [N in FlagName as CamelCase<N>]: FlagValue<N> };

type CamelCase<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<CamelCase<T>>}` : S;

export function envName(flag: string): string {
  return `MCPLANE_${flag.toUpperCase().replaceAll('-', '_')}`;
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Flags win over environment variables, which win over defaults. Throws ConfigError naming every bad
 * flag, e.g. `--admin-port: Too big: expected number to be <=65535 (from MCPLANE_ADMIN_PORT=70000)`.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Config {
  const options = Object.fromEntries(
    Object.keys(FLAGS).map((name) => [name, { type: 'string' as const }]),
  ) as Record<FlagName, { type: 'string' }>;
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean' } },
      strict: true,
    }));
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}. Run with --help to see every flag.`);
  }
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, [schema, fallback]] of Object.entries(FLAGS) as [FlagName, (typeof FLAGS)[FlagName]][]) {
    const fromFlag = values[name];
    const fromEnv = env[envName(name)];
    const raw = typeof fromFlag === 'string' ? fromFlag : (fromEnv ?? fallback);
    const result = (schema as z.ZodType).safeParse(raw);
    if (result.success) out[camel(name)] = result.data;
    else {
      const origin =
        typeof fromFlag === 'string'
          ? ''
          : fromEnv !== undefined
            ? ` (from ${envName(name)}=${fromEnv})`
            : '';
      problems.push(`--${name}: ${result.error.issues.map((i) => i.message).join('; ')}${origin}`);
    }
  }
  // Node refuses a headers timeout longer than the request timeout; say so in flag terms.
  if (
    typeof out.headersTimeout === 'number' &&
    typeof out.requestTimeout === 'number' &&
    out.headersTimeout > out.requestTimeout
  ) {
    problems.push('--headers-timeout: must not be longer than --request-timeout');
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return out as Config;
}

export function helpText(): string {
  const lines = [
    'Usage: mcplane [--manifests PATH | --kubeconfig PATH] [flags]',
    '',
    'Flags (each also as MCPLANE_<FLAG>):',
  ];
  for (const [name, [, fallback, help]] of Object.entries(FLAGS)) {
    lines.push(`  --${name.padEnd(24)} ${help}${fallback !== undefined ? ` Default: ${fallback}.` : ''}`);
  }
  return lines.join('\n');
}
