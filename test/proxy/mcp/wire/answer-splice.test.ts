import { describe, expect, it } from 'vitest';
import { spliceAnswer } from '../../../../src/proxy/mcp/wire/answer-splice.js';
import { Rng } from '../../../fuzz/prng.js';

const HOP = 'mcplane-42';
const bytes = (text: string) => Buffer.from(text, 'utf8');
const spliced = (text: string, clientId: string | number = 7, cacheable = false) => {
  const out = spliceAnswer(bytes(text), HOP, clientId, cacheable);
  return out === undefined ? undefined : (JSON.parse(Buffer.concat(out).toString('utf8')) as unknown);
};

describe('spliceAnswer', () => {
  it("puts the client's id back and resultType in, in both layouts servers write", () => {
    const expected = {
      jsonrpc: '2.0',
      id: 7,
      result: { content: [{ type: 'text', text: 'hi' }], resultType: 'complete' },
    };
    expect(
      spliced(`{"result":{"content":[{"type":"text","text":"hi"}]},"jsonrpc":"2.0","id":"${HOP}"}`),
    ).toEqual(expected);
    expect(
      spliced(`{"jsonrpc":"2.0","id":"${HOP}","result":{"content":[{"type":"text","text":"hi"}]}}\n`),
    ).toEqual(expected);
  });

  it('adds ttlMs and cacheScope to a cacheable result, and handles an empty result', () => {
    expect(spliced(`{"result":{},"jsonrpc":"2.0","id":"${HOP}"}`, 'a', true)).toEqual({
      jsonrpc: '2.0',
      id: 'a',
      result: { resultType: 'complete', ttlMs: 0, cacheScope: 'private' },
    });
  });

  it('writes any client id as JSON (a string with quotes and non-ASCII text)', () => {
    const id = 'é "quoted" \u2028 ✓';
    expect(spliced(`{"result":{"a":1},"jsonrpc":"2.0","id":"${HOP}"}`, id)).toEqual({
      jsonrpc: '2.0',
      id,
      result: { a: 1, resultType: 'complete' },
    });
  });

  it('leaves to the parse what it cannot splice for sure', () => {
    const cases = [
      // Another request's answer, or an id that only ends like the hop's.
      `{"result":{},"jsonrpc":"2.0","id":"mcplane-4"}`,
      `{"result":{},"jsonrpc":"2.0","id":"x${HOP}"}`,
      // The hop's id inside the result, not the answer's.
      `{"result":{"id":"${HOP}"},"jsonrpc":"2.0","id":1}`,
      `{"jsonrpc":"2.0","id":1,"result":{"x":{"id":"${HOP}"}}}`,
      // Errors, other layouts and spacing.
      `{"error":{"code":1,"message":"x"},"jsonrpc":"2.0","id":"${HOP}"}`,
      `{"jsonrpc":"2.0","result":{},"id":"${HOP}"}`,
      `{ "result": {}, "jsonrpc": "2.0", "id": "${HOP}" }`,
      `{"result":[],"jsonrpc":"2.0","id":"${HOP}"}`,
      // Fields the splice would add, spelled plainly or with an escape.
      `{"result":{"resultType":"input_required"},"jsonrpc":"2.0","id":"${HOP}"}`,
      `{"result":{"result\\u0054ype":"input_required"},"jsonrpc":"2.0","id":"${HOP}"}`,
      // Too short to hold both ends.
      `{"result":{`,
      '',
    ];
    for (const text of cases) expect(spliceAnswer(bytes(text), HOP, 7, false), text).toBeUndefined();
    const cached = `{"result":{"ttlMs":5},"jsonrpc":"2.0","id":"${HOP}"}`;
    expect(spliceAnswer(bytes(cached), HOP, 7, true)).toBeUndefined();
    expect(spliced(cached)).toEqual({ jsonrpc: '2.0', id: 7, result: { ttlMs: 5, resultType: 'complete' } });
  });

  it('agrees with parsing and rewriting on generated results', () => {
    const rng = new Rng(2026);
    const value = (depth: number): unknown => {
      const kind = rng.int(0, depth > 3 ? 3 : 6);
      if (kind === 0) return rng.int(-1000, 1000);
      if (kind === 1) return rng.chance(0.5);
      if (kind === 2) return null;
      if (kind === 3) return word();
      if (kind === 4) return Array.from({ length: rng.int(0, 4) }, () => value(depth + 1));
      return object(depth + 1);
    };
    const word = () =>
      rng.pick(['id', HOP, `"id":"${HOP}"}`, ',"id":', '\\', '}', '{"result":{', 'é✓', 'text', '']);
    const object = (depth: number) =>
      Object.fromEntries(Array.from({ length: rng.int(0, 4) }, () => [word(), value(depth)]));
    let fast = 0;
    for (let i = 0; i < 2000; i++) {
      const result = object(0);
      const layout = rng.chance(0.5)
        ? { result, jsonrpc: '2.0', id: HOP }
        : { jsonrpc: '2.0', id: HOP, result };
      const cacheable = rng.chance(0.3);
      const out = spliceAnswer(bytes(JSON.stringify(layout)), HOP, i, cacheable);
      if (out === undefined) continue;
      fast += 1;
      const extra = cacheable ? { ttlMs: 0, cacheScope: 'private' } : {};
      expect(JSON.parse(Buffer.concat(out).toString('utf8'))).toEqual({
        jsonrpc: '2.0',
        id: i,
        result: { ...result, resultType: 'complete', ...extra },
      });
    }
    // Most generated answers take the splice (those with a `\` in a key or value do not).
    expect(fast).toBeGreaterThan(500);
  });
});
