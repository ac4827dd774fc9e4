import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * A group of metrics read from the gateway's state at scrape time, all at once (one call to the
 * source feeds several metrics). `collect()` rebuilds every series of the group, so what left the
 * configuration (an upstream, a sink) leaves the output too.
 */
export interface Collector {
  readonly name: string;
  collect(): void;
}

/**
 * Metrics of a collector: prom-client gauges, and counters whose value is a running total kept by
 * the gateway (set each scrape; a total that starts over, as when an upstream is replaced, reads as
 * a counter reset, which rate() handles).
 */
export class StateMetrics {
  readonly #registry: Registry;
  readonly #all: (Gauge<string> | Counter<string>)[] = [];

  constructor(registry: Registry) {
    this.#registry = registry;
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge<string> {
    const g = new Gauge({ name, help, labelNames, registers: [this.#registry] });
    this.#all.push(g);
    return g;
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter<string> {
    const c = new Counter({ name, help, labelNames, registers: [this.#registry] });
    this.#all.push(c);
    return c;
  }

  /** Forgets every series of the group before it is read again. */
  reset(): void {
    for (const m of this.#all) m.reset();
  }
}

/** Sets a counter (just reset) to a running total. */
export function total(c: Counter<string>, value: number, labels?: Record<string, string>): void {
  if (!(value >= 0) || !Number.isFinite(value)) return;
  if (labels === undefined) c.inc(value);
  else c.inc(labels, value);
}
