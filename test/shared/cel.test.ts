/**
 * The CEL module as authorization rules use it: variables are plain objects parsed from JSON, a rule
 * holds only when it gives boolean true, and nothing a caller sends can make it throw or hang.
 */
import { describe, expect, it } from 'vitest';
import {
  type CelProgram,
  cachedCel,
  celCacheSize,
  celTrue,
  compileCel,
  MAX_CACHED_CEL,
  MAX_CEL_BYTES,
} from '../../src/shared/cel.js';

const VARS = JSON.parse(
  JSON.stringify({
    jwt: {
      sub: 'alice',
      groups: ['admins', 'eng-platform'],
      email: 'alice@example.com',
      exp: 1893456000,
      level: 2,
      ratio: 2.5,
      empty: [],
      nothing: null,
    },
    mcp: { tool: { name: 'search', target: 'docs', arguments: { limit: 50, query: 'cel' } } },
    request: { headers: { 'x-team': 'a', authorization: 'Bearer t' }, method: 'POST' },
    source: { address: '10.1.2.3', port: 5555 },
  }),
) as Record<string, unknown>;

function program(source: string): CelProgram {
  const compiled = compileCel(source);
  if (!compiled.ok) throw new Error(`${source}: ${compiled.error}`);
  return compiled.program;
}

function rule(source: string, vars: Readonly<Record<string, unknown>> = VARS): boolean {
  return celTrue(program(source), vars).value;
}

function compileError(source: string): string {
  const compiled = compileCel(source);
  if (compiled.ok) throw new Error(`${source} compiled`);
  return compiled.error;
}

describe('the expressions policies are written in', () => {
  it.each([
    'jwt.sub == "alice"',
    '"admins" in jwt.groups',
    'jwt.groups.exists(g, g.startsWith("eng-"))',
    'has(jwt.email) && jwt.email.endsWith("@example.com")',
    'mcp.tool.name == "search" && mcp.tool.target == "docs"',
    'request.headers["x-team"] == "a"',
    'mcp.tool.arguments.limit < 100',
    'jwt.exp > 0',
    'source.address.startsWith("10.")',
    '"x-team" in request.headers',
    'jwt.sub in ["alice", "bob"]',
    'jwt.groups.all(g, g.size() > 0)',
    'jwt.email.matches("^[a-z]+@example\\\\.com$")',
  ])('%s holds', (source) => {
    expect(rule(source)).toBe(true);
  });

  it.each([
    'jwt.sub == "bob"',
    '"root" in jwt.groups',
    'jwt.groups.exists(g, g.startsWith("ops-"))',
    'mcp.tool.arguments.limit < 10',
    'source.address.startsWith("192.168.")',
    // `in` on a map asks about keys: a value is not found.
    '"admins" in jwt',
  ])('%s does not', (source) => {
    expect(celTrue(program(source), VARS)).toEqual({ value: false });
  });

  it('an empty claim list: exists is false, all is true', () => {
    expect(rule('jwt.empty.exists(g, g == "admins")')).toBe(false);
    expect(rule('jwt.empty.all(g, g == "admins")')).toBe(true);
  });
});

describe('a missing field', () => {
  it('is an error, which a rule reads as false', () => {
    const missing = program('jwt.missing == "x"');
    const result = missing.evaluate(VARS);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain('No such key: missing');
    expect(celTrue(missing, VARS)).toEqual({ value: false, error: expect.stringContaining('missing') });
  });

  it('as does a missing header, or a field under a missing one', () => {
    expect(celTrue(program('request.headers["x-none"] == "a"'), VARS).value).toBe(false);
    expect(celTrue(program('jwt.nope.deeper == 1'), VARS).error).toContain('nope');
  });

  it('has() guards it, and an error is absorbed by || and && where the other side decides', () => {
    expect(rule('has(jwt.missing)')).toBe(false);
    expect(rule('!has(jwt.missing) || jwt.missing == "x"')).toBe(true);
    expect(rule('jwt.missing == "x" || true')).toBe(true);
    expect(rule('jwt.missing == "x" && false')).toBe(false);
    // A key that is present with null is there (a map, as JSON objects are).
    expect(rule('has(jwt.nothing) && jwt.nothing == null')).toBe(true);
  });

  it('does not reach the prototype', () => {
    expect(celTrue(program('has(jwt.toString)'), VARS).value).toBe(false);
    expect(celTrue(program('jwt.constructor == 1'), VARS).error).toContain('constructor');
    expect(rule('"toString" in jwt')).toBe(false);
  });
});

describe('numbers from JSON', () => {
  it('are doubles that compare with int literals', () => {
    expect(rule('jwt.level >= 2')).toBe(true);
    expect(rule('jwt.level == 2')).toBe(true);
    expect(rule('jwt.level == 2.0')).toBe(true);
    expect(rule('jwt.level != 3')).toBe(true);
    expect(rule('jwt.level in [1, 2, 3]')).toBe(true);
    expect(rule('jwt.ratio > 2')).toBe(true);
    expect(rule('type(jwt.level) == double')).toBe(true);
  });

  it('need int() or a double literal for arithmetic with an int', () => {
    const mixed = program('jwt.level + 1 == 3').evaluate(VARS);
    expect(mixed.ok).toBe(false);
    if (!mixed.ok) expect(mixed.error).toContain('no such overload');
    expect(rule('int(jwt.level) + 1 == 3')).toBe(true);
    expect(rule('jwt.level + 1.0 == 3.0')).toBe(true);
  });

  it('CEL ints come back as bigint', () => {
    expect(program('size(jwt.groups)').evaluate(VARS)).toEqual({ ok: true, value: 2n });
    expect(program('mcp.tool.arguments.limit').evaluate(VARS)).toEqual({ ok: true, value: 50 });
  });
});

describe('compile errors', () => {
  it('name the problem and where it is', () => {
    expect(compileError('jwt.sub ==')).toBe('Unexpected token: EOF at column 11');
    expect(compileError('jwt.sub == "alice')).toContain('Unterminated string');
    expect(compileError('jwt..sub')).toContain('Expected IDENTIFIER');
  });

  it('include what no input could make right', () => {
    expect(compileError('1 + "a"')).toContain('no such overload: int + string');
    expect(compileError('jwt.email.endswith("x")')).toContain("'dyn.endswith(string)'");
    expect(compileError('jwt.groups.exists(g)')).toContain('exists');
  });

  it('are one line, and bounded where they quote the caller', () => {
    expect(compileError('jwt.sub == 1 +')).not.toContain('\n');
    const quoted = program('jwt[request.headers.k] == 1').evaluate({
      jwt: {},
      request: { headers: { k: 'z'.repeat(5_000) } },
    });
    expect(quoted).toEqual({ ok: false, error: expect.stringMatching(/^No such key: z+…$/) });
    if (!quoted.ok) expect(quoted.error.length).toBe(301);
  });

  it('refuse what is not a string', () => {
    expect(compileCel(42 as unknown as string)).toEqual({
      ok: false,
      error: 'the expression is not a string',
    });
  });
});

describe('bounds', () => {
  it(`expressions up to ${MAX_CEL_BYTES} bytes compile, longer ones are refused`, () => {
    expect(compileCel(`"${'a'.repeat(MAX_CEL_BYTES - 2)}"`).ok).toBe(true);
    expect(compileError(`"${'a'.repeat(MAX_CEL_BYTES - 1)}"`)).toBe(
      `the expression is longer than ${MAX_CEL_BYTES} bytes`,
    );
    // Counted in UTF-8: 4,096 two-byte characters do not fit between two quotes.
    expect(compileError(`"${'é'.repeat(MAX_CEL_BYTES / 2)}"`)).toContain('longer than');
    expect(compileError('x'.repeat(10_000_000))).toContain('longer than');
  });

  it('deep nesting is a compile error, not a stack overflow', () => {
    expect(compileError(`${'('.repeat(3000)}1${')'.repeat(3000)}`)).toContain('maxDepth');
    expect(compileError(`${'!'.repeat(5000)}true`)).toContain('maxAstNodes');
    expect(compileError('['.repeat(8000))).toContain('maxDepth');
  });

  it(`the cache keeps at most ${MAX_CACHED_CEL} expressions, the oldest out`, () => {
    const first = cachedCel('jwt.sub == "cache-0"');
    expect(cachedCel('jwt.sub == "cache-0"')).toBe(first);
    for (let i = 1; i <= MAX_CACHED_CEL + 10; i++) cachedCel(`jwt.sub == "cache-${i}"`);
    expect(celCacheSize()).toBe(MAX_CACHED_CEL);
    const last = cachedCel(`jwt.sub == "cache-${MAX_CACHED_CEL + 10}"`);
    expect(cachedCel(`jwt.sub == "cache-${MAX_CACHED_CEL + 10}"`)).toBe(last);
    expect(cachedCel('jwt.sub == "cache-0"')).not.toBe(first);
    expect(celCacheSize()).toBe(MAX_CACHED_CEL);
  });

  it('the cache keeps failures too, so a bad rule is not compiled again per table', () => {
    const bad = cachedCel('jwt.sub ==');
    expect(bad.ok).toBe(false);
    expect(cachedCel('jwt.sub ==')).toBe(bad);
  });
});

describe('regular expressions', () => {
  it('a backtracking pattern against a hostile claim answers in linear time', () => {
    const evil = program('jwt.sub.matches("^(a+)+$")');
    const started = performance.now();
    for (const n of [28, 5_000, 200_000]) {
      expect(celTrue(evil, { jwt: { sub: `${'a'.repeat(n)}!` } })).toEqual({ value: false });
    }
    expect(celTrue(evil, { jwt: { sub: 'aaaa' } })).toEqual({ value: true });
    // Backtracking, 28 characters alone take seconds.
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('only literal patterns that run in linear time compile', () => {
    expect(compileError('jwt.sub.matches(request.headers["x-team"])')).toContain('string literal');
    expect(compileError('jwt.sub.matches("^(a)\\\\1$")')).toContain('linear time');
    expect(compileError('jwt.sub.matches("(?=a)a")')).toContain('linear time');
    expect(compileError('jwt.sub.matches("[")')).toContain('invalid');
    expect(compileError('jwt.groups.exists(g, g.matches("^(" + jwt.sub + ")+$"))')).toContain('literal');
  });

  it('cel.bind, which can double a list per level until V8 aborts, is refused', () => {
    expect(compileError('cel.bind(x, jwt.groups + jwt.groups, size(x) > 0)')).toContain('cel.bind');
  });
});

describe('evaluation never throws', () => {
  it('on deeply nested or cyclic data', () => {
    const deep: Record<string, unknown> = {};
    let cursor = deep;
    for (let i = 0; i < 100_000; i++) {
      const next: Record<string, unknown> = {};
      cursor.a = next;
      cursor = next;
    }
    const deep2 = structuredClone({ a: { a: 1 } });
    const same = program('jwt.deep == jwt.other');
    expect(() => same.evaluate({ jwt: { deep, other: deep } })).not.toThrow();
    expect(celTrue(same, { jwt: { deep, other: deep2 } }).value).toBe(false);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const other: Record<string, unknown> = { a: 1 };
    other.self = other;
    expect(celTrue(program('jwt.deep == jwt.other'), { jwt: { deep: cyclic, other } }).value).toBe(false);
  });

  it('on huge strings', () => {
    const huge = 'x'.repeat(50_000_000);
    expect(rule('jwt.sub.contains("y")', { jwt: { sub: huge } })).toBe(false);
    expect(rule('jwt.sub.matches("y$")', { jwt: { sub: huge } })).toBe(false);
    const doubled = program('size(jwt.sub + jwt.sub + jwt.sub + jwt.sub + jwt.sub) > 0').evaluate({
      jwt: { sub: 'x'.repeat(200_000_000) },
    });
    expect(doubled.ok).toBe(false);
  });

  it('on values JSON does not make, and on variables that throw', () => {
    const throwing = {
      get sub(): string {
        throw new Error('boom');
      },
    };
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
        has() {
          throw new Error('trap');
        },
      },
    );
    const inputs: Record<string, unknown>[] = [
      { jwt: throwing },
      { jwt: hostile },
      hostile as Record<string, unknown>,
      { jwt: { sub: () => 'alice' } },
      { jwt: { sub: Symbol('alice') } },
      { jwt: { sub: undefined } },
      { jwt: { sub: Number.NaN } },
      {},
      null as unknown as Record<string, unknown>,
    ];
    for (const vars of inputs) {
      const verdict = celTrue(program('jwt.sub == "alice"'), vars);
      expect(verdict.value).toBe(false);
    }
  });

  it('and celTrue holds only for boolean true', () => {
    for (const source of [
      'jwt.sub',
      'jwt.level',
      'size(jwt.groups)',
      'jwt.groups',
      'jwt',
      'jwt.nothing',
      '"true"',
      '1',
    ]) {
      const verdict = celTrue(program(source), VARS);
      expect(verdict.value).toBe(false);
      expect(verdict.error).toContain('not a bool');
    }
    expect(celTrue(program('true'), VARS)).toEqual({ value: true });
    expect(celTrue(program('false'), VARS)).toEqual({ value: false });
  });
});
