/**
 * Hostile requests for the MCP endpoint, drawn from a seeded Rng. Bodies are built as JSON text,
 * not JSON.stringify'd values, so that ids such as 9007199254740993, `-0` or escaped strings reach
 * the gateway exactly as written, and so that nesting deeper than this process could stringify can
 * be sent. Each case carries what the oracle needs to judge the answer (`expect`), set only where
 * everything but the part under test is valid: a bad header and a bad body in one request would
 * leave the answer's meaning open.
 */
import { NOTIFICATION_METHODS, REQUEST_METHODS } from '../../src/proxy/mcp/wire/methods.js';
import { PROTOTYPE_NAMES } from '../support/hostile.js';
import type { Rng } from './prng.js';

/** The gateway is started with this limit (`--max-body-bytes`). */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** The batch limit the hardened gateway enforces. */
export const MAX_BATCH = 32;

export type Backend = 'solo' | 'multi';
export const BACKENDS: readonly Backend[] = ['solo', 'multi'];
/** 2025-03-26 is the only revision with batches; 2025-06-18 refuses them. */
export type Version = '2025-03-26' | '2025-06-18';

export type SessionRef =
  | { readonly kind: 'none' }
  | { readonly kind: 'live'; readonly version: Version }
  /** A live id of the other backend. */
  | { readonly kind: 'foreign' }
  /** An id deleted in an earlier round. */
  | { readonly kind: 'deleted' }
  /** A live id respelled; `canonical` when HTTP's whitespace trimming restores it. */
  | {
      readonly kind: 'variant';
      readonly version: Version;
      readonly prefix: string;
      readonly suffix: string;
      readonly canonical: boolean;
    }
  | { readonly kind: 'literal'; readonly value: string };

/** One JSON-RPC message as the generator wrote it; `other` is not judged (its meaning is open). */
export interface Sent {
  readonly kind: 'request' | 'notification' | 'response' | 'invalid' | 'other';
  readonly method?: string;
  /** The id's JSON text, as sent. */
  readonly idText?: string;
}

export type Expect =
  | { readonly kind: 'message'; readonly sent: Sent }
  | { readonly kind: 'batch'; readonly items: readonly Sent[] }
  | { readonly kind: 'initialize'; readonly paramsBytes: number }
  | { readonly kind: 'session-404' }
  | { readonly kind: 'too-large' }
  | { readonly kind: 'fits' }
  | { readonly kind: 'none' };

export type Body = string | Uint8Array | { readonly chunks: readonly Uint8Array[] };

export interface HttpCase {
  readonly kind: 'http';
  readonly family: string;
  readonly backend: Backend;
  /** The whole path, route prefix included: `/<backend>/mcp` unless the case is about paths. */
  readonly path: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly session: SessionRef;
  readonly body?: Body;
  readonly expect: Expect;
}

/** initialize → notifications/initialized → tools/list → tools/call → DELETE, as a client would. */
export interface FlowCase {
  readonly kind: 'flow';
  readonly family: 'flow';
  readonly backend: Backend;
  readonly version: string;
  readonly message: string;
}

export type Case = HttpCase | FlowCase;

export const FLOW_REQUESTS = 5;
export const requestsOf = (c: Case) => (c.kind === 'flow' ? FLOW_REQUESTS : 1);

// The gateway's own list: what the oracle calls unknown is what the gateway must refuse.
export const MCP_REQUEST_METHODS = REQUEST_METHODS;
const KNOWN: ReadonlySet<string> = new Set(MCP_REQUEST_METHODS);
export const isKnownMethod = (method: string) => KNOWN.has(method);

const NOTIFICATIONS = NOTIFICATION_METHODS;

export { PROTOTYPE_NAMES };

const TOOLS: Record<Backend, readonly string[]> = {
  solo: ['echo', 'add', 'whoami', 'count', 'sleep', 'link_readme', 'nope', '', 'alpha_echo'],
  multi: [
    'alpha_echo',
    'beta_add',
    'gamma_whoami',
    'alpha_count',
    'beta_sleep',
    'echo',
    'alpha_',
    '_echo',
    'zeta_echo',
    'alpha_nope',
    '__proto___echo',
    'constructor_echo',
    'toString',
  ],
};
const URIS: Record<Backend, readonly string[]> = {
  solo: ['memo://readme', 'note://one', 'nope://x', '', 'alpha+memo://readme'],
  multi: [
    'alpha+memo://readme',
    'beta+note://two',
    'memo://readme',
    '+x',
    'zeta+memo://readme',
    '__proto__+x',
  ],
};
const PROMPTS: Record<Backend, readonly string[]> = {
  solo: ['greet', 'nope'],
  multi: ['alpha_greet', 'greet', 'beta_greet', 'constructor_greet'],
};

const SAFE_IDS = ['0', '1', '-1', '42', '9007199254740991', '-9007199254740991', '1e3', '-0'];
const UNSAFE_IDS = [
  '9007199254740993',
  '9007199254740992',
  '-9007199254740993',
  '123456789012345678901234567890',
  '1.5',
  '0.1',
  '-2.5e-3',
  '1e400',
];
const NON_IDS = ['null', '{}', '[]', '[1]', 'true', '{"id":1}'];

/** True for a numeric id text that is not a safe integer (what the hardened gateway refuses). */
export function isUnsafeNumber(idText: string): boolean {
  if (!/^-?\d/.test(idText)) return false;
  return !Number.isSafeInteger(Number(idText));
}

const q = (value: string) => JSON.stringify(value);

/** `{"a":{"a":…1…}}` or `[[…]]` as text: deeper than JSON.stringify could write. */
export function deepText(depth: number, arrays: boolean): string {
  return arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

export const FAMILIES = [
  'flow',
  'single',
  'batch',
  'malformed',
  'initialize',
  'headers',
  'http-method',
  'distinct-methods',
  'size',
  'path',
] as const;

export class Generator {
  #distinct = 0;
  #counter = 0;

  constructor(
    private readonly rng: Rng,
    /** Only these families (a targeted run); all when undefined. */
    private readonly families?: ReadonlySet<string>,
  ) {}

  next(): Case {
    const r = this.rng;
    const backend = r.pick(BACKENDS);
    let family = this.#family();
    while (this.families && !this.families.has(family)) family = this.#family();
    switch (family) {
      case 'flow':
        return {
          kind: 'flow',
          family: 'flow',
          backend,
          version: r.pick(['2025-06-18', '2025-03-26', '2025-11-25', '2024-11-05']),
          message: this.#string(64),
        };
      case 'single':
        return this.#single(backend);
      case 'batch':
        return this.#batch(backend);
      case 'malformed':
        return this.#malformed(backend);
      case 'initialize':
        return this.#initialize(backend);
      case 'headers':
        return this.#headers(backend);
      case 'http-method':
        return this.#httpMethod(backend);
      case 'distinct-methods':
        return this.#distinctMethod(backend);
      case 'size':
        return this.#size(backend);
      default:
        return this.#path(backend);
    }
  }

  /** Weights: mostly single messages and batches, enough valid flows to reach the deep paths. */
  #family(): (typeof FAMILIES)[number] {
    return this.rng.weighted<(typeof FAMILIES)[number]>([
      [8, 'flow'],
      [34, 'single'],
      [15, 'batch'],
      [7, 'malformed'],
      [5, 'initialize'],
      [10, 'headers'],
      [6, 'http-method'],
      [12, 'distinct-methods'],
      [1, 'size'],
      [2, 'path'],
    ]);
  }

  #post(
    family: string,
    backend: Backend,
    body: Body,
    expect: Expect,
    session: SessionRef = { kind: 'live', version: this.#version() },
  ): HttpCase {
    return {
      kind: 'http',
      family,
      backend,
      path: `/${backend}/mcp`,
      method: 'POST',
      headers: postHeaders(session),
      session,
      body,
      expect,
    };
  }

  #version(): Version {
    return this.rng.chance(0.7) ? '2025-03-26' : '2025-06-18';
  }

  #single(backend: Backend): HttpCase {
    const { text, sent } = this.#message(backend, false);
    return this.#post('single', backend, text, { kind: 'message', sent });
  }

  /** Unknown method names, each seen once: nothing may be kept per name (metrics, caches). */
  #distinctMethod(backend: Backend): HttpCase {
    this.#distinct += 1;
    const method = `fuzz/${this.#distinct}/${this.#string(this.rng.size(300))}`;
    const notify = this.rng.chance(0.3);
    const idText = notify ? undefined : String(this.#nextId());
    const text = `{"jsonrpc":"2.0",${idText === undefined ? '' : `"id":${idText},`}"method":${q(method)}}`;
    const sent: Sent = notify ? { kind: 'notification', method } : { kind: 'request', method, idText };
    return this.#post('distinct-methods', backend, text, { kind: 'message', sent });
  }

  #batch(backend: Backend): HttpCase {
    const r = this.rng;
    const length = r.weighted<() => number>([
      [1, () => 0],
      [3, () => r.int(1, 4)],
      [3, () => r.int(5, MAX_BATCH)],
      [2, () => r.int(MAX_BATCH + 1, 200)],
    ])();
    const items: Sent[] = [];
    const texts: string[] = [];
    for (let i = 0; i < length; i++) {
      const { text, sent } = this.#message(backend, true);
      texts.push(text);
      items.push(sent);
    }
    if (length > 1 && r.chance(0.2)) {
      // The same request id twice in one batch.
      const at = r.int(0, length - 1);
      if (items[at]!.kind === 'request') {
        texts.push(texts[at]!);
        items.push(items[at]!);
      }
    }
    let body = `[${texts.join(',')}]`;
    if (r.chance(0.08)) body = `[${body},[]]`; // nested arrays are not messages
    const session: SessionRef = r.chance(0.9)
      ? { kind: 'live', version: '2025-03-26' }
      : { kind: 'live', version: '2025-06-18' };
    const expect: Expect =
      session.version === '2025-03-26' && !body.startsWith('[[')
        ? { kind: 'batch', items }
        : { kind: 'none' };
    return this.#post('batch', backend, body, expect, session);
  }

  /** One JSON-RPC message: mostly well formed, with a hostile method, id or params. */
  #message(backend: Backend, inBatch: boolean): { text: string; sent: Sent } {
    const r = this.rng;
    const shape = r.weighted<Sent['kind']>([
      [70, 'request'],
      [12, 'notification'],
      [6, 'response'],
      [12, 'invalid'],
    ]);
    if (shape === 'response') {
      const idText = this.#idText();
      const member = r.chance(0.5)
        ? `"result":${this.#params(backend, 'x')}`
        : `"error":{"code":${r.int(-32768, 0)},"message":"x"}`;
      return { text: `{"jsonrpc":"2.0","id":${idText},${member}}`, sent: { kind: 'response', idText } };
    }
    const method = this.#method();
    const params = r.chance(0.85) ? this.#params(backend, method) : undefined;
    const fields: string[] = [`"jsonrpc":"2.0"`, `"method":${q(method)}`];
    let idText: string | undefined;
    if (shape !== 'notification') {
      idText = this.#idText();
      fields.push(`"id":${idText}`);
    }
    if (params !== undefined) fields.push(`"params":${params}`);
    if (r.chance(0.1)) fields.push(`${q(this.#string(20))}:${this.#scalar()}`); // an extra member
    let sent: Sent =
      shape === 'notification' ? { kind: 'notification', method } : { kind: 'request', method, idText };
    if (shape === 'invalid') {
      sent = { kind: this.#break(fields) ? 'invalid' : 'other' };
    } else if (!inBatch && method === 'initialize') {
      sent = { kind: 'other' }; // initialize with a session is its own question
    }
    shuffle(r, fields);
    return { text: `{${fields.join(',')}}`, sent };
  }

  /**
   * Break an envelope in one way; true when JSON-RPC 2.0 says it is not a valid message (a
   * request that also carries result and error is odd, but not named invalid).
   */
  #break(fields: string[]): boolean {
    const r = this.rng;
    const breakage = r.int(0, 5);
    if (breakage === 0)
      fields[0] = r.pick([
        '"jsonrpc":"1.0"',
        '"jsonrpc":2',
        '"jsonrpc":null',
        '"jsonrpc":"2.0 "',
        '"jsonrpc":["2.0"]',
      ]);
    else if (breakage === 1) fields.shift();
    else if (breakage === 2) fields[1] = `"method":${r.pick(['1', 'null', '{}', '["ping"]', 'true'])}`;
    else if (breakage === 3) replace(fields, '"params":', r.pick(['[]', '[1,2]', '"x"', '1', 'true']));
    else if (breakage === 4) replace(fields, '"id":', r.pick(NON_IDS));
    else fields.push('"result":{}', '"error":{"code":1,"message":"x"}');
    // A duplicate key: JSON.parse keeps the last one, and that one is valid.
    if (breakage === 0 && r.chance(0.1)) {
      fields.push('"jsonrpc":"2.0"');
      return false;
    }
    return breakage !== 5;
  }

  #method(): string {
    const r = this.rng;
    return r.weighted<() => string>([
      [55, () => r.pick(MCP_REQUEST_METHODS)],
      [6, () => r.pick(NOTIFICATIONS)],
      [12, () => r.pick(PROTOTYPE_NAMES)],
      [
        6,
        () =>
          r.pick([
            'foo/bar',
            'tools/lists',
            'Tools/List',
            'tools/list ',
            ' ping',
            '',
            'tools',
            'rpc.discover',
          ]),
      ],
      [4, () => 'x'.repeat(r.size(70_000))],
      [
        5,
        () => r.pick(['tööls/list', '工具/列表', '🛠️/call', 'ping\u0000', '\u202eping', 'ping\ud800', 'пинг']),
      ],
      [12, () => this.#string(r.size(40))],
    ])();
  }

  #nextId(): number {
    this.#counter += 1;
    return this.#counter;
  }

  #idText(): string {
    const r = this.rng;
    return r.weighted<() => string>([
      [40, () => String(this.#nextId())],
      [10, () => q(`id-${this.#nextId()}`)],
      [8, () => r.pick(SAFE_IDS)],
      [10, () => r.pick(UNSAFE_IDS)],
      [5, () => q(this.#string(r.size(100_000)))],
      [3, () => r.pick(['""', '"\\u0041"', '"ü🙂"', '"\\ud800"', '"mcplane/alpha/n/1"'])],
      [4, () => r.pick(NON_IDS)],
    ])();
  }

  /** Params for `method`, mostly plausible, often hostile; JSON text. */
  #params(backend: Backend, method: string): string {
    const r = this.rng;
    if (r.chance(0.25)) return this.#hostileValue();
    switch (method) {
      case 'tools/call': {
        const name = r.pick(TOOLS[backend]);
        const tool = name.replace(/^[a-z]+_/, '');
        const args =
          tool === 'count'
            ? `{"n":${r.int(0, 20)}}`
            : tool === 'sleep'
              ? `{"ms":${r.int(0, 100)}}`
              : tool === 'add'
                ? `{"a":${this.#scalar()},"b":${this.#scalar()}}`
                : `{"message":${r.chance(0.8) ? q(this.#string(r.size(2000))) : this.#hostileValue()}}`;
        const meta = r.chance(0.2) ? `,"_meta":{"progressToken":${this.#idText()}}` : '';
        return `{"name":${q(name)},"arguments":${args}${meta}}`;
      }
      case 'prompts/get':
        return `{"name":${q(r.pick(PROMPTS[backend]))},"arguments":{"who":${q(this.#string(10))}}}`;
      case 'resources/read':
      case 'resources/subscribe':
      case 'resources/unsubscribe':
        return `{"uri":${q(r.pick(URIS[backend]))}}`;
      case 'completion/complete':
        return r.chance(0.5)
          ? `{"ref":{"type":"ref/prompt","name":${q(r.pick(PROMPTS[backend]))}},"argument":{"name":"who","value":"a"}}`
          : `{"ref":{"type":"ref/resource","uri":${q(r.pick(URIS[backend]))}},"argument":{"name":"id","value":"o"}}`;
      case 'logging/setLevel':
        return `{"level":${q(r.pick(['debug', 'info', 'error', 'loud', '']))}}`;
      case 'tools/list':
      case 'prompts/list':
      case 'resources/list':
      case 'resources/templates/list':
        return r.chance(0.5)
          ? '{}'
          : `{"cursor":${q(r.pick(['', 'e30', 'eyJwIjpbWyJhbHBoYSIsIjEiXV19', this.#string(50)]))}}`;
      case 'notifications/cancelled':
        return `{"requestId":${this.#idText()},"reason":"fuzz"}`;
      case 'initialize':
        return `{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"fuzz","version":"1"}}`;
      default:
        return '{}';
    }
  }

  /** An object (params must be one) that is hard to handle: deep, wide, huge or prototype-named. */
  #hostileValue(): string {
    const r = this.rng;
    return r.weighted<() => string>([
      [3, () => deepText(r.size(20_000), false)],
      [2, () => `{"a":${deepText(r.size(100_000), true)}}`],
      [3, () => `{"items":[${Array.from({ length: r.size(20_000) }, (_, i) => i).join(',')}]}`],
      [3, () => `{"s":${q('y'.repeat(r.size(1_000_000)))}}`],
      [
        4,
        () =>
          `{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"name":"__proto__"}`,
      ],
      [2, () => `{${Array.from({ length: r.size(5_000) }, (_, i) => `"k${i}":${i}`).join(',')}}`],
      [
        2,
        () =>
          `{"name":${this.#scalar()},"uri":${this.#scalar()},"cursor":${this.#scalar()},"arguments":${this.#scalar()}}`,
      ],
    ])();
  }

  #scalar(): string {
    const r = this.rng;
    return r.pick([
      'null',
      'true',
      '0',
      '-1',
      '1e308',
      '"x"',
      '[]',
      '{}',
      q(this.#string(8)),
      '9007199254740993',
    ]);
  }

  /** Printable ASCII, some unicode and escapes. */
  #string(length: number): string {
    const r = this.rng;
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789_-/+.=: ';
    let out = '';
    for (let i = 0; i < length; i++) {
      out += r.chance(0.95)
        ? alphabet[r.int(0, alphabet.length - 1)]
        : r.pick(['é', '😀', '\u0000', '"', '\\', '\n', '\u2028']);
    }
    return out;
  }

  #malformed(backend: Backend): HttpCase {
    const r = this.rng;
    const valid = `{"jsonrpc":"2.0","id":${this.#nextId()},"method":"tools/list"}`;
    const bytes = (...parts: Array<string | number[]>) =>
      Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));
    const body = r.weighted<() => Body>([
      [3, () => valid.slice(0, r.int(0, valid.length - 1))],
      [
        2,
        () =>
          bytes(
            '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"x":"',
            [0xff, 0xc3, 0x28, 0x80, 0xc0, 0xaf],
            '"}}',
          ),
      ],
      [2, () => bytes([0xef, 0xbb, 0xbf], valid)],
      [1, () => bytes([0xfe, 0xff], valid)],
      [
        2,
        () =>
          r.pick([
            '',
            ' ',
            '\n',
            'null',
            '1',
            '"ping"',
            'true',
            '{}',
            '[]',
            'NaN',
            '{}{}',
            `${valid}x`,
            `${valid}${valid}`,
          ]),
      ],
      [1, () => deepText(r.size(200_000), true)],
      [1, () => deepText(r.size(50_000), false)],
      [1, () => `[${deepText(r.size(20_000), true)}]`],
      [1, () => new Uint8Array(Array.from({ length: r.size(4096) }, () => r.int(0, 255)))],
      [1, () => valid.replace('"2.0"', "'2.0'")],
    ])();
    return this.#post('malformed', backend, body, { kind: 'none' });
  }

  #initialize(backend: Backend): HttpCase {
    const r = this.rng;
    const capabilities = r.weighted<() => string>([
      [3, () => '{}'],
      [2, () => `{"x":${q('c'.repeat(r.size(3_000_000)))}}`],
      [
        1,
        () =>
          `{"roots":{"listChanged":true},"sampling":{},"elicitation":{},"experimental":${this.#hostileValue()}}`,
      ],
      [1, () => deepText(r.size(10_000), false)],
      [1, () => '[]'],
    ])();
    const version = r.pick([
      '2025-03-26',
      '2025-06-18',
      '2025-11-25',
      '2024-11-05',
      '1999-01-01',
      '',
      'x'.repeat(r.size(10_000)),
    ]);
    const fields = [
      r.chance(0.9) ? `"protocolVersion":${r.chance(0.95) ? q(version) : this.#scalar()}` : undefined,
      `"capabilities":${capabilities}`,
      `"clientInfo":{"name":${q(this.#string(r.size(50_000)))},"version":"1"}`,
    ].filter((f): f is string => f !== undefined);
    const params = `{${fields.join(',')}}`;
    const idText = r.chance(0.9) ? String(this.#nextId()) : r.pick(UNSAFE_IDS);
    const text = `{"jsonrpc":"2.0","id":${idText},"method":"initialize","params":${params}}`;
    const session: SessionRef = { kind: 'none' };
    return this.#post(
      'initialize',
      backend,
      text,
      { kind: 'initialize', paramsBytes: Buffer.byteLength(params) },
      session,
    );
  }

  /** A valid tools/list with hostile headers. */
  #headers(backend: Backend): HttpCase {
    const r = this.rng;
    const version = this.#version();
    let session: SessionRef = { kind: 'live', version };
    const headers: Record<string, string> = { ...postHeaders(session) };
    let expect: Expect = { kind: 'none' };
    const mutation = r.weighted<string>([
      [4, 'session'],
      [2, 'accept'],
      [2, 'content-type'],
      [2, 'protocol-version'],
      [1, 'host'],
    ]);
    if (mutation === 'session') {
      session = this.#sessionVariant(version);
      if (session.kind === 'variant' && !session.canonical) expect = { kind: 'session-404' };
      if (session.kind === 'foreign' || session.kind === 'deleted') expect = { kind: 'session-404' };
      if (session.kind === 'literal' && session.value.length > 0 && session.value.length < 8000)
        expect = { kind: 'session-404' };
    } else if (mutation === 'accept') {
      const accept = r.pick([
        undefined,
        'application/json',
        'text/event-stream',
        '*/*',
        'APPLICATION/JSON, TEXT/EVENT-STREAM',
        'text/html',
        'application/json;q=0, text/event-stream;q=0',
      ]);
      if (accept === undefined) delete headers.accept;
      else headers.accept = accept;
    } else if (mutation === 'content-type') {
      const type = r.pick([
        undefined,
        'text/plain',
        'application/json; charset=utf-16',
        'application/jsonx',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        '',
      ]);
      if (type === undefined) delete headers['content-type'];
      else headers['content-type'] = type;
    } else if (mutation === 'protocol-version') {
      headers['mcp-protocol-version'] = r.pick([
        '',
        'garbage',
        '9999-99-99',
        '2025-03-26, 2025-06-18',
        ' 2025-06-18 ',
        '2024-11-05',
        '2025-11-25',
        'x'.repeat(r.size(12_000)),
      ]);
    } else {
      headers.host = r.pick(['evil.example', 'localhost:1', '127.0.0.1.nip.io', '[::1]', '']);
    }
    const text = `{"jsonrpc":"2.0","id":${this.#nextId()},"method":"tools/list"}`;
    return { ...this.#post('headers', backend, text, expect, session), headers: { ...headers } };
  }

  #sessionVariant(version: Version): SessionRef {
    const r = this.rng;
    return r.weighted<() => SessionRef>([
      [
        6,
        () => {
          const [prefix, suffix] = r.pick([
            ['', '='],
            ['', '=='],
            ['', '\tx'],
            ['', ' x'],
            ['', '\t'],
            ['', ' '],
            [' ', ''],
            ['\t', '\t'],
            ['', '.'],
            ['', 'A'],
            ['', '%3D'],
            ['', '=\t='],
            ['', '\t=x'],
          ] as const);
          const canonical = /^[ \t]*$/.test(prefix) && /^[ \t]*$/.test(suffix);
          return { kind: 'variant', version, prefix, suffix, canonical };
        },
      ],
      [2, () => ({ kind: 'foreign' })],
      [2, () => ({ kind: 'deleted' })],
      [1, () => ({ kind: 'literal', value: '' })],
      [
        2,
        () => ({
          kind: 'literal',
          value: `${r.pick(['k1', 'r00000000', 'x'])}.${Buffer.from(this.#string(r.size(400))).toString('base64url')}`,
        }),
      ],
      [2, () => ({ kind: 'literal', value: Buffer.from(this.#string(r.size(200))).toString('base64') })],
      [1, () => ({ kind: 'literal', value: 'a'.repeat(r.int(8_000, 17_000)) })],
      [1, () => ({ kind: 'literal', value: Buffer.from('ü-session-ü', 'utf8').toString('latin1') })],
    ])();
  }

  #httpMethod(backend: Backend): HttpCase {
    const r = this.rng;
    const version = this.#version();
    const method = r.weighted<string>([
      [4, 'GET'],
      [4, 'DELETE'],
      [1, 'PUT'],
      [1, 'OPTIONS'],
      [1, 'PATCH'],
      [1, 'HEAD'],
    ]);
    const session: SessionRef =
      method === 'DELETE'
        ? r.weighted<SessionRef>([
            [2, { kind: 'live', version }],
            [3, this.#sessionVariant(version)],
            [1, { kind: 'none' }],
          ])
        : r.chance(0.8)
          ? { kind: 'live', version }
          : this.#sessionVariant(version);
    const headers: Record<string, string> = { ...sessionHeaders(session) };
    if (method === 'GET' && r.chance(0.85)) headers.accept = 'text/event-stream';
    const nonCanonical =
      (session.kind === 'variant' && !session.canonical) ||
      session.kind === 'foreign' ||
      session.kind === 'deleted';
    const expect: Expect =
      (method === 'DELETE' || (method === 'GET' && headers.accept !== undefined)) && nonCanonical
        ? { kind: 'session-404' }
        : { kind: 'none' };
    const body =
      method === 'GET' || method === 'HEAD' || r.chance(0.5)
        ? undefined
        : '{"jsonrpc":"2.0","id":1,"method":"ping"}';
    return {
      kind: 'http',
      family: 'http-method',
      backend,
      path: `/${backend}/mcp`,
      method,
      headers,
      session,
      expect,
      ...(body === undefined ? {} : { body }),
    };
  }

  /** Bodies at, just under and over the body limit, with and without Content-Length. */
  #size(backend: Backend): HttpCase {
    const r = this.rng;
    const delta = r.pick([-4096, -1, 0, 1, 4096, MAX_BODY_BYTES]);
    const total = MAX_BODY_BYTES + delta;
    const head = `{"jsonrpc":"2.0","id":${this.#nextId()},"method":"tools/call","params":{"name":${q(backend === 'solo' ? 'echo' : 'alpha_echo')},"arguments":{"message":"`;
    const tail = '"}}}';
    const text = head + 'z'.repeat(total - head.length - tail.length) + tail;
    const bytes = Buffer.from(text, 'utf8');
    const chunked = r.chance(0.4);
    let body: Body = bytes;
    if (chunked) {
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < bytes.length; at += 256 * 1024) chunks.push(bytes.subarray(at, at + 256 * 1024));
      body = { chunks };
    }
    return this.#post('size', backend, body, { kind: total > MAX_BODY_BYTES ? 'too-large' : 'fits' });
  }

  /** Paths beside the MCP one under the route prefix, and outside any route. */
  #path(backend: Backend): HttpCase {
    const r = this.rng;
    const path = r.pick([
      '',
      '/',
      '/mcp/',
      '/mcp/../mcp',
      '/%2e%2e/mcp',
      `/${'p'.repeat(r.size(8000))}`,
      '/mcp?x=1',
      '/MCP',
    ]);
    const prefix = r.chance(0.3) ? '/nowhere' : `/${backend}`;
    const text = `{"jsonrpc":"2.0","id":${this.#nextId()},"method":"ping"}`;
    return { ...this.#post('path', backend, text, { kind: 'none' }), path: prefix + path };
  }
}

export function sessionHeaders(session: SessionRef): Record<string, string> {
  return session.kind === 'live' || session.kind === 'variant'
    ? { 'mcp-protocol-version': session.version }
    : {};
}

export function postHeaders(session: SessionRef): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    ...sessionHeaders(session),
  };
}

/** Set a member (replacing it where present: a duplicate key's meaning depends on its order). */
function replace(fields: string[], member: string, value: string): void {
  const at = fields.findIndex((f) => f.startsWith(member));
  if (at >= 0) fields[at] = member + value;
  else fields.push(member + value);
}

function shuffle<T>(r: Rng, items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
