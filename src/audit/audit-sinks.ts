// The streams of one chain (each sink fed from the store by its own cursor) and retention, which
// must know those cursors: a record pruned before a sink got it is a gap in that sink's stream.
import type { Logger } from 'pino';
import type { AuditConfig, AuditSinkConfig } from '../config/schema/audit.ts';
import { VERSION } from '../core/version.ts';
import type { AuditStore } from '../store/audit-store.ts';
import type { AuditGap } from './entry.ts';
import { applyRetention, planRetention } from './retention.ts';
import { makeSink } from './sinks/make-sink.ts';
import { SinkRunner, type SinkStatus } from './sinks/sink-runner.ts';

/** How long closing lets the sinks deliver what is committed. */
const CLOSE_FLUSH_MS = 2_000;

export interface AuditSinksOptions {
  readonly store: AuditStore;
  readonly chain: string;
  readonly sinks: readonly AuditSinkConfig[];
  /** Config folder: relative sink paths resolve against it. */
  readonly dir: string;
  readonly retention: AuditConfig['retention'];
  readonly log: Logger;
  /** A gap to record in the trail (a sink fell behind, records pruned before delivery). */
  readonly onGap: (gap: AuditGap) => void;
}

export interface SinksStatus {
  readonly streams: SinkStatus[];
  readonly retention: { readonly lastRun: string | undefined; readonly pruned: number; readonly lastError: string | undefined };
}

export class AuditSinks {
  readonly #o: AuditSinksOptions;
  readonly #runners: SinkRunner[] = [];
  readonly #closedBehind = new Set<string>();
  #timer: NodeJS.Timeout | undefined = undefined;
  #retaining: Promise<void> | undefined = undefined;
  #lastRun: string | undefined = undefined;
  #pruned = 0;
  #retentionError: string | undefined = undefined;

  constructor(o: AuditSinksOptions) {
    this.#o = o;
  }

  start(): void {
    for (const cfg of this.#o.sinks) {
      const runner = new SinkRunner({
        sink: makeSink(cfg, { dir: this.#o.dir, version: VERSION, logger: this.#o.log }),
        store: this.#o.store,
        chain: this.#o.chain,
        batch: cfg.batch,
        maxLag: cfg.maxLag,
        overflow: cfg.overflow,
        retry: cfg.retry,
        logger: this.#o.log,
      });
      runner.onBehindChange((s) => this.#behindChanged(s));
      runner.start();
      this.#runners.push(runner);
    }
    const r = this.#o.retention;
    if (r.maxAgeDays !== undefined || r.maxBytes !== undefined) {
      this.#timer = setInterval(() => void this.runRetention(), r.intervalSeconds * 1000);
      this.#timer.unref();
      setImmediate(() => void this.runRetention());
    }
  }

  /** True while a sink configured to fail closed is behind: new calls are refused. */
  get failClosed(): boolean {
    return this.#closedBehind.size > 0;
  }

  /** New entries up to `seq` are in the store: sinks deliver them and measure their lag against it. */
  wake(seq: number): void {
    for (const r of this.#runners) r.wake(seq);
  }

  status(): SinksStatus {
    return { streams: this.#runners.map((r) => r.status()), retention: { lastRun: this.#lastRun, pruned: this.#pruned, lastError: this.#retentionError } };
  }

  /** One retention pass (also run by the timer); undelivered records become gap entries. */
  runRetention(now = new Date()): Promise<void> {
    this.#retaining ??= (async () => {
      try {
        // Each instance prunes its own chain: other chains have their own sinks (and cursors) elsewhere.
        const marks = (await planRetention(this.#o.store, this.#o.retention, now)).filter((m) => m.chain === this.#o.chain);
        if (marks.length === 0) return;
        const r = await applyRetention(this.#o.store, marks, this.#runners.filter((x) => x.chain === this.#o.chain).map((x) => x.name));
        this.#pruned += r.pruned;
        this.#o.log.info({ pruned: r.pruned, marks: marks.map((m) => ({ chain: m.chain, throughSeq: m.throughSeq, reason: m.reason })) }, 'audit retention removed old records');
        for (const u of r.undelivered) {
          this.#o.onGap({ reason: 'pruned_before_delivery', lost: u.lost, sink: u.sink, from: u.from, to: u.to, detail: `chain ${u.chain}` });
        }
        this.#retentionError = undefined;
      } catch (err) {
        this.#retentionError = (err as Error).message;
        this.#o.log.error({ err }, 'audit retention failed');
      } finally {
        this.#lastRun = now.toISOString();
      }
    })().finally(() => (this.#retaining = undefined));
    return this.#retaining;
  }

  #behindChanged(s: SinkStatus): void {
    if (s.behind && s.overflow === 'fail_closed') this.#closedBehind.add(s.sink);
    else this.#closedBehind.delete(s.sink);
    // The runner logs the transition itself; what is added here is the trail's own record of it.
    if (s.behind) {
      const now = new Date().toISOString();
      this.#o.onGap({ reason: 'sink_behind', lost: 0, sink: s.sink, from: s.lastDeliveredAt ?? now, to: now, detail: `lag ${s.lag} records (maxLag exceeded; overflow ${s.overflow})` });
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#retaining;
    await Promise.all(this.#runners.map((r) => r.flush(CLOSE_FLUSH_MS)));
    await Promise.all(this.#runners.map((r) => r.stop()));
  }
}
