import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';

let shared: readonly Metric[] | undefined;

/**
 * prom-client's default metrics (CPU, memory, heap spaces, event loop lag, GC, handles, Node.js
 * version), prefixed `gatehouse_`. They describe the process, not a gateway, so they are made once per
 * process (their GC observer and event-loop monitor run for the process's life) and each gateway's
 * registry lists the same metric objects.
 */
export function processMetrics(): readonly Metric[] {
  if (shared === undefined) {
    const r = new Registry();
    collectDefaultMetrics({ register: r, prefix: 'gatehouse_' });
    shared = r.getMetricsAsArray() as unknown as Metric[];
  }
  return shared;
}
