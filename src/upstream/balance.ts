// Which replica gets the next call: fewest outstanding calls, in O(n) with no allocation (n ≤ 32).

/** What the balancer reads of a replica. */
export interface Balanced {
  readonly state: string;
  readonly label: string;
  /** Calls with a deadline in flight. */
  readonly outstanding: number;
  /** Until when (performance.now()) to prefer others: a call there just failed in transport. */
  readonly avoidUntil: number;
}

/**
 * The ready replica with the fewest outstanding calls, scanning from `start` so that ties go to each in
 * turn. Replicas an earlier attempt of this call failed on (`avoid`) come last, then those where some
 * call just failed in transport: both are hints, so with nothing else ready one of them still gets the
 * call. Undefined when none is ready.
 */
export function leastOutstanding<R extends Balanced>(replicas: readonly R[], start: number, avoid: readonly string[] | undefined, now: number): R | undefined {
  const n = replicas.length;
  let best: R | undefined;
  let bestRank = 0;
  let bestLoad = 0;
  for (let k = 0, i = start < n ? start : 0; k < n; k++, i = i + 1 === n ? 0 : i + 1) {
    const r = replicas[i]!;
    if (r.state !== 'ready') continue;
    const rank = (avoid !== undefined && avoid.includes(r.label) ? 2 : 0) + (r.avoidUntil > now ? 1 : 0);
    const load = r.outstanding;
    if (best === undefined || rank < bestRank || (rank === bestRank && load < bestLoad)) {
      best = r;
      bestRank = rank;
      bestLoad = load;
    }
  }
  return best;
}
