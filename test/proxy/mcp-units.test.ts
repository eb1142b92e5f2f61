/**
 * Pure parts of the data plane: SSE parsing, session sealing, naming, merging, cursors.
 */
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../src/proxy/mcp/cursor.js';
import { classify } from '../../src/proxy/mcp/jsonrpc.js';
import { KeyRing } from '../../src/proxy/mcp/key-ring.js';
import { LIST_SPECS, mergeInitialize, mergeList } from '../../src/proxy/mcp/merge.js';
import { isTransparent, shouldPrefix, splitName, splitUri } from '../../src/proxy/mcp/naming.js';
import { parseServerRequestId, serverRequestId } from '../../src/proxy/mcp/server-requests.js';
import { Session } from '../../src/proxy/mcp/session.js';
import { SessionStore } from '../../src/proxy/mcp/session-store.js';
import { SseEventTooLarge, SseParser } from '../../src/proxy/upstream/sse-parser.js';

describe('SseParser', () => {
  it('parses events split across chunks and line-ending styles', () => {
    const parser = new SseParser(1000);
    expect(parser.feed('event: message\nid: 1\nda')).toEqual([]);
    expect(parser.feed('ta: {"a":1}\n\n: comment\r\ndata: x\r\ndata: y\r')).toEqual([
      { event: 'message', data: '{"a":1}', id: '1' },
    ]);
    expect(parser.feed('\n\r\n')).toEqual([{ event: 'message', data: 'x\ny', id: '1' }]);
  });

  it('bounds one event', () => {
    const parser = new SseParser(10);
    expect(() => parser.feed(`data: ${'x'.repeat(20)}`)).toThrow(SseEventTooLarge);
  });
});

describe('KeyRing', () => {
  const ring = KeyRing.fromSpec(`a:${'ab'.repeat(32)}`);

  it('seals and opens; a flipped bit, a foreign key or garbage do not open', () => {
    const token = ring.seal('{"x":1}');
    expect(token).toMatch(/^a\.[A-Za-z0-9_-]+$/);
    expect(ring.open(token)).toBe('{"x":1}');
    const flipped = token.slice(0, -3) + (token.at(-3) === 'A' ? 'B' : 'A') + token.slice(-2);
    expect(ring.open(flipped)).toBeUndefined();
    expect(KeyRing.random().open(token)).toBeUndefined();
    expect(ring.open('garbage')).toBeUndefined();
    expect(ring.open('a.')).toBeUndefined();
  });

  it('rejects bad specs without echoing the key', () => {
    expect(() => KeyRing.fromSpec('')).toThrow(/empty/);
    expect(() => KeyRing.fromSpec('k:1234')).toThrow(/64 hex/);
    expect(() => KeyRing.fromSpec(`bad id:${'00'.repeat(32)}`)).toThrow(/key id/);
    expect(() => KeyRing.fromSpec(`k:${'00'.repeat(32)},k:${'11'.repeat(32)}`)).toThrow(/twice/);
    expect(() => KeyRing.fromSpec('k:zz')).not.toThrow(/zz/);
    expect(KeyRing.random().ephemeral).toBe(true);
  });
});

describe('sessions', () => {
  const ring = KeyRing.random();
  const target = {
    name: 'a',
    sessionId: 'up-1',
    endpoint: { address: '::1', port: 9 },
    protocolVersion: '2025-06-18',
    flags: 'tp',
  };

  it('round-trip through the sealed token', () => {
    const session = Session.create(ring, 'backend', '2025-06-18', { capabilities: {} }, [target]);
    const opened = Session.open(ring, session.token)!;
    expect(opened.backendId).toBe('backend');
    expect(opened.targets.get('a')).toEqual(target);
  });

  it('the store evicts the oldest idle session over capacity and after the idle TTL', () => {
    const evicted: string[] = [];
    const store = new SessionStore(ring, 1000, 2, (s, reason) =>
      evicted.push(`${s.clientParams.n}:${reason}`),
    );
    const make = (n: number) => Session.create(ring, 'b', 'v', { n }, []);
    const [one, two, three] = [make(1), make(2), make(3)];
    store.add(one);
    store.add(two);
    expect('session' in store.get(one.token, 'b')).toBe(true);
    store.add(three);
    expect(evicted).toEqual(['2:capacity']);
    store.sweep(performance.now() + 5000);
    expect(evicted).toEqual(['2:capacity', '1:idle', '3:idle']);
    // Evicted for capacity is not gone: the sealed token reopens it (another replica would too).
    expect('session' in store.get(two.token, 'b')).toBe(true);
    // Idle past the TTL: this process answers 404 from now on.
    expect(store.get(one.token, 'b')).toEqual({ missing: 'expired' });
    expect(store.get(two.token, 'other')).toEqual({ missing: 'other-backend' });
    const four = make(4);
    store.add(four);
    store.delete(four);
    expect(store.get(four.token, 'b')).toEqual({ missing: 'deleted' });
    store.close();
  });

  it('capacity eviction passes over sessions with a call in flight (their client is there)', () => {
    const evicted: string[] = [];
    const store = new SessionStore(ring, 60_000, 2, (s, reason) =>
      evicted.push(`${s.clientParams.n}:${reason}`),
    );
    const make = (n: number) => Session.create(ring, 'b', 'v', { n }, []);
    const [one, two, three] = [make(1), make(2), make(3)];
    store.add(one);
    store.add(two);
    one.requestIds.add(7); // a long tool call on the least recently used session
    store.add(three);
    expect(evicted).toEqual(['2:capacity']);
    expect(store.size).toBe(2);
    // When every older session is busy the cache runs over its cap rather than cut a client off.
    three.requestIds.add(1);
    store.add(make(4));
    expect(evicted).toEqual(['2:capacity']);
    expect(store.size).toBe(3);
    store.close();
  });
});

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
    const spec = LIST_SPECS['tools/list']!;
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

describe('upstream SSE reading', () => {
  it('skips SEP-1699 priming events (an id, empty data) and yields the messages after them', async () => {
    const { Readable } = await import('node:stream');
    const { sseMessages } = await import('../../src/proxy/upstream/read.js');
    const body = Readable.from([
      Buffer.from('id: 0\ndata: \n\n'),
      Buffer.from('event: message\nid: 1\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\n\n'),
    ]);
    const messages: unknown[] = [];
    for await (const message of sseMessages(body, 'everything')) messages.push(message);
    expect(messages).toEqual([{ jsonrpc: '2.0', id: 1, result: {} }]);
  });

  it('still rejects an event whose data is not JSON, naming the target', async () => {
    const { Readable } = await import('node:stream');
    const { sseMessages } = await import('../../src/proxy/upstream/read.js');
    const body = Readable.from([Buffer.from('data: {not json\n\n')]);
    await expect(async () => {
      for await (const _ of sseMessages(body, 'everything')) void _;
    }).rejects.toThrow('target "everything" sent a malformed SSE message');
  });
});
