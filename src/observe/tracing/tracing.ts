// What the pipeline and the router see of tracing. Types only: the implementation (and every
// OpenTelemetry package) is loaded by start.ts only when `telemetry.tracing.enabled`, so a gateway
// without tracing pays one `undefined` check per exchange and loads nothing.
import type { Exchange } from '../../pipeline/exchange.ts';
import type { Filter } from '../../pipeline/filter.ts';
import type { DecisionRecord } from '../../pipeline/record.ts';
import type { AttemptTracer } from '../../upstream/interceptors/tracing.ts';

/** The span of one exchange and what happens under it. Never throws into the request path. */
export interface ExchangeTrace {
  /**
   * A filter ran from `startedAt` (a `performance.now()` reading) until now: a child span named after
   * its phase and instance. `side` says whether it judged the request or the response.
   */
  filter(f: Filter, startedAt: number, kind: DecisionRecord['kind'], side: 'request' | 'response'): void;
  /** Runs the method handler under a span of its own; upstream attempts made meanwhile are its children. */
  handle<T>(run: () => T | Promise<T>): Promise<T>;
  /**
   * Ends the exchange span with the exchange's outcome. `withheld`: the answer was replaced because the
   * audit trail could not keep its record. Only the first call counts.
   */
  end(x: Exchange, withheld?: unknown): void;
}

/** The tracing runtime of a gateway. */
export interface Tracing {
  /** Starts the exchange span (child of the agent's span when it sent a `traceparent`) and sets `x.trace`. */
  begin(x: Exchange): void;
  /** For the router: a CLIENT span per upstream attempt. */
  readonly attempts: AttemptTracer;
  /** Exports every span ended so far; rejects when the collector could not take them. */
  flush(): Promise<void>;
  /** Exports what is left and stops exporting; spans ended afterwards are dropped. */
  close(): Promise<void>;
}
