import { validateMetricName, type Metric, type Registry } from 'prom-client';
import { CounterSeries, HistogramSeries, SeriesTable } from './series.ts';

export interface HotDefinition {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly maxSeries?: number;
}

interface PromValue {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
  readonly metricName?: string;
}

interface PromMetricData {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly aggregator: 'sum';
  readonly values: readonly PromValue[];
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function checkDefinition(d: HotDefinition): void {
  if (!validateMetricName(d.name)) throw new Error(`invalid metric name ${d.name}`);
  for (const l of d.labelNames) if (!LABEL_NAME.test(l) || l.startsWith('__') || l === 'le') throw new Error(`invalid label name ${l} on ${d.name}`);
}

/**
 * Adds a hot metric to a prom-client registry. The registry only asks a metric for `name`, `type`,
 * `get()` (values in prom-client's own shape, `metricName` for histogram lines) and `reset()`; its
 * type names the four built-in classes, hence the one cast here. test/observe/metrics/series.test.ts
 * checks the text against prom-client's own classes fed the same observations.
 */
function register(registry: Registry, m: { get(): Promise<PromMetricData>; reset(): void; readonly name: string }): void {
  registry.registerMetric(m as unknown as Metric);
}

/** A labelled counter updated per exchange. */
export class HotCounter {
  readonly name: string;
  readonly help: string;
  readonly type = 'counter';
  readonly aggregator = 'sum';
  readonly labelNames: readonly string[];
  readonly table: SeriesTable<CounterSeries>;

  constructor(registry: Registry, d: HotDefinition) {
    checkDefinition(d);
    this.name = d.name;
    this.help = d.help;
    this.labelNames = d.labelNames;
    this.table = new SeriesTable(d.labelNames, () => new CounterSeries(), d.maxSeries);
    register(registry, this);
  }

  at(values: readonly string[]): CounterSeries {
    return this.table.at(values);
  }

  async get(): Promise<PromMetricData> {
    return { name: this.name, help: this.help, type: 'counter', aggregator: 'sum', values: this.table.entries().map((e) => ({ labels: e.labels, value: e.series.value })) };
  }

  reset(): void {
    for (const e of this.table.entries()) e.series.value = 0;
  }
}

/** A labelled histogram updated per exchange; `buckets` are upper bounds, ascending. */
export class HotHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly buckets: readonly number[];
  readonly labelNames: readonly string[];
  readonly table: SeriesTable<HistogramSeries>;

  constructor(registry: Registry, d: HotDefinition & { readonly buckets: readonly number[] }) {
    checkDefinition(d);
    for (let i = 0; i < d.buckets.length; i++) {
      const b = d.buckets[i]!;
      if (!Number.isFinite(b) || (i > 0 && b <= d.buckets[i - 1]!)) throw new Error(`${d.name}: buckets must be finite and ascending`);
    }
    this.name = d.name;
    this.help = d.help;
    this.labelNames = d.labelNames;
    this.buckets = Object.freeze([...d.buckets]);
    this.table = new SeriesTable(d.labelNames, () => new HistogramSeries(this.buckets), d.maxSeries);
    register(registry, this);
  }

  at(values: readonly string[]): HistogramSeries {
    return this.table.at(values);
  }

  async get(): Promise<PromMetricData> {
    const values: PromValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const { labels, series } of this.table.entries()) {
      let acc = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        acc += series.counts[i]!;
        values.push({ labels: { le: this.buckets[i]!, ...labels }, value: acc, metricName: bucket });
      }
      values.push({ labels: { le: '+Inf', ...labels }, value: series.count, metricName: bucket });
      values.push({ labels, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values };
  }

  reset(): void {
    for (const { series } of this.table.entries()) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}
