import type { Logger } from 'pino';

/**
 * Whether the shared counters answer, as the limits have seen it: one warning when an outage starts
 * and one line when it ends, however many calls meet it meanwhile; and the counts statistics show.
 */
export class CounterHealth {
  /** Redis commands that failed or timed out (or were not sent: Redis was known to be down). */
  failures = 0;
  /** Counter operations done on this instance's memory instead (`failureMode: local`). */
  fallbacks = 0;
  /** Set by the runtime from the snapshot in force: what a refusal or the log says happens meanwhile. */
  failureMode: 'fail_closed' | 'local' = 'fail_closed';
  #downSince: number | undefined = undefined;
  readonly #log: Logger;
  /** Where Redis is, credentials left out. */
  readonly where: string;

  constructor(log: Logger, where: string) {
    this.#log = log;
    this.where = where;
  }

  get down(): boolean {
    return this.#downSince !== undefined;
  }

  /** A command failed (counted), or the connection dropped (not a command: not counted). */
  failed(err: unknown, command: boolean): void {
    if (command) this.failures++;
    if (this.#downSince !== undefined) return;
    this.#downSince = Date.now();
    const then = this.failureMode === 'local' ? 'limited calls are counted on this instance alone until it is back' : 'limited calls are refused (limits_unavailable) until it is back';
    this.#log.warn({ redis: this.where, err: err instanceof Error ? err.message : String(err), failureMode: this.failureMode }, `traffic limits: Redis is unreachable; ${then}`);
  }

  recovered(): void {
    if (this.#downSince === undefined) return;
    const downMs = Date.now() - this.#downSince;
    this.#downSince = undefined;
    this.#log.info({ redis: this.where, downMs, failures: this.failures, fallbacks: this.fallbacks }, 'traffic limits: Redis is reachable again; counters are shared again');
  }
}

/** A Redis URL fit for logs: scheme, host, port and database, never the user or password. */
export function redisWhere(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return 'redis';
  }
}
