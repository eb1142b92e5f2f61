/**
 * The bound counters and histograms expose exactly what prom-client's own would for the same
 * updates: the same text, line for line, and the same get() values.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BoundCounter, BoundHistogram } from '../../src/shared/bound-metrics.js';

const BUCKETS = [0.001, 0.01, 0.1, 1, 10];
const OBSERVED = [0.0005, 0.001, 0.0011, 0.05, 0.5, 0.5, 3, 42, 0];

describe('bound metrics', () => {
  it('a histogram: the exposition prom-client writes for the same observations', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const labelNames = ['route', 'tool'] as const;
    const bound = new BoundHistogram({
      name: 'h_seconds',
      help: 'h',
      labelNames,
      buckets: BUCKETS,
      registers: [ours],
    });
    const reference = new Histogram({
      name: 'h_seconds',
      help: 'h',
      labelNames,
      buckets: BUCKETS,
      registers: [theirs],
    });
    for (const [i, value] of OBSERVED.entries()) {
      const tool = i % 2 === 0 ? 'a' : 'we"ird\\tool\n';
      bound.labels('r', tool).observe(value);
      reference.labels('r', tool).observe(value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // prom-client's values also carry `exemplar: null` (exemplars are off): the rest is the same.
    const withoutExemplars = ({ values, ...rest }: Awaited<ReturnType<typeof reference.get>>) => ({
      ...rest,
      values: values.map((value) => {
        const { exemplar: _, ...rest } = value as typeof value & { exemplar?: unknown };
        return rest;
      }),
    });
    expect(await bound.get()).toEqual(withoutExemplars(await reference.get()));
  });

  it('a counter: bound cells and label objects count into the same series, as prom-client would', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const labelNames = ['backend', 'outcome'] as const;
    const bound = new BoundCounter({ name: 'c_total', help: 'c', labelNames, registers: [ours] });
    const reference = new Counter({ name: 'c_total', help: 'c', labelNames, registers: [theirs] });
    const cell = bound.labels('b', 'ok');
    for (let i = 0; i < 5; i++) cell.inc();
    bound.inc({ backend: 'b', outcome: 'ok' }, 2);
    bound.inc({ backend: 'b', outcome: 'error' });
    reference.labels('b', 'ok').inc(7);
    reference.inc({ backend: 'b', outcome: 'error' });
    expect(bound.labels('b', 'ok')).toBe(cell);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect((await bound.get()).values).toEqual((await reference.get()).values);
  });

  it('a value that is not a finite number is not observed; a wrong label count throws', () => {
    const bound = new BoundHistogram({
      name: 'x',
      help: 'x',
      labelNames: ['a'],
      buckets: BUCKETS,
      registers: [],
    });
    const cell = bound.labels('1');
    cell.observe(Number.NaN);
    cell.observe(Number.POSITIVE_INFINITY);
    expect(cell.count).toBe(0);
    expect(() => bound.labels('1', '2')).toThrow(/1 label values expected/);
  });
});
