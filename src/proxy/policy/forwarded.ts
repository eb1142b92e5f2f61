/**
 * The URL a client used to reach a route, for RFC 9728 metadata and the 401 challenge. Behind a
 * proxy the client saw another scheme and host: `X-Forwarded-Proto` / `X-Forwarded-Host` are
 * believed only from addresses in --trusted-proxies, so a client cannot point a challenge elsewhere.
 */
import { BlockList, isIP } from 'node:net';
import type { HttpRequest } from '../mcp/wire/incoming.js';

export class TrustedProxies {
  readonly #list = new BlockList();
  readonly #any: boolean;

  /** Entries are addresses or CIDRs (`10.0.0.0/8`, `::1`); invalid ones are refused by the flag's schema. */
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [address, bits] = entry.split('/');
      const family = isIP(address ?? '') === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.#list.addAddress(address!, family);
      else this.#list.addSubnet(address!, Number(bits), family);
    }
    this.#any = entries.length > 0;
  }

  trusts(address: string): boolean {
    if (!this.#any || address === '') return false;
    const mapped = address.startsWith('::ffff:') ? address.slice(7) : address;
    return this.#list.check(mapped, isIP(mapped) === 6 ? 'ipv6' : 'ipv4');
  }
}

/** A CIDR or an address, as --trusted-proxies accepts it. */
export function isAddressOrCidr(entry: string): boolean {
  const [address, bits, extra] = entry.split('/');
  if (extra !== undefined || !address) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n <= (family === 6 ? 128 : 32);
}

const HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/** `scheme://host` of the request as its client sent it. */
export function publicOrigin(request: HttpRequest, remoteAddress: string, proxies: TrustedProxies): string {
  let scheme = 'http';
  let host = request.headers.get('host') ?? 'localhost';
  if (proxies.trusts(remoteAddress)) {
    const proto = request.headers.get('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
    if (proto === 'https' || proto === 'http') scheme = proto;
    const forwardedHost = request.headers.get('x-forwarded-host')?.split(',')[0]?.trim();
    if (forwardedHost) host = forwardedHost;
  }
  // A Host that is not a host name (spaces, quotes) must not reach a header we write.
  if (!HOST.test(host)) host = 'localhost';
  return `${scheme}://${host}`;
}
