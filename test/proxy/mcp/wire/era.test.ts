/** Which era a request is, and the 2026-07-28 header checks (SEP-2243), as pure functions. */
import { describe, expect, it } from 'vitest';
import { decodeHeaderValue, headerMismatch, isModernVersion } from '../../../../src/proxy/mcp/wire/era.js';
import { JsonRpcCode } from '../../../../src/proxy/mcp/wire/errors.js';

const meta = (version: string) => ({ _meta: { 'io.modelcontextprotocol/protocolVersion': version } });

describe('isModernVersion', () => {
  it('is true for 2026+ dates only', () => {
    expect(isModernVersion('2026-07-28')).toBe(true);
    expect(isModernVersion('2027-03-30')).toBe(true);
    expect(isModernVersion('2025-11-25')).toBe(false);
    expect(isModernVersion(null)).toBe(false);
    expect(isModernVersion('2026-07-28; drop table')).toBe(false);
  });
});

describe('decodeHeaderValue', () => {
  it('reads plain values and the Base64 sentinel form, and refuses broken Base64 or UTF-8', () => {
    expect(decodeHeaderValue('echo')).toBe('echo');
    const b64 = Buffer.from('überprüfen', 'utf8').toString('base64');
    expect(decodeHeaderValue(`=?base64?${b64}?=`)).toBe('überprüfen');
    expect(decodeHeaderValue('=?base64?/w==?=')).toBeUndefined(); // 0xff is not UTF-8
  });
});

describe('headerMismatch', () => {
  const headers = (h: Record<string, string>) => new Headers({ 'mcp-protocol-version': '2026-07-28', ...h });

  it('refuses a body without its _meta version as Invalid params (-32602): malformed, not in disagreement', () => {
    const found = headerMismatch(headers({ 'mcp-method': 'server/discover' }), {
      method: 'server/discover',
      params: {},
    });
    expect(found?.code).toBe(JsonRpcCode.InvalidParams);
  });

  it('refuses an Mcp-Param header whose Base64 sentinel form is not valid', () => {
    const call = { method: 'tools/call', params: { name: 'echo', ...meta('2026-07-28') } };
    const sent = { 'mcp-method': 'tools/call', 'mcp-name': 'echo', 'mcp-param-region': '=?base64?SGVsbG8?=' };
    expect(headerMismatch(headers(sent), call)?.code).toBe(JsonRpcCode.HeaderMismatch);
    const fine = { ...sent, 'mcp-param-region': '=?base64?SGVsbG8=?=' };
    expect(headerMismatch(headers(fine), call)).toBeUndefined();
  });

  it('accepts headers that agree with the body', () => {
    const call = { method: 'tools/call', params: { name: 'echo', ...meta('2026-07-28') } };
    expect(headerMismatch(headers({ 'mcp-method': 'tools/call', 'mcp-name': 'echo' }), call)).toBeUndefined();
    const read = { method: 'resources/read', params: { uri: 'memo://a', ...meta('2026-07-28') } };
    expect(
      headerMismatch(headers({ 'mcp-method': 'resources/read', 'mcp-name': 'memo://a' }), read),
    ).toBeUndefined();
  });

  it.each([
    [
      'a _meta version that differs',
      { method: 'server/discover', params: meta('2027-03-30') },
      { 'mcp-method': 'server/discover' },
    ],
    ['a missing Mcp-Method', { method: 'server/discover', params: meta('2026-07-28') }, {}],
    [
      'an Mcp-Method that differs',
      { method: 'server/discover', params: meta('2026-07-28') },
      { 'mcp-method': 'tools/list' },
    ],
    [
      'a missing Mcp-Name',
      { method: 'tools/call', params: { name: 'echo', ...meta('2026-07-28') } },
      { 'mcp-method': 'tools/call' },
    ],
    [
      'an Mcp-Name that differs',
      { method: 'tools/call', params: { name: 'echo', ...meta('2026-07-28') } },
      { 'mcp-method': 'tools/call', 'mcp-name': 'add' },
    ],
  ])('refuses %s with -32020', (_what, message, extra) => {
    const found = headerMismatch(headers(extra as Record<string, string>), message);
    expect(found?.code).toBe(JsonRpcCode.HeaderMismatch);
    expect(found?.message).toMatch(/^Header mismatch: /);
  });
});
