import type { CountersConfig, KeyDimension } from '../../config/schema/traffic.ts';
import type { GlobSet } from '../../policy/glob.ts';

export type QuotaPeriod = 'hour' | 'day' | 'month';

/** A token bucket as GCRA sees it: one token every `intervalMs`, at most `burst` at once. */
export interface CompiledRate {
  readonly tokens: number;
  readonly perMs: number;
  readonly burst: number;
  /** perMs / tokens: the time one token takes to come back. */
  readonly intervalMs: number;
  /** burst × intervalMs: how far ahead of now the bucket's arrival time may run. */
  readonly capacityMs: number;
}

export interface CompiledQuota {
  readonly limit: number;
  readonly per: QuotaPeriod;
}

export interface CompiledQueue {
  readonly size: number;
  readonly maxWaitMs: number;
}

/** The figures one call is held to under one limit (the limit's own, or an override's). */
export interface Figures {
  readonly rate: CompiledRate | undefined;
  readonly quota: CompiledQuota | undefined;
  readonly concurrency: number | undefined;
  readonly queue: CompiledQueue | undefined;
}

/**
 * Figures with the name of the counters they count in: `<limit>` for the limit's own, `<limit>#<n>` for
 * its n-th override (1-based), so callers an override matches never share counters with the others.
 */
export interface Counted {
  readonly tag: string;
  readonly figures: Figures;
}

/** Which calls a limit or override applies to; an absent field matches anything. */
export interface CallMatch {
  readonly tenants: GlobSet | undefined;
  readonly agents: GlobSet | undefined;
  readonly users: GlobSet | undefined;
  readonly roles: ReadonlySet<string> | undefined;
  readonly upstreams: GlobSet | undefined;
  readonly tools: GlobSet | undefined;
  readonly classes: ReadonlySet<string> | undefined;
  readonly methods: ReadonlySet<string> | undefined;
}

export interface CompiledOverride {
  readonly match: CallMatch;
  /** undefined: `unlimited`. */
  readonly counted: Counted | undefined;
}

export interface CompiledLimit {
  readonly name: string;
  /** Position in `traffic.limits`: the order a call is checked in. */
  readonly index: number;
  readonly match: CallMatch;
  readonly key: readonly KeyDimension[];
  readonly own: Counted;
  readonly overrides: readonly CompiledOverride[];
}

export interface CompiledTraffic {
  readonly counters: CountersConfig;
  /** Equal identities mean the same counter store: a reload that keeps it keeps the connection and the counts. */
  readonly countersIdentity: string;
  readonly limits: readonly CompiledLimit[];
  /**
   * Limits that may apply to a method on an upstream, in config order, worked out at compile time for
   * every configured upstream: a call none can apply to costs two map lookups.
   */
  readonly index: ReadonlyMap<string, ReadonlyMap<string, readonly CompiledLimit[]>>;
  /** Per method, every limit that may apply to it (for an upstream the index does not know). */
  readonly byMethod: ReadonlyMap<string, readonly CompiledLimit[]>;
}
