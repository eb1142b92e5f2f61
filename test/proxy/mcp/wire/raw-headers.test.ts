import { describe, expect, it } from 'vitest';
import { paramHeaderEntries } from '../../../../src/proxy/mcp/wire/raw-headers.js';

const RAW = [
  'Host',
  '127.0.0.1',
  'Mcp-Param-Region',
  ' eu-west ',
  'content-type',
  'application/json',
  'MCP-PARAM-A',
  'one',
  'mcp-param-region',
  'us',
  'Mcp-Param',
  'not a param header',
];

describe('paramHeaderEntries', () => {
  it('from the raw list: what web Headers iteration gives (lower case, repeats joined, sorted)', () => {
    const web = new Headers();
    for (let i = 0; i < RAW.length; i += 2) web.append(RAW[i]!, RAW[i + 1]!);
    const expected = [...web].filter(([name]) => name.startsWith('mcp-param-'));
    expect(paramHeaderEntries(RAW)).toEqual(expected);
    expect(paramHeaderEntries(RAW)).toEqual([
      ['mcp-param-a', 'one'],
      ['mcp-param-region', 'eu-west, us'],
    ]);
  });

  it('none in the list: none found', () => {
    expect(paramHeaderEntries(['Host', 'h', 'Accept', '*/*'])).toEqual([]);
  });
});
