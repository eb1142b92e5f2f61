/**
 * The one module that touches the CEL library (authorization rules, rate-limit conditions and
 * descriptors). Both halves use it: translate() to refuse expressions that do not compile (reported
 * in policy status), the proxy to evaluate them per request.
 *
 * @marcbachmann/cel-js over @bufbuild/cel. On the expressions policies are written in (claims,
 * `in` on lists, `exists`, `has`, string functions, header maps, numbers from JSON) both give the
 * same answers, and the same error for a missing field. cel-js evaluates them 5-11× faster and
 * compiles 20-65× faster (one run, 1,000,000 evaluations each: 150-620 ns against 1.6-4.7 µs per
 * rule), and list filtering runs every rule once per tool on each list. It also type-checks, so a
 * misspelt function or a misused macro is refused here, in policy status, rather than failing on
 * every request. @bufbuild/cel passes more of the cel-spec conformance suite (99% against 89% of
 * the cases that need no protobuf): the gap is bytes, uint, timestamp conversions, int64 range
 * errors and literals that mix int and double, none of which JSON claims produce, and regular
 * expressions, which `matches` below makes safe.
 */
import { setFlagsFromString } from 'node:v8';
import { TypeError as CelTypeError, Environment, EvaluationError, ParseError } from '@marcbachmann/cel-js';

export type CelResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: string };

export interface CelProgram {
  readonly source: string;
  /** Never throws: a failed evaluation (missing field, type error, stack exhausted) is a result. */
  evaluate(vars: Readonly<Record<string, unknown>>): CelResult;
}

export type Compiled =
  | { readonly ok: true; readonly program: CelProgram }
  | { readonly ok: false; readonly error: string };

/** Longer expressions are refused: rules are written by people, and compiling is linear in size. */
export const MAX_CEL_BYTES = 8 * 1024;
/** Entries of cachedCel's cache: far more distinct expressions than a cluster's policies hold. */
export const MAX_CACHED_CEL = 4_096;
/** Error strings are logged and shown in policy status, and may quote the caller's data. */
const MAX_ERROR_CHARS = 300;

/**
 * Variables are untyped JSON (claims, headers, tool arguments), and maps may mix value types as
 * agentgateway's own examples do (`{"unit": "minute", "requestsPerUnit": 5}`). The structural
 * limits bound what one expression may build and how deep the parser and evaluator recurse.
 */
const env = new Environment({
  unlistedVariablesAreDyn: true,
  homogeneousAggregateLiterals: false,
  limits: {
    maxAstNodes: 2_000,
    maxDepth: 64,
    maxListElements: 1_000,
    maxMapEntries: 1_000,
    maxCallArguments: 32,
  },
});

/**
 * `matches` runs a JavaScript RegExp, which backtracks: `^(a+)+$` against 29 characters of a claim
 * blocks the event loop for seconds. CEL means RE2, which runs in linear time. V8 has a linear
 * engine: these flags let a pattern that backtracks too much fall back to it, and let us ask
 * whether a pattern can run there (`l`), refusing at compile time those that cannot
 * (backreferences, lookaround: RE2 has neither). Where the flags do not take, `matches` is refused.
 */
const LINEAR_REGEXP = (() => {
  try {
    setFlagsFromString(
      '--enable-experimental-regexp-engine --enable-experimental-regexp-engine-on-excessive-backtracks',
    );
    // biome-ignore lint/complexity/useRegexLiterals: a /a/l literal would not even parse without the flag.
    new RegExp('a', 'l');
    return true;
  } catch {
    return false;
  }
})();

function clip(text: string): string {
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}…` : text;
}

function describe(error: unknown): string {
  if (error instanceof ParseError || error instanceof CelTypeError || error instanceof EvaluationError) {
    // The message adds a source excerpt on further lines; the summary and a column say enough.
    const at = error.range ? ` at column ${error.range.start + 1}` : '';
    return clip(`${error.summary}${at}`);
  }
  if (error instanceof RangeError && /call stack/i.test(error.message)) return 'nested too deeply';
  const text = error instanceof Error ? error.message : String(error);
  return clip(text.split('\n')[0] ?? text);
}

interface Node {
  readonly op: string;
  readonly args: unknown;
}

function isNode(x: unknown): x is Node {
  return typeof x === 'object' && x !== null && 'op' in x && 'args' in x;
}

/** Why a `matches` call's pattern may not run, or undefined when it is a linear-time literal. */
function badPattern(op: string, args: readonly unknown[]): string | undefined {
  if (!LINEAR_REGEXP) return 'matches() is unavailable: this runtime has no linear-time regular expressions';
  // rcall: [name, receiver, [pattern]]; call: [name, [text, pattern]].
  const params: unknown = op === 'rcall' ? args[2] : args[1];
  const pattern: unknown = Array.isArray(params) ? params[params.length - 1] : undefined;
  if (!isNode(pattern) || pattern.op !== 'value' || typeof pattern.args !== 'string') {
    return "matches() takes a string literal pattern (a pattern from the request's data could hang the proxy)";
  }
  try {
    new RegExp(pattern.args, 'l');
    return undefined;
  } catch {
    return clip(
      `matches() pattern ${JSON.stringify(pattern.args)} is invalid or cannot run in linear time (no backreferences or lookaround)`,
    );
  }
}

/**
 * What the library would run without bound, found in the parsed tree: `matches` (above), and
 * `cel.bind`, whose variable can double a list at each nesting (`cel.bind(b, a + a, …)`): 26 levels
 * of it over a 4-element claim ask V8 for more than it can give, which aborts the process.
 */
function unbounded(root: unknown): string | undefined {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const x = stack.pop();
    if (Array.isArray(x)) {
      stack.push(...x);
      continue;
    }
    if (!isNode(x)) continue;
    stack.push(x.args);
    if ((x.op !== 'rcall' && x.op !== 'call') || !Array.isArray(x.args)) continue;
    const name: unknown = x.args[0];
    if (name === 'matches') {
      const bad = badPattern(x.op, x.args);
      if (bad) return bad;
    }
    if (name === 'bind' || name === 'cel.bind') return 'cel.bind() is not supported';
  }
  return undefined;
}

/** Parse and type-check an expression; never throws. */
export function compileCel(source: string): Compiled {
  if (typeof source !== 'string') return { ok: false, error: 'the expression is not a string' };
  // UTF-8 is never shorter than UTF-16 code units, so a long string is refused before it is measured.
  if (source.length > MAX_CEL_BYTES || Buffer.byteLength(source, 'utf8') > MAX_CEL_BYTES) {
    return { ok: false, error: `the expression is longer than ${MAX_CEL_BYTES} bytes` };
  }
  let run: ReturnType<typeof env.parse>;
  try {
    run = env.parse(source);
    const refused = unbounded(run.ast);
    if (refused) return { ok: false, error: refused };
    // Variables are dyn, so this finds what no input could make right: unknown functions, a macro
    // with the wrong arguments, `1 + "a"`. It also lets evaluation skip its own checking.
    const checked = run.check();
    if (!checked.valid) return { ok: false, error: describe(checked.error) };
  } catch (error) {
    return { ok: false, error: describe(error) };
  }
  return {
    ok: true,
    program: {
      source,
      evaluate(vars) {
        try {
          return { ok: true, value: run(vars) };
        } catch (error) {
          return { ok: false, error: describe(error) };
        }
      },
    },
  };
}

const cache = new Map<string, Compiled>();

/** compileCel with a bounded cache: each routing table compiles its rules again, mostly the same ones. */
export function cachedCel(source: string): Compiled {
  const hit = cache.get(source);
  if (hit) return hit;
  const compiled = compileCel(source);
  // Oldest out: a table's expressions are looked up together, so they are evicted together.
  if (cache.size >= MAX_CACHED_CEL) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(source, compiled);
  return compiled;
}

/** Entries in cachedCel's cache (for tests). */
export function celCacheSize(): number {
  return cache.size;
}

/** A rule's verdict: true only when the expression evaluates to boolean true (an error is false). */
export function celTrue(
  program: CelProgram,
  vars: Readonly<Record<string, unknown>>,
): { value: boolean; error?: string } {
  const result = program.evaluate(vars);
  if (!result.ok) return { value: false, error: result.error };
  if (result.value === true || result.value === false) return { value: result.value };
  return { value: false, error: `the rule gave ${kind(result.value)}, not a bool` };
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return 'an int';
  if (typeof value === 'number') return 'a double';
  if (typeof value === 'string') return 'a string';
  if (Array.isArray(value)) return 'a list';
  return 'a map or another non-bool value';
}
