// Feeds one sink from one chain of the store: read after the sink's persisted cursor, deliver, then
// move the cursor. The store is the buffer, so a slow or dead receiver costs lag, never records, and a
// restart picks up where the cursor says (at least once: a batch delivered just before a crash, whose
// cursor move was lost, is sent again).
import type { Logger } from 'pino';
import type { AuditEntry } from '../entry.ts';
import type { AuditRow, AuditStore } from '../../store/audit-store.ts';
import { Pause, backoffDelay, type RetryPolicy } from './backoff.ts';
import { SinkDeliveryError, type AuditSink, type SinkRecord } from './sink.ts';

export interface SinkRunnerOptions {
  sink: AuditSink;
  store: AuditStore;
  chain: string;
  /** Most records per write. */
  batch: number;
  /** Lag (records) past which the sink counts as behind. */
  maxLag: number;
  overflow: 'fail_closed' | 'spill';
  retry: RetryPolicy;
  logger: Logger;
  /** Look for rows written by other processes this often when idle (default 1000 ms). */
  pollIntervalMs?: number;
  /** Jitter source, [0, 1). */
  random?: () => number;
  /** stop() closes the sink too (default true: one sink per runner). False when runners share a sink. */
  ownsSink?: boolean;
}

export interface SinkStatus {
  sink: string;
  kind: string;
  chain: string;
  /** Last seq delivered (and persisted). */
  cursor: number;
  /** Highest seq of the chain last seen. */
  head: number;
  lag: number;
  /** Records delivered since start. */
  delivered: number;
  /** Failed attempts since start. */
  failures: number;
  /** Failed attempts since the last delivery (0 when healthy). */
  consecutiveFailures: number;
  lastError?: string;
  lastErrorAt?: string;
  lastDeliveredAt?: string;
  behind: boolean;
  overflow: 'fail_closed' | 'spill';
}

export class SinkRunner {
  readonly #o: SinkRunnerOptions;
  readonly #log: Logger;
  readonly #poll: number;
  readonly #abort = new AbortController();
  readonly #behindListeners = new Set<(s: SinkStatus) => void>();
  readonly #flushWaiters = new Set<{ target: number; resolve: (ok: boolean) => void }>();
  #loop: Promise<void> | undefined;
  #cursor = 0;
  #head = 0;
  #delivered = 0;
  #failures = 0;
  #consecutive = 0;
  #lastError: string | undefined;
  #lastErrorAt: string | undefined;
  #lastDeliveredAt: string | undefined;
  #behind = false;
  #stopped = false;
  #stopping: Promise<void> | undefined;
  readonly #pause = new Pause();
  /** Set by flush(): the next backoff is cut short. */
  #hurry = false;
  #skipNoticed = 0;

  constructor(opts: SinkRunnerOptions) {
    this.#o = opts;
    this.#poll = opts.pollIntervalMs ?? 1000;
    this.#log = opts.logger.child({ sink: opts.sink.name, sinkKind: opts.sink.kind, chain: opts.chain });
  }

  get name(): string {
    return this.#o.sink.name;
  }

  get chain(): string {
    return this.#o.chain;
  }

  /** Starts the loop (idempotent). */
  start(): void {
    if (this.#loop !== undefined || this.#stopped) return;
    this.#loop = this.#run().catch((err: unknown) => {
      // #run catches everything it expects; this is a bug, and must not become an unhandled rejection.
      this.#log.error({ err }, 'audit sink runner stopped unexpectedly');
    });
  }

  /** New rows were committed (`seq`: the highest now in the chain, when the caller knows it). */
  wake(seq?: number): void {
    if (seq !== undefined && seq > this.#head) {
      this.#head = seq;
      this.#checkBehind();
    }
    this.#pause.poke();
  }

  status(): SinkStatus {
    const s: SinkStatus = {
      sink: this.#o.sink.name,
      kind: this.#o.sink.kind,
      chain: this.#o.chain,
      cursor: this.#cursor,
      head: this.#head,
      lag: this.#lag(),
      delivered: this.#delivered,
      failures: this.#failures,
      consecutiveFailures: this.#consecutive,
      behind: this.#behind,
      overflow: this.#o.overflow,
    };
    if (this.#lastError !== undefined) s.lastError = this.#lastError;
    if (this.#lastErrorAt !== undefined) s.lastErrorAt = this.#lastErrorAt;
    if (this.#lastDeliveredAt !== undefined) s.lastDeliveredAt = this.#lastDeliveredAt;
    return s;
  }

  /** Called with the status each time `behind` flips. Returns an unsubscribe function. */
  onBehindChange(cb: (s: SinkStatus) => void): () => void {
    this.#behindListeners.add(cb);
    return () => this.#behindListeners.delete(cb);
  }

  /**
   * Delivers what the chain holds now, waiting at most `timeoutMs`; true when the sink caught up.
   * A pending backoff is cut short: at shutdown one more try beats waiting out the delay.
   */
  async flush(timeoutMs: number): Promise<boolean> {
    if (this.#stopped) return false;
    let target = this.#head;
    try {
      target = Math.max(target, (await this.#o.store.auditHead(this.#o.chain))?.seq ?? 0);
    } catch (err) {
      this.#log.warn({ err: errText(err) }, 'flush: cannot read the chain head; flushing to the last head seen');
    }
    if (target > this.#head) {
      this.#head = target;
      this.#checkBehind();
    }
    if (this.#cursor >= target) return true;
    if (this.#loop === undefined) return false;
    return new Promise<boolean>((resolve) => {
      const waiter = { target, resolve: (ok: boolean) => finish(ok) };
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        this.#flushWaiters.delete(waiter);
        resolve(ok);
      };
      this.#flushWaiters.add(waiter);
      this.#hurry = true;
      this.#pause.poke();
      this.#pause.cut();
    });
  }

  /**
   * Ends the loop, aborting an in-flight delivery (its records are sent again next start), and closes
   * the sink unless `ownsSink` is false. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort(new Error('sink runner stopping'));
    this.#pause.cut();
    for (const w of [...this.#flushWaiters]) w.resolve(false);
    await this.#loop;
    if (this.#o.ownsSink !== false) {
      await this.#o.sink.close().catch((err: unknown) => this.#log.warn({ error: errText(err) }, 'closing the audit sink failed'));
    }
  }

  async #run(): Promise<void> {
    const { store, chain, sink } = this.#o;
    // The first cursor read is retried like a delivery: the store may be down at startup.
    let loaded = false;
    let attempt = 0;
    while (!this.#stopped) {
      let retryAfterMs: number | undefined;
      try {
        if (!loaded) {
          this.#cursor = await store.getAuditCursor(sink.name, chain);
          this.#head = Math.max(this.#head, (await store.auditHead(chain))?.seq ?? 0);
          loaded = true;
          this.#checkBehind();
        }
        // The read below sees whatever a poke so far announced.
        this.#pause.takePoke();
        const rows = await store.readAudit(chain, this.#cursor, this.#o.batch);
        if (rows.length === 0) {
          // Caught up with what this process can see; the head may also have moved back (pruned, reset).
          if (this.#head < this.#cursor) this.#head = this.#cursor;
          this.#checkBehind();
          this.#settleFlushes();
          attempt = 0;
          // A poke since the read began means rows may have landed after it: read again at once.
          if (!this.#pause.takePoke()) await this.#sleep(this.#poll, true);
          continue;
        }
        const records = rows.map(toRecord);
        this.#noticeSkipped(rows[0]!.seq);
        await sink.write(records, this.#abort.signal);
        const last = rows[rows.length - 1]!.seq;
        await store.setAuditCursor(sink.name, chain, last);
        this.#onDelivered(rows.length, last, attempt);
        attempt = 0;
        // A short batch was everything there was; after a full one, ask how far the chain goes.
        if (rows.length < this.#o.batch) this.#head = Math.max(this.#head, last);
        else this.#head = Math.max(this.#head, last, (await store.auditHead(chain))?.seq ?? 0);
        this.#checkBehind();
        this.#settleFlushes();
        continue;
      } catch (err) {
        if (this.#stopped) break;
        attempt++;
        this.#failed(err, attempt);
        if (err instanceof SinkDeliveryError) retryAfterMs = err.retryAfterMs;
      }
      await this.#refreshHead();
      let delay = backoffDelay(attempt, this.#o.retry, this.#o.random);
      if (retryAfterMs !== undefined && retryAfterMs > delay) delay = retryAfterMs;
      if (this.#hurry) {
        this.#hurry = false;
        delay = 0;
      }
      await this.#sleep(delay, false);
    }
  }

  #onDelivered(n: number, last: number, attempts: number): void {
    this.#cursor = last;
    this.#delivered += n;
    this.#lastDeliveredAt = new Date().toISOString();
    if (this.#consecutive > 0) this.#log.info({ failedAttempts: attempts, cursor: last }, 'audit sink delivering again');
    this.#consecutive = 0;
    this.#log.debug({ records: n, cursor: last }, 'audit records delivered');
  }

  #failed(err: unknown, attempt: number): void {
    this.#failures++;
    this.#consecutive++;
    this.#lastError = errText(err);
    this.#lastErrorAt = new Date().toISOString();
    const fields = { attempt, cursor: this.#cursor, lag: this.#lag(), error: this.#lastError };
    if (err instanceof SinkDeliveryError && err.refused) this.#log.error(fields, 'audit sink receiver refused a batch; retrying with backoff (nothing is skipped)');
    else this.#log.warn(fields, 'audit sink delivery failed; retrying with backoff');
    if (err instanceof SinkDeliveryError && err.answer !== undefined) this.#log.debug({ answer: err.answer }, 'audit sink receiver answer');
  }

  /** Rows below the first one read are gone (retention): retention reports them as undelivered. */
  #noticeSkipped(first: number): void {
    // Once per gap, not once per retry of the batch after it.
    if (first === this.#cursor + 1 || first === this.#skipNoticed) return;
    this.#skipNoticed = first;
    if (this.#cursor === 0) this.#log.info({ firstSeq: first }, 'audit sink starts after pruned entries');
    else this.#log.warn({ cursor: this.#cursor, firstSeq: first, missing: first - this.#cursor - 1 }, 'audit entries were pruned before this sink delivered them');
  }

  async #refreshHead(): Promise<void> {
    try {
      const head = (await this.#o.store.auditHead(this.#o.chain))?.seq;
      if (head !== undefined && head > this.#head) this.#head = head;
    } catch {
      // The store being down is the error already being handled; the head seen last stands.
    }
    this.#checkBehind();
  }

  #lag(): number {
    return Math.max(0, this.#head - this.#cursor);
  }

  #checkBehind(): void {
    const behind = this.#lag() > this.#o.maxLag;
    if (behind === this.#behind) return;
    this.#behind = behind;
    const s = this.status();
    if (behind) this.#log.warn({ lag: s.lag, maxLag: this.#o.maxLag, overflow: this.#o.overflow }, 'audit sink fell behind');
    else this.#log.info({ lag: s.lag }, 'audit sink caught up');
    for (const cb of this.#behindListeners) {
      try {
        cb(s);
      } catch (err) {
        this.#log.error({ err: errText(err) }, 'audit sink behind-change listener threw');
      }
    }
  }

  #settleFlushes(): void {
    for (const w of [...this.#flushWaiters]) if (this.#cursor >= w.target) w.resolve(true);
    if (this.#flushWaiters.size === 0) this.#hurry = false;
  }

  #sleep(ms: number, wakeable: boolean): Promise<void> {
    return this.#stopped ? Promise.resolve() : this.#pause.sleep(ms, wakeable);
  }
}

function toRecord(row: AuditRow): SinkRecord {
  let entry: AuditEntry;
  try {
    entry = JSON.parse(row.text) as AuditEntry;
  } catch {
    // Stored text that is not JSON means a damaged store; holding the cursor here keeps it visible
    // (lag grows, verification points at the row) instead of skipping a record.
    throw new Error(`audit entry ${row.chain}#${row.seq} in the store is not valid JSON`);
  }
  return { entry, hash: row.hash, text: row.text };
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
