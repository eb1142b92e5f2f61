/** The outbound rewrite of upstream messages through a multiplexed backend. */
import { describe, expect, it } from 'vitest';
import { parseServerRequestId } from '../../../../src/proxy/mcp/rewrite/ids.js';
import { shouldPrefix } from '../../../../src/proxy/mcp/rewrite/naming.js';
import { outbound, RELATED_TASK } from '../../../../src/proxy/mcp/rewrite/outbound.js';
import type { PrefixMode } from '../../../../src/shared/table.js';

/** The rewrite of target `a`'s messages behind a backend of two targets. */
function rewriteFor(mode: PrefixMode = 'Conditional') {
  return outbound('a', shouldPrefix(mode, 2), () => {});
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
