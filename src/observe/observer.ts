import type { Logger } from 'pino';
import type { ExchangeRecord } from '../pipeline/record.ts';

/** Consumes finished exchanges: audit, metrics, traces. Never in the request path's way. */
export interface ExchangeObserver {
  readonly name: string;
  onComplete(record: Readonly<ExchangeRecord>): void;
}

/**
 * Fans one record out to every observer. An observer that throws is logged and counted, never
 * propagated: the agent's response has nothing to do with how an observer fares.
 */
export class ObserverSet {
  readonly #observers: ExchangeObserver[] = [];
  readonly #log: Logger;
  failures = 0;

  constructor(log: Logger) {
    this.#log = log;
  }

  add(o: ExchangeObserver): () => void {
    this.#observers.push(o);
    return () => {
      const i = this.#observers.indexOf(o);
      if (i >= 0) this.#observers.splice(i, 1);
    };
  }

  emit(record: ExchangeRecord): void {
    Object.freeze(record);
    for (const o of this.#observers) {
      try {
        o.onComplete(record);
      } catch (err) {
        this.failures++;
        this.#log.error({ err, observer: o.name }, 'observer failed');
      }
    }
  }
}
