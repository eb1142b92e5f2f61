/**
 * Pure parts of server↔client fidelity: the outbound rewrite of upstream messages, the session's
 * bounded event buffer, capability flags for tasks and version negotiation.
 */
import { describe, expect, it } from 'vitest';
import type { SessionExchange } from '../../src/proxy/mcp/context.js';
import { capabilityFlags, mergeInitialize } from '../../src/proxy/mcp/merge.js';
import { negotiateVersion } from '../../src/proxy/mcp/protocol-version.js';
import { outbound, parseServerRequestId, RELATED_TASK } from '../../src/proxy/mcp/server-requests.js';
import type { EventSink } from '../../src/proxy/mcp/session-events.js';
import { SessionEvents } from '../../src/proxy/mcp/session-events.js';
import type { PrefixMode } from '../../src/shared/table.js';
import { backendOf, targetOf } from '../support/mcp-harness.js';

function rewriteFor(mode: PrefixMode = 'Conditional') {
  const backend = backendOf([targetOf('a', 1), targetOf('b', 2)], { prefixMode: mode });
  const session = { events: new SessionEvents() };
  return outbound({ backend, session } as unknown as SessionExchange, 'a');
}

describe('outbound rewrite', () => {
  const rewrite = rewriteFor();

  it('gives server requests ids naming their target, and round-trips them', () => {
    const out = rewrite({ jsonrpc: '2.0', id: 7, method: 'roots/list' }) as { id: string };
    expect(out.id).toBe('mcplane/a/n/7');
    expect(parseServerRequestId(out.id)).toEqual({ target: 'a', id: 7 });
    const text = rewrite({ jsonrpc: '2.0', id: 'x/y_z', method: 'ping' }) as { id: string };
    expect(parseServerRequestId(text.id)).toEqual({ target: 'a', id: 'x/y_z' });
    expect(parseServerRequestId('mcplane/a/q/1')).toBeUndefined();
    expect(parseServerRequestId('mcplane/a/n/abc')).toBeUndefined();
  });

  it('names the target in cancellations of its own requests', () => {
    const cancelled = { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 0 } };
    expect(rewrite(cancelled)).toEqual({ ...cancelled, params: { requestId: 'mcplane/a/n/0' } });
  });

  it('names the target in log lines', () => {
    const line = { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 1 } };
    expect(rewrite(line)).toMatchObject({ params: { logger: 'a', data: 1 } });
    const named = { ...line, params: { ...line.params, logger: 'db' } };
    expect(rewrite(named)).toMatchObject({ params: { logger: 'a/db' } });
  });

  it('prefixes resource URIs only when names are prefixed, task ids always', () => {
    const updated = {
      jsonrpc: '2.0',
      method: 'notifications/resources/updated',
      params: { uri: 'memo://x' },
    };
    expect(rewrite(updated)).toMatchObject({ params: { uri: 'a+memo://x' } });
    expect(rewriteFor('Never')(updated)).toBe(updated);
    const status = {
      jsonrpc: '2.0',
      method: 'notifications/tasks/status',
      params: { taskId: 't1', status: 'working' },
    };
    expect(rewriteFor('Never')(status)).toMatchObject({ params: { taskId: 'a+t1', status: 'working' } });
  });

  it('rewrites task ids in created tasks, task results and related-task metadata', () => {
    expect(rewrite({ jsonrpc: '2.0', id: 1, result: { task: { taskId: 't1', status: 'working' } } })).toEqual(
      {
        jsonrpc: '2.0',
        id: 1,
        result: { task: { taskId: 'a+t1', status: 'working' } },
      },
    );
    const related = { [RELATED_TASK]: { taskId: 't2' } };
    expect(rewrite({ jsonrpc: '2.0', id: 2, result: { content: [], _meta: related } })).toMatchObject({
      result: { _meta: { [RELATED_TASK]: { taskId: 'a+t2' } } },
    });
    const ask = {
      jsonrpc: '2.0',
      id: 3,
      method: 'elicitation/create',
      params: { message: 'm', _meta: related },
    };
    expect(rewrite(ask)).toMatchObject({
      id: 'mcplane/a/n/3',
      params: { _meta: { [RELATED_TASK]: { taskId: 'a+t2' } } },
    });
    const plain = { jsonrpc: '2.0', id: 4, result: { content: [] } };
    expect(rewrite(plain)).toBe(plain);
    expect(rewrite('not an object')).toBe('not an object');
  });
});

class Sink implements EventSink {
  readonly got: unknown[] = [];
  closed = false;
  send(message: unknown): boolean {
    if (this.closed) return false;
    this.got.push(message);
    return true;
  }
  close(): void {
    this.closed = true;
  }
}

describe('SessionEvents', () => {
  it('drops messages when no client stream is open or expected', () => {
    const events = new SessionEvents(1000, 3);
    expect(events.send(1)).toBe(false);
    expect(events.listen('a')).toBeUndefined();
  });

  it('keeps a bounded buffer while a stream is expected, oldest first out, and flushes it on open', () => {
    const events = new SessionEvents(1000, 3);
    events.expect();
    for (const n of [1, 2, 3, 4]) expect(events.send(n)).toBe(true);
    expect(events.buffered).toBe(3);
    const sink = new Sink();
    events.open(sink);
    expect(sink.got).toEqual([2, 3, 4]);
    events.send(5);
    expect(sink.got).toEqual([2, 3, 4, 5]);
    events.close();
  });

  it('a new stream replaces the old one; a closed stream starts the grace period', () => {
    const events = new SessionEvents(1000, 3);
    const first = new Sink();
    const second = new Sink();
    events.open(first);
    events.open(second);
    expect(first.closed).toBe(true);
    events.closed(first);
    expect(events.sink).toBe(second);
    events.closed(second);
    expect(events.sink).toBeUndefined();
    expect(events.send('kept')).toBe(true);
    expect(events.buffered).toBe(1);
    events.close();
  });

  it('after the grace period, upstream listeners are aborted and the buffer dropped', async () => {
    const events = new SessionEvents(30, 3);
    events.expect();
    const signal = events.listen('a')!;
    expect(events.listen('a')).toBeUndefined();
    events.send('lost');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(signal.aborted).toBe(true);
    expect(events.buffered).toBe(0);
    expect(events.isListening('a')).toBe(false);
    expect(events.send('x')).toBe(false);
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
