import type { Semaphore } from './semaphore.ts';
import type { LimitStats } from './stats.ts';

/** Where a held slot goes back to when the exchange ends. */
export interface HeldSlot {
  readonly key: string;
  readonly sem: Semaphore;
  readonly stats: LimitStats;
}

/**
 * The concurrency slots one admitted exchange holds. runExchange releases them when the exchange's work
 * ends, whichever way it ends (answer, error, upstream timeout, cancellation); release() is idempotent,
 * so a slot is given back exactly once.
 */
export class Admission {
  readonly #slots: readonly HeldSlot[];
  readonly #drop: (key: string, sem: Semaphore) => void;
  #released = false;

  constructor(slots: readonly HeldSlot[], drop: (key: string, sem: Semaphore) => void) {
    this.#slots = slots;
    this.#drop = drop;
  }

  get released(): boolean {
    return this.#released;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    for (const s of this.#slots) {
      s.stats.inFlight--;
      s.sem.release();
      if (s.sem.idle) this.#drop(s.key, s.sem);
    }
  }
}
