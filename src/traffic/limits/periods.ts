import type { QuotaPeriod } from './types.ts';

/** One calendar period in UTC: its id (part of every quota key) and when it ends. */
export interface Period {
  /** `2026-11` (month), `2026-11-21` (day), `2026-11-21T13` (hour). */
  readonly id: string;
  readonly startsAt: number;
  /** Epoch ms of the next period's first instant. */
  readonly endsAt: number;
}

/**
 * The period `now` (epoch ms) falls in. The id is part of the quota's counter key, so counts start
 * from zero exactly at the boundary, whatever the counter's own expiry does.
 */
export function periodAt(per: QuotaPeriod, now: number): Period {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const iso = d.toISOString();
  switch (per) {
    case 'month':
      return { id: iso.slice(0, 7), startsAt: Date.UTC(y, m, 1), endsAt: Date.UTC(y, m + 1, 1) };
    case 'day': {
      const day = d.getUTCDate();
      return { id: iso.slice(0, 10), startsAt: Date.UTC(y, m, day), endsAt: Date.UTC(y, m, day + 1) };
    }
    case 'hour': {
      const day = d.getUTCDate();
      const h = d.getUTCHours();
      return { id: iso.slice(0, 13), startsAt: Date.UTC(y, m, day, h), endsAt: Date.UTC(y, m, day, h + 1) };
    }
  }
}

/**
 * The current period of each kind, recomputed only when a boundary has passed: a quota check costs a
 * comparison, not a date computation.
 */
export class PeriodClock {
  readonly #now: () => number;
  readonly #current = new Map<QuotaPeriod, Period>();

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  now(): number {
    return this.#now();
  }

  at(per: QuotaPeriod, now: number): Period {
    const p = this.#current.get(per);
    if (p !== undefined && now >= p.startsAt && now < p.endsAt) return p;
    const next = periodAt(per, now);
    this.#current.set(per, next);
    return next;
  }
}
