import { describe, expect, it } from 'vitest';
import { paramHeadersOf, paramHeaderValues } from '../../../../src/proxy/mcp/wire/param-headers.js';

const schema = {
  type: 'object',
  properties: {
    region: { type: 'string', 'x-mcp-header': 'Region' },
    priority: { type: 'integer', 'x-mcp-header': 'Priority' },
    verbose: { type: 'boolean', 'x-mcp-header': 'Verbose' },
    query: { type: 'string' },
    target: { type: 'object', properties: { zone: { type: 'string', 'x-mcp-header': 'Zone' } } },
  },
};

describe('Mcp-Param-* headers from x-mcp-header markers', () => {
  it('finds markers through properties, nested ones too, and mirrors the values the call has', () => {
    const markers = paramHeadersOf(schema);
    expect(markers?.map((m) => `${m.path.join('.')}→${m.header}`)).toEqual([
      'region→mcp-param-region',
      'priority→mcp-param-priority',
      'verbose→mcp-param-verbose',
      'target.zone→mcp-param-zone',
    ]);
    expect(
      paramHeaderValues(markers!, {
        region: 'us-west1',
        priority: 5,
        verbose: false,
        query: 'q',
        target: { zone: 'b' },
      }),
    ).toEqual({
      'mcp-param-region': 'us-west1',
      'mcp-param-priority': '5',
      'mcp-param-verbose': 'false',
      'mcp-param-zone': 'b',
    });
  });

  it('leaves out null and absent arguments and objects; Base64 for text a header cannot hold as it is', () => {
    const markers = paramHeadersOf(schema)!;
    expect(paramHeaderValues(markers, { region: null, verbose: undefined, target: 'flat' })).toBeUndefined();
    expect(paramHeaderValues(markers, { region: 'café' })).toEqual({
      'mcp-param-region': `=?base64?${Buffer.from('café').toString('base64')}?=`,
    });
    expect(paramHeaderValues(markers, { region: ' padded ' })).toEqual({
      'mcp-param-region': `=?base64?${Buffer.from(' padded ').toString('base64')}?=`,
    });
    expect(paramHeaderValues(markers, { region: 'line\r\nbreak' })?.['mcp-param-region']).toMatch(
      /^=\?base64\?/,
    );
  });

  it('a malformed marker makes the tool invalid: no headers rather than a guess', () => {
    const with_ = (property: Record<string, unknown>) =>
      paramHeadersOf({
        type: 'object',
        properties: { a: { type: 'string', 'x-mcp-header': 'A' }, b: property },
      });
    expect(with_({ type: 'string', 'x-mcp-header': 'My Region' })).toBeUndefined();
    expect(with_({ type: 'string', 'x-mcp-header': '' })).toBeUndefined();
    expect(with_({ type: 'object', 'x-mcp-header': 'B' })).toBeUndefined();
    expect(with_({ type: 'string', 'x-mcp-header': 'a' })).toBeUndefined();
    expect(with_({ type: 'string' })).toHaveLength(1);
    expect(paramHeadersOf(undefined)).toEqual([]);
  });

  it('stops at a bounded depth and count (a schema is a target’s bytes)', () => {
    let deep: Record<string, unknown> = { type: 'string', 'x-mcp-header': 'Deep' };
    for (let i = 0; i < 20; i++) deep = { type: 'object', properties: { n: deep } };
    expect(paramHeadersOf(deep)).toEqual([]);
    const many = Object.fromEntries(
      Array.from({ length: 65 }, (_, i) => [`p${i}`, { type: 'string', 'x-mcp-header': `P${i}` }]),
    );
    expect(paramHeadersOf({ type: 'object', properties: many })).toBeUndefined();
  });
});
