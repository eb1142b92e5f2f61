import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { child } from '../../src/proxy/metric-children.js';

function counter(labels: number) {
  const registry = new Registry();
  const names = ['a', 'b', 'c', 'd', 'e'].slice(0, labels);
  return {
    registry,
    metric: new Counter({ name: `c${labels}`, help: 'h', labelNames: names, registers: [registry] }),
  };
}

describe('cached metric children', () => {
  it('one child per label tuple, for three and four labels', async () => {
    const { registry, metric } = counter(4);
    child(metric, 'r', 'b', 'tools/call', 'ok').inc();
    child(metric, 'r', 'b', 'tools/call', 'ok').inc();
    child(metric, 'r', 'b', 'tools/call', 'error').inc();
    expect(child(metric, 'r', 'b', 'tools/call', 'ok')).toBe(child(metric, 'r', 'b', 'tools/call', 'ok'));
    const text = await registry.metrics();
    expect(text).toContain('c4{a="r",b="b",c="tools/call",d="ok"} 2');
    expect(text).toContain('c4{a="r",b="b",c="tools/call",d="error"} 1');

    const three = counter(3);
    child(three.metric, 'x', 'y', 'z').inc(5);
    // Label values that a joined key would confuse stay apart.
    child(three.metric, 'x', 'y\nz', '').inc();
    const lines = await three.registry.metrics();
    expect(lines).toContain('c3{a="x",b="y",c="z"} 5');
    expect(lines).toContain('c3{a="x",b="y\\nz",c=""} 1');
  });

  it('five labels, empty values included', async () => {
    const { registry, metric } = counter(5);
    child(metric, 'r', 'b', 'tools/call', 'alpha_echo', '').inc();
    child(metric, 'r', 'b', 'tools/call', 'alpha_echo', '-32002').inc(2);
    child(metric, 'r', 'b', 'tools/list', '', '').inc(3);
    const text = await registry.metrics();
    expect(text).toContain('c5{a="r",b="b",c="tools/call",d="alpha_echo",e=""} 1');
    expect(text).toContain('c5{a="r",b="b",c="tools/call",d="alpha_echo",e="-32002"} 2');
    expect(text).toContain('c5{a="r",b="b",c="tools/list",d="",e=""} 3');
  });

  it('starts over beyond 10,000 tuples and keeps counting correctly', async () => {
    const { registry, metric } = counter(3);
    for (let i = 0; i <= 10_000; i++) child(metric, 'route', `backend-${i}`, 'm').inc();
    child(metric, 'route', 'backend-0', 'm').inc();
    expect(await registry.metrics()).toContain('c3{a="route",b="backend-0",c="m"} 2');
  });
});
