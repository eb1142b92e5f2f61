/**
 * DNS-rebinding protection for listeners bound to loopback (the MCP spec asks local servers to
 * validate Origin). A page on evil.example that resolves its name to 127.0.0.1 reaches a loopback
 * port with `Host: evil.example` and a non-local Origin; a local client always sends a loopback Host.
 * So on a loopback listener the Host must be loopback, and an Origin, when sent, must be too.
 * Listeners on other addresses rely on Gateway/HTTPRoute hostnames instead.
 */
const LOOPBACK_HOST = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;

export function isLoopbackAddress(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^127\./.test(address);
}

function loopbackHostPort(value: string): boolean {
  const host = value.startsWith('[') ? value.slice(0, value.indexOf(']') + 1) : value.split(':')[0]!;
  return LOOPBACK_HOST.test(host.toLowerCase());
}

/** A reason to refuse the request, or undefined when it may pass. */
export function rebindingProblem(host: string | null, origin: string | null): string | undefined {
  if (!host || !loopbackHostPort(host)) return `Host "${host ?? ''}" is not a loopback name`;
  if (origin === null) return undefined;
  try {
    const url = new URL(origin);
    if ((url.protocol === 'http:' || url.protocol === 'https:') && loopbackHostPort(url.host))
      return undefined;
  } catch {
    // "null" and other opaque origins fall through
  }
  return `Origin "${origin}" is not a loopback origin`;
}
