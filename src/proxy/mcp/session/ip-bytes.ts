/**
 * IP addresses as 4 or 16 bytes for the sealed payload, only when the bytes spell the address back
 * exactly (the pin is compared as text with the table's endpoints): `10.0.0.7` and `fd00::7` do,
 * `010.0.0.7` or `FD00::7` stay text.
 */
import { isIPv4, isIPv6 } from 'node:net';

export function ipv4Bytes(address: string): Buffer | undefined {
  if (!isIPv4(address)) return undefined;
  const bytes = Buffer.from(address.split('.').map(Number));
  return ipv4Text(bytes) === address ? bytes : undefined;
}

export function ipv4Text(bytes: Uint8Array): string {
  return Array.from(bytes).join('.');
}

export function ipv6Bytes(address: string): Buffer | undefined {
  if (!isIPv6(address) || address.includes('.') || address.includes('%')) return undefined;
  const [head = '', tail] = address.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const front = groups(head);
  const back = tail === undefined ? [] : groups(tail);
  const zeros = tail === undefined ? 0 : 8 - front.length - back.length;
  const all = [...front, ...Array<string>(zeros).fill('0'), ...back];
  if (all.length !== 8) return undefined;
  const bytes = Buffer.alloc(16);
  for (const [index, group] of all.entries()) bytes.writeUInt16BE(Number.parseInt(group, 16), index * 2);
  return ipv6Text(bytes) === address ? bytes : undefined;
}

/** RFC 5952 text (what the WHATWG URL serializer writes): lower case, the longest zero run as `::`. */
export function ipv6Text(bytes: Uint8Array): string {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, 16);
  const full = Array.from({ length: 8 }, (_, i) => view.readUInt16BE(i * 2).toString(16)).join(':');
  return new URL(`http://[${full}]/`).hostname.slice(1, -1);
}
