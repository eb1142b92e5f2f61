import { describe, expect, it } from 'vitest';
import { Health, type HealthEvent } from '../../../../src/proxy/mcp/hop/health.js';
import { UpstreamError } from '../../../../src/proxy/upstream/errors.js';
import type { McpBackend } from '../../../../src/shared/table.js';

const backend = {
  id: 'b',
  targets: [{ name: 'alpha' }, { name: 'beta' }],
} as unknown as McpBackend;

function health(events: Array<[string, HealthEvent]> = []) {
  const h = new Health({ failureThreshold: 3, probeIntervalMs: 0, graceMs: 1_000 }, (_, target, event) =>
    events.push([target, event]),
  );
  h.retain([backend]);
  return h;
}

const unreachable = () => new UpstreamError('alpha', 'unreachable', 'refused');

describe('Health', () => {
  it('marks a target down after the threshold of consecutive failures, and up on any answer', () => {
    const events: Array<[string, HealthEvent]> = [];
    const h = health(events);
    h.failed('b', 'alpha', unreachable());
    h.failed('b', 'alpha', unreachable());
    expect(h.isUp('b', 'alpha')).toBe(true);
    h.failed('b', 'alpha', unreachable());
    expect(h.isUp('b', 'alpha')).toBe(false);
    expect([...h.targets()]).toEqual([
      { backend: 'b', target: 'alpha', up: false },
      { backend: 'b', target: 'beta', up: true },
    ]);
    h.answered('b', 'alpha');
    expect(h.isUp('b', 'alpha')).toBe(true);
    expect(events).toEqual([
      ['alpha', 'down'],
      ['alpha', 'up'],
    ]);
  });

  it('an answer between failures starts the count again; a 4xx is an answer; an aborted call is neither', () => {
    const h = health();
    h.failed('b', 'alpha', unreachable());
    h.failed('b', 'alpha', unreachable());
    h.failed('b', 'alpha', new UpstreamError('alpha', 'status', 'bad request', 400));
    h.failed('b', 'alpha', unreachable());
    h.failed('b', 'alpha', new UpstreamError('alpha', 'aborted', 'client left'));
    h.failed('b', 'alpha', unreachable());
    expect(h.isUp('b', 'alpha')).toBe(true);
    h.failed('b', 'alpha', new UpstreamError('alpha', 'status', 'bad gateway', 502));
    expect(h.isUp('b', 'alpha')).toBe(false);
  });

  it('a target down past the grace period leaves merged lists, and comes back when it answers', () => {
    const events: Array<[string, HealthEvent]> = [];
    const h = health(events);
    for (let i = 0; i < 3; i++) h.failed('b', 'beta', new UpstreamError('beta', 'timeout', 'slow'));
    const downAt = performance.now();
    h.tick(downAt + 500);
    expect(h.isUnlisted('b', 'beta')).toBe(false);
    h.tick(downAt + 1_500);
    expect(h.isUnlisted('b', 'beta')).toBe(true);
    h.answered('b', 'beta');
    expect(h.isUnlisted('b', 'beta')).toBe(false);
    expect(events.map(([, e]) => e)).toEqual(['down', 'unlisted', 'up', 'listed']);
  });

  it('forgets targets that left the table', () => {
    const h = health();
    for (let i = 0; i < 3; i++) h.failed('b', 'alpha', unreachable());
    h.retain([{ ...backend, targets: [backend.targets[1]!] } as McpBackend]);
    expect(h.isUp('b', 'alpha')).toBe(true);
    expect([...h.targets()]).toEqual([{ backend: 'b', target: 'beta', up: true }]);
  });

  it('probes only down targets unless a probe interval is set', async () => {
    const probed: string[] = [];
    const h = health();
    h.start(async (_, target) => {
      probed.push(target.name);
    });
    for (let i = 0; i < 3; i++) h.failed('b', 'alpha', unreachable());
    h.tick();
    expect(probed).toEqual(['alpha']);
    h.close();
    const all = new Health({ failureThreshold: 3, probeIntervalMs: 60_000, graceMs: 1_000 });
    all.retain([backend]);
    const every: string[] = [];
    all.start(async (_, target) => {
      every.push(target.name);
    });
    all.tick();
    expect(every).toEqual(['alpha', 'beta']);
    all.close();
  });
});
