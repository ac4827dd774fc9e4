// Metrics updated on every exchange. prom-client's own counters hash their label set into a string on
// every inc() (0.5-1 µs each, measured); here a label set is found by walking nested Maps with the
// values themselves, and a hit costs a few Map lookups and one number increment. Exposition goes
// through prom-client's registry all the same (see `asPromMetric`).

/** Label value of "not applicable" (a method served by the gateway has no upstream). */
export const NONE = '';
/** Label value that unknown, unbounded or surplus values fold into. */
export const OTHER = '_other';

/** Default bound on the label sets of one metric: beyond it every new set is counted under `_other`. */
export const MAX_SERIES = 5_000;

/** One label set of a table, made when first seen. */
interface Made<S> {
  readonly labels: Readonly<Record<string, string>>;
  readonly series: S;
}

/**
 * Label sets of one metric, found by their values (in `labelNames` order) without building a key.
 * The number of sets is bounded: past `maxSeries`, values not seen yet fold into one set whose every
 * label is `_other`, so a bug upstream of the bounding (or a flood of distinct names) cannot grow the
 * registry without end.
 */
export class SeriesTable<S> {
  readonly labelNames: readonly string[];
  readonly #make: (labels: Readonly<Record<string, string>>) => S;
  readonly #root = new Map<string, unknown>();
  readonly #all: Made<S>[] = [];
  readonly #max: number;
  #overflow: S | undefined;

  constructor(labelNames: readonly string[], make: (labels: Readonly<Record<string, string>>) => S, maxSeries = MAX_SERIES) {
    if (labelNames.length === 0) throw new RangeError('a series table needs at least one label');
    this.labelNames = labelNames;
    this.#make = make;
    this.#max = maxSeries;
  }

  get size(): number {
    return this.#all.length;
  }

  /** The series of `values` (one per label, in order); `values` is read, never kept. */
  at(values: readonly string[]): S {
    const last = this.labelNames.length - 1;
    let level = this.#root;
    for (let i = 0; i < last; i++) {
      const next = level.get(values[i]!) as Map<string, unknown> | undefined;
      if (next === undefined) return this.#create(values);
      level = next;
    }
    const s = level.get(values[last]!) as S | undefined;
    return s ?? this.#create(values);
  }

  /** Every label set with its series, in the order first seen. */
  entries(): readonly Made<S>[] {
    return this.#all;
  }

  #create(values: readonly string[]): S {
    if (this.#all.length >= this.#max) return (this.#overflow ??= this.#insert(this.labelNames.map(() => OTHER)));
    return this.#insert(values);
  }

  #insert(values: readonly string[]): S {
    const built: Record<string, string> = {};
    for (let i = 0; i < this.labelNames.length; i++) built[this.labelNames[i]!] = values[i]!;
    const labels = Object.freeze(built);
    const last = this.labelNames.length - 1;
    let level = this.#root;
    for (let i = 0; i < last; i++) {
      let next = level.get(values[i]!) as Map<string, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(values[i]!, next);
      }
      level = next;
    }
    // The overflow set may equal a real one (all values `_other`): keep the first, count into it.
    const existing = level.get(values[last]!) as S | undefined;
    if (existing !== undefined) return existing;
    const series = this.#make(labels);
    level.set(values[last]!, series);
    this.#all.push({ labels, series });
    return series;
  }
}

/** A counter's one label set. */
export class CounterSeries {
  value = 0;

  inc(by = 1): void {
    this.value += by;
  }
}

/** A histogram's one label set: counts per bucket (not cumulative), sum and count. */
export class HistogramSeries {
  readonly #bounds: readonly number[];
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    // Not finite or negative (a clock oddity): dropped rather than poisoning the sum.
    if (!(value >= 0) || value === Infinity) return;
    const b = this.#bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i] = this.counts[i]! + 1;
    this.sum += value;
    this.count++;
  }
}
