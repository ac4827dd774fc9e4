import type { Registry } from 'prom-client';

/** One metric family a registry serves, as documentation and the dashboard check read it. */
export interface MetricDescription {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  /** The sample names it writes: itself, or a histogram's `_bucket`, `_sum` and `_count`. */
  readonly samples: readonly string[];
}

/** Every metric family of `registry` (prom-client's own and the hot ones alike carry `labelNames`). */
export function describeMetrics(registry: Registry): MetricDescription[] {
  return registry.getMetricsAsArray().map((m) => {
    const { name, help, labelNames } = m as unknown as { name: string; help: string; labelNames?: readonly string[] };
    const type = String(m.type);
    const samples = type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : type === 'summary' ? [name, `${name}_sum`, `${name}_count`] : [name];
    return { name, type, help, labelNames: [...(labelNames ?? []), ...(type === 'histogram' ? ['le'] : type === 'summary' ? ['quantile'] : [])], samples };
  });
}
