/** Multiplexed naming, list and initialize merging, cursors, capability flags and versions. */
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../../../src/proxy/mcp/rewrite/cursor.js';
import { parseServerRequestId, serverRequestId } from '../../../../src/proxy/mcp/rewrite/ids.js';
import {
  capabilityFlags,
  LIST_SPECS,
  mergeInitialize,
  mergeList,
} from '../../../../src/proxy/mcp/rewrite/merge.js';
import {
  isTransparent,
  shouldPrefix,
  splitName,
  splitUri,
} from '../../../../src/proxy/mcp/rewrite/naming.js';
import { classify } from '../../../../src/proxy/mcp/wire/jsonrpc.js';
import { negotiateVersion } from '../../../../src/proxy/mcp/wire/protocol-version.js';

describe('naming and merging', () => {
  it('prefixes by mode and splits at the first delimiter', () => {
    expect(shouldPrefix('Conditional', 1)).toBe(false);
    expect(shouldPrefix('Conditional', 2)).toBe(true);
    expect(shouldPrefix('Always', 1)).toBe(true);
    expect(shouldPrefix('Never', 3)).toBe(false);
    expect(isTransparent('Never', 1)).toBe(true);
    expect(splitName('a_get_weather')).toEqual({ target: 'a', name: 'get_weather' });
    expect(splitUri('svc+svn+ssh://h/r')).toEqual({ target: 'svc', name: 'svn+ssh://h/r' });
    expect(splitName('_x')).toBeUndefined();
    expect(splitName('plain')).toBeUndefined();
  });

  it('merges initialize results', () => {
    const merged = mergeInitialize(
      [
        { target: 'a', result: { protocolVersion: '2025-11-25', capabilities: { tools: {}, logging: {} } } },
        {
          target: 'b',
          result: {
            protocolVersion: '2025-06-18',
            capabilities: { resources: { subscribe: true } },
            instructions: 'B',
          },
        },
      ],
      '2025-06-18',
    );
    expect(merged).toEqual({
      protocolVersion: '2025-06-18',
      capabilities: {
        tools: { listChanged: true },
        resources: { listChanged: true, subscribe: true },
        logging: {},
      },
      serverInfo: { name: 'mcplane', version: '0.1.0' },
      instructions: '[b]\nB',
    });
  });

  it('merges lists: prefixed, or unprefixed without ambiguous names', () => {
    const pages = [
      { target: 'a', result: { tools: [{ name: 'x' }, { name: 'y' }], nextCursor: 'c' } },
      { target: 'b', result: { tools: [{ name: 'y' }, { name: 'z' }] } },
    ];
    const spec = LIST_SPECS.get('tools/list')!;
    expect(mergeList(spec, pages, true).items.map((t) => t.name)).toEqual(['a_x', 'a_y', 'b_y', 'b_z']);
    const never = mergeList(spec, pages, false);
    expect(never.items.map((t) => t.name)).toEqual(['x', 'z']);
    expect([...never.owners]).toEqual([
      ['x', 'a'],
      ['z', 'b'],
    ]);
    expect(never.pending).toEqual([['a', 'c']]);
  });

  it('round-trips cursors and server request ids', () => {
    expect(
      decodeCursor(
        encodeCursor([
          ['a', 'c1'],
          ['b', ''],
        ])!,
      ),
    ).toEqual([
      ['a', 'c1'],
      ['b', ''],
    ]);
    expect(encodeCursor([])).toBeUndefined();
    expect(decodeCursor('%%%')).toBeUndefined();
    expect(parseServerRequestId(serverRequestId('a', 7))).toEqual({ target: 'a', id: 7 });
    expect(parseServerRequestId(serverRequestId('a', 'x/y'))).toEqual({ target: 'a', id: 'x/y' });
    expect(parseServerRequestId('7')).toBeUndefined();
  });

  it('classifies JSON-RPC envelopes', () => {
    expect(classify({ jsonrpc: '2.0', id: 1, method: 'm' })).toMatchObject({ kind: 'request' });
    expect(classify({ jsonrpc: '2.0', method: 'm' })).toMatchObject({ kind: 'notification' });
    expect(classify({ jsonrpc: '2.0', id: 1, result: {} })).toMatchObject({ kind: 'response' });
    expect(classify({ jsonrpc: '2.0', id: 1, result: {}, error: { code: 1 } })).toBeTypeOf('string');
    expect(classify({ jsonrpc: '2.0', id: {}, method: 'm' })).toBeTypeOf('string');
  });
});

describe('capabilities and versions', () => {
  it('flags task support and merges it', () => {
    const flags = capabilityFlags({ tasks: { list: {}, requests: { tools: { call: {} } } } });
    expect(flags).toBe('kjq');
    const merged = mergeInitialize(
      [
        { target: 'a', result: { capabilities: { tools: {}, tasks: { list: {} } } } },
        { target: 'b', result: { capabilities: { tasks: { cancel: {} } } } },
      ],
      '2025-11-25',
    );
    expect(merged.capabilities).toEqual({ tools: { listChanged: true }, tasks: { list: {}, cancel: {} } });
  });

  it('answers the client version when supported, else the newest', () => {
    expect(negotiateVersion('2025-03-26')).toBe('2025-03-26');
    expect(negotiateVersion('2024-11-05')).toBe('2024-11-05');
    expect(negotiateVersion('2099-01-01')).toBe('2025-11-25');
  });
});
