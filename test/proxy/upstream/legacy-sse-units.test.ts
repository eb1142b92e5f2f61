/** The pure parts of the legacy HTTP+SSE transport: endpoint resolution, message routing keys, framing. */
import { describe, expect, it } from 'vitest';
import {
  classifyIncoming,
  classifyOutgoing,
  frame,
  idKey,
  originOf,
  resolveEndpoint,
} from '../../../src/proxy/upstream/legacy-sse-messages.js';
import { SseParser } from '../../../src/proxy/upstream/sse-parser.js';

describe('resolveEndpoint', () => {
  const streamUrl = 'http://mcp.tools.svc:8080/sse';
  const origins = [originOf('mcp.tools.svc', 8080), originOf('10.0.0.7', 8080)];
  const resolve = (data: string) => resolveEndpoint(data, streamUrl, origins, 'docs');

  it('resolves a path, a query on the SSE path and a same-origin absolute URL', () => {
    expect(resolve('/messages?sessionId=abc')).toEqual({ path: '/messages?sessionId=abc' });
    expect(resolve('?sessionId=abc')).toEqual({ path: '/sse?sessionId=abc' });
    expect(resolve('messages/?session_id=x')).toEqual({ path: '/messages/?session_id=x' });
    expect(resolve('http://mcp.tools.svc:8080/m?s=1')).toEqual({ path: '/m?s=1' });
    expect(resolve('  http://10.0.0.7:8080/m#frag \n')).toEqual({ path: '/m' });
  });

  it('refuses other origins: another host, port or scheme', () => {
    const refused = {
      error:
        'target "docs" announced its message endpoint on another origin; only same-origin endpoints are accepted',
    };
    expect(resolve('http://evil.example:8080/messages')).toEqual(refused);
    expect(resolve('http://mcp.tools.svc:9090/messages')).toEqual(refused);
    expect(resolve('https://mcp.tools.svc:8080/messages')).toEqual(refused);
    expect(resolve('//evil.example/messages')).toEqual(refused);
  });

  it('refuses an empty or unparsable endpoint', () => {
    const bad = { error: 'target "docs" sent an endpoint event that is not a URL' };
    expect(resolve('')).toEqual(bad);
    expect(resolve('http://[::1')).toEqual(bad);
  });

  it('spells origins like URL does (default port dropped, IPv6 bracketed)', () => {
    expect(originOf('svc', 80)).toBe('http://svc');
    expect(originOf('::1', 8080)).toBe('http://[::1]:8080');
  });
});

describe('classifyOutgoing', () => {
  it('finds a request id and its progress token', () => {
    const out = classifyOutgoing(
      '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"x","_meta":{"progressToken":"p1"}}}',
    );
    expect(out).toMatchObject({ kind: 'request', id: 3, method: 'tools/call', progressKey: idKey('p1') });
  });

  it('finds the request a cancellation names; everything else is just posted', () => {
    const cancel = { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'a' } };
    expect(classifyOutgoing(new TextEncoder().encode(JSON.stringify(cancel)))).toMatchObject({
      kind: 'cancel',
      requestId: 'a',
    });
    expect(classifyOutgoing('{"jsonrpc":"2.0","method":"notifications/initialized"}').kind).toBe('other');
    expect(classifyOutgoing('{"jsonrpc":"2.0","id":1,"result":{}}').kind).toBe('other');
    expect(classifyOutgoing('not json').kind).toBe('other');
  });
});

describe('classifyIncoming', () => {
  it('tells responses, progress and unsolicited messages apart', () => {
    expect(classifyIncoming({ jsonrpc: '2.0', id: 'x', result: {} })).toMatchObject({
      kind: 'response',
      id: 'x',
    });
    expect(
      classifyIncoming({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 4 } }),
    ).toEqual({ kind: 'progress', tokenKey: idKey(4) });
    expect(classifyIncoming({ jsonrpc: '2.0', id: 1, method: 'roots/list' })).toEqual({
      kind: 'unsolicited',
    });
    expect(classifyIncoming({ jsonrpc: '2.0', method: 'notifications/message' })).toEqual({
      kind: 'unsolicited',
    });
    expect(classifyIncoming('text')).toBeUndefined();
    expect(classifyIncoming({ jsonrpc: '2.0', result: {} })).toBeUndefined();
  });

  it('keys numeric and string ids apart', () => {
    expect(idKey(1)).not.toBe(idKey('1'));
  });
});

describe('frame', () => {
  it('frames one message per event, multi-line JSON as several data lines that parse back', () => {
    const json = '{\n  "jsonrpc": "2.0",\n  "method": "x"\n}';
    const text = frame(json).toString('utf8');
    expect(text).toBe(
      'event: message\ndata: {\ndata:   "jsonrpc": "2.0",\ndata:   "method": "x"\ndata: }\n\n',
    );
    const [event] = new SseParser(1_000).feed(text);
    expect(JSON.parse(event!.data)).toEqual({ jsonrpc: '2.0', method: 'x' });
  });
});
