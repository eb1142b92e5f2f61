/**
 * The per-call counters and histograms, with label sets bound once. prom-client's `labels(...)`
 * child still builds a label object, validates it, joins a key string and looks it up on every
 * `inc()` / `observe()`; the data plane updates two counters and two histograms per call, and that
 * came to ~4.6 µs of a call's CPU. Here a label set is bound once into a cell (a number, or a
 * histogram's bucket counts, sum and count), the data plane keeps the cell (metric-children.ts),
 * and an update is a few additions. The registry reads the cells at scrape time through the same
 * `get()` / `getForPromString()` contract prom-client's own metrics use, so the exposition is
 * prom-client's, byte for byte (test/shared/bound-metrics.test.ts compares them).
 */
import type { Metric, Registry } from 'prom-client';

/** The exposition's `# TYPE` of the metrics this module makes. */
type BoundType = 'counter' | 'histogram';

type Labels = Record<string, string>;

/** A value as prom-client's registry formats it: `labels` first, then `sharedLabels`. */
interface ExportedValue {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly sharedLabels?: Labels;
  readonly metricName?: string;
}

interface Exported {
  readonly name: string;
  readonly help: string;
  readonly type: BoundType;
  readonly aggregator: 'sum';
  readonly values: ExportedValue[];
}

interface Options<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly registers: readonly Registry[];
}

abstract class BoundMetric<L extends string, C extends { readonly labels: Labels }> {
  readonly name: string;
  readonly help: string;
  readonly aggregator = 'sum' as const;
  abstract readonly type: BoundType;
  readonly #labelNames: readonly L[];
  /**
   * Label values joined by NUL → cell: used only when a label set is bound, never per update. As
   * with prom-client, every label set stays until reset(): the callers bound the values they pass.
   */
  #cells = new Map<string, C>();

  constructor(options: Options<L>) {
    this.name = options.name;
    this.help = options.help;
    this.#labelNames = options.labelNames;
    // prom-client's Registry reads only `name`, `type` and `get()` / `getForPromString()` of a metric.
    for (const registry of options.registers) registry.registerMetric(this as unknown as Metric);
  }

  /** The cell of these label values (in labelNames order): bind once, update many times. */
  labels(...values: string[]): C {
    if (values.length !== this.#labelNames.length) {
      throw new Error(`${this.name}: ${this.#labelNames.length} label values expected, got ${values.length}`);
    }
    const key = values.join('\u0000');
    let cell = this.#cells.get(key);
    if (cell === undefined) {
      const labels: Labels = {};
      this.#labelNames.forEach((name, i) => {
        labels[name] = values[i]!;
      });
      cell = this.create(labels);
      this.#cells.set(key, cell);
    }
    return cell;
  }

  /** Count by an object of labels (cold paths). */
  protected cellOf(labels: Partial<Record<L, string>>): C {
    return this.labels(...this.#labelNames.map((name) => labels[name] ?? ''));
  }

  reset(): void {
    this.#cells = new Map();
  }

  protected abstract create(labels: Labels): C;
  protected abstract exported(cell: C): ExportedValue[];

  async getForPromString(): Promise<Exported> {
    const values: ExportedValue[] = [];
    for (const cell of this.#cells.values()) values.push(...this.exported(cell));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** As prom-client's get(): every value's labels in one object. */
  async get(): Promise<Exported> {
    const data = await this.getForPromString();
    const values = data.values.map(({ labels, sharedLabels, ...rest }) => ({
      ...rest,
      labels: { ...labels, ...sharedLabels },
    }));
    return { ...data, values };
  }
}

export class CounterCell {
  value = 0;
  constructor(readonly labels: Labels) {}

  inc(by = 1): void {
    this.value += by;
  }
}

/** A counter whose label sets are bound once (`labels(...)` returns the cell to `inc()`). */
export class BoundCounter<L extends string> extends BoundMetric<L, CounterCell> {
  readonly type = 'counter' as const;

  /** Count one (or `by`) for an object of labels: a lookup per call, for cold paths. */
  inc(labels: Partial<Record<L, string>>, by = 1): void {
    this.cellOf(labels).inc(by);
  }

  protected create(labels: Labels): CounterCell {
    return new CounterCell(labels);
  }

  protected exported(cell: CounterCell): ExportedValue[] {
    return [{ value: cell.value, labels: cell.labels }];
  }
}

export class HistogramCell {
  /** Observations per bucket (not cumulative; the export adds them up). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    this.sum += value;
    this.count += 1;
    const { bounds } = this;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]! += 1;
        return;
      }
    }
  }
}

/** A histogram whose label sets are bound once (`labels(...)` returns the cell to `observe()`). */
export class BoundHistogram<L extends string> extends BoundMetric<L, HistogramCell> {
  readonly type = 'histogram' as const;
  readonly #bounds: readonly number[];

  constructor(options: Options<L> & { readonly buckets: readonly number[] }) {
    super(options);
    this.#bounds = [...options.buckets].sort((a, b) => a - b);
  }

  protected create(labels: Labels): HistogramCell {
    return new HistogramCell(labels, this.#bounds);
  }

  protected exported(cell: HistogramCell): ExportedValue[] {
    const bucket = `${this.name}_bucket`;
    const values: ExportedValue[] = [];
    let cumulative = 0;
    this.#bounds.forEach((le, i) => {
      cumulative += cell.counts[i]!;
      values.push({ value: cumulative, labels: { le }, sharedLabels: cell.labels, metricName: bucket });
    });
    values.push(
      { value: cell.count, labels: { le: '+Inf' }, sharedLabels: cell.labels, metricName: bucket },
      { value: cell.sum, labels: {}, sharedLabels: cell.labels, metricName: `${this.name}_sum` },
      { value: cell.count, labels: {}, sharedLabels: cell.labels, metricName: `${this.name}_count` },
    );
    return values;
  }
}
