/** The URL in RFC 9728 metadata and challenges: forwarded headers count only from trusted proxies. */
import { describe, expect, it } from 'vitest';
import { publicOrigin, TrustedProxies } from '../../../src/proxy/policy/forwarded.js';

const request = (headers: Record<string, string>) => new Request('http://internal:8080/mcp', { headers });

describe('publicOrigin', () => {
  const proxies = new TrustedProxies(['10.0.0.0/8', '::1']);
  const forwarded = {
    host: 'internal:8080',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'mcp.example.com',
  };

  it('believes X-Forwarded-Proto and -Host from a trusted proxy (IPv4-mapped too)', () => {
    expect(publicOrigin(request(forwarded), '10.1.2.3', proxies)).toBe('https://mcp.example.com');
    expect(publicOrigin(request(forwarded), '::ffff:10.1.2.3', proxies)).toBe('https://mcp.example.com');
    expect(publicOrigin(request(forwarded), '::1', proxies)).toBe('https://mcp.example.com');
  });

  it('ignores them from anyone else, and with no proxies configured', () => {
    expect(publicOrigin(request(forwarded), '192.168.0.9', proxies)).toBe('http://internal:8080');
    expect(publicOrigin(request(forwarded), '10.1.2.3', new TrustedProxies([]))).toBe('http://internal:8080');
  });

  it('never writes a Host that is not a host name into a header', () => {
    const hostile = { host: 'evil" , resource_metadata="https://evil.example' };
    expect(publicOrigin(request(hostile), '192.168.0.9', proxies)).toBe('http://localhost');
  });
});
