/**
 * Origin and Host checks (DNS rebinding). The MCP spec asks servers to answer a request whose
 * Origin is present and not allowed with 403, whatever they are bound to: a listener on 0.0.0.0 is
 * as reachable from a browser on the same machine (or through `kubectl port-forward`) as one on
 * 127.0.0.1. Loopback origins and `--allowed-origins` pass; `null` and malformed origins only when
 * listed. On a listener bound to loopback the Host must be loopback too: a page on evil.example
 * that resolves its name to 127.0.0.1 reaches the port with `Host: evil.example`, and a non-browser
 * caller sends no Origin at all. Loopback is decided by address, not spelling (`::ffff:127.0.0.1`
 * and `0:0:0:0:0:0:0:1` are loopback; `127.example.com` is not).
 */
import { isIP } from 'node:net';

/** An IPv6 address (validated by isIP) as its eight 16-bit groups. */
function ipv6Groups(address: string): number[] {
  let text = address;
  // A dotted IPv4 tail (::ffff:127.0.0.1) becomes two hex groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const gap = text.indexOf('::');
  if (gap === -1) return parse(text);
  const head = parse(text.slice(0, gap));
  const rest = parse(text.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
}

/**
 * Whether a bind address or host is loopback: `localhost`, 127.0.0.0/8, ::1 in any spelling, and
 * IPv4-mapped IPv6 of 127.0.0.0/8 (`::ffff:127.0.0.1`, `::ffff:7f00:1`). Brackets and a zone are
 * ignored.
 */
export function isLoopbackAddress(address: string): boolean {
  let text = address.toLowerCase();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);
  if (text === 'localhost') return true;
  const family = isIP(text);
  if (family === 4) return text.startsWith('127.');
  if (family !== 6) return false;
  const g = ipv6Groups(text);
  const zeros = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeros(7) && g[7] === 1) return true; // ::1
  return zeros(5) && g[5] === 0xffff && g[6]! >> 8 === 127; // ::ffff:127.x.y.z
}

/** The host of a Host header value (`name:port`, `[v6]:port`, or either without a port). */
function hostOfHeader(value: string): string {
  if (value.startsWith('[')) return value.slice(0, value.indexOf(']') + 1);
  const colon = value.indexOf(':');
  return colon === -1 ? value : value.slice(0, colon);
}

/** On a loopback listener: a reason to refuse the Host, or undefined when it is a loopback name. */
export function hostProblem(host: string | null): string | undefined {
  if (host && isLoopbackAddress(hostOfHeader(host))) return undefined;
  return `Host "${host ?? ''}" is not a loopback name`;
}

/** Which browser origins a listener accepts besides loopback ones (from --allowed-origins). */
export interface OriginPolicy {
  readonly any: boolean;
  readonly listed: ReadonlySet<string>;
}

export function originPolicy(allowedOrigins: readonly string[]): OriginPolicy {
  return { any: allowedOrigins.includes('*'), listed: new Set(allowedOrigins) };
}

/** http(s) on localhost, 127.0.0.0/8 or [::1], exactly as a browser serializes it. */
function isLoopbackOrigin(origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  // A browser sends scheme://host[:port] and nothing else; anything more is not an origin.
  return url.origin === origin && isLoopbackAddress(url.hostname);
}

/** scheme://host[:port], the shape of an origin a browser sends. */
const ORIGIN_SHAPE = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s"]{1,253}$/;

/** A reason to refuse the request's Origin (saying how to allow it), or undefined when it may pass. */
export function originProblem(origin: string | null, policy: OriginPolicy): string | undefined {
  if (origin === null || policy.any || policy.listed.has(origin) || isLoopbackOrigin(origin))
    return undefined;
  if (origin === 'null') {
    return 'Origin "null" (a sandboxed page or a local file) is not allowed; to allow it, start mcplane with --allowed-origins=null, which lets every such page call this gateway';
  }
  if (!ORIGIN_SHAPE.test(origin)) {
    return `Origin ${JSON.stringify(origin.slice(0, 100))} is not a valid origin (scheme://host[:port]); only --allowed-origins=* would let it through`;
  }
  return `Origin "${origin}" is not allowed: only loopback origins (http://localhost, http://127.0.0.1, http://[::1]) and those in --allowed-origins may call this gateway from a browser; to allow it, start mcplane with --allowed-origins=${origin} (or MCPLANE_ALLOWED_ORIGINS)`;
}
