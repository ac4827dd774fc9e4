// Group commit of the audit chain. Entries are sealed (numbered and chained) as they arrive; every
// turn of the event loop the open batch goes to the store in one transaction, and the answers of
// all its exchanges are released together once it is durable. While a write is in flight the next
// batch fills up behind it: the slower the store, the larger the batches.
//
// When the store fails: `fail_closed` keeps the batches in memory (their answers wait) and retries;
// past `buffer` records new ones are refused and counted as lost. `spill` writes them to local disk
// (durable: answers are released) and replays the spill into the store, in chain order, once it
// takes writes again.
import type { Logger } from 'pino';
import { gatewayError, GatewayFault } from '../errors/codes.ts';
import { StoreError } from '../store/store.ts';
import type { AuditRow, AuditStore } from '../store/audit-store.ts';
import { sealEntry, type AuditEntryBody } from './chain.ts';
import type { SpillQueue } from './spill.ts';

/** Most rows in one store transaction. */
const MAX_ROWS = 1000;
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 5000;

export interface CommitterOptions {
  readonly store: AuditStore;
  readonly chain: string;
  /** Seq and hash of the last entry of the chain, wherever it is (store or spill). */
  readonly head: { readonly seq: number; readonly hash: string };
  /** Seq of the last entry in the store (below `head.seq` when spilled rows wait for replay). */
  readonly storedSeq: number;
  readonly buffer: number;
  readonly overflow: 'fail_closed' | 'spill';
  readonly spill: SpillQueue;
  readonly log: Logger;
  /** After rows reached the store (not the spill): checkpoints, sinks. */
  readonly onCommitted: (rows: readonly AuditRow[]) => void;
}

class Batch {
  readonly rows: AuditRow[] = [];
  readonly promise: Promise<void>;
  resolve!: () => void;
  reject!: (err: unknown) => void;
  constructor() {
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Refusals that nobody awaits must not surface as unhandled rejections.
    this.promise.catch(() => {});
  }
}

export interface CommitterStatus {
  readonly seq: number;
  readonly buffered: number;
  readonly committed: number;
  readonly spilled: number;
  readonly lost: number;
  readonly mode: 'direct' | 'spilling';
  readonly storeDown: boolean;
  readonly lastError: string | undefined;
}

export class Committer {
  readonly #o: CommitterOptions;
  #seq: number;
  #prev: string;
  #open: Batch | undefined = undefined;
  readonly #queue: Batch[] = [];
  #buffered = 0;
  #scheduled = false;
  #writing: Promise<void> | undefined = undefined;
  #mode: 'direct' | 'spilling' = 'direct';
  #replaying: Promise<void> | undefined = undefined;
  #closing = false;
  #forked = false;
  /** Highest seq known to be in the store: rows of a half-replayed segment are skipped on retry. */
  #storedSeq: number;
  readonly #sleepers = new Set<() => void>();
  storeDown = false;
  lastError: string | undefined = undefined;
  committed = 0;
  spilled = 0;
  /** Records refused because the buffer was full (fail_closed), and the time range they span. */
  lost = 0;
  lostSince: string | undefined = undefined;

  constructor(o: CommitterOptions) {
    this.#o = o;
    this.#seq = o.head.seq;
    this.#prev = o.head.hash;
    this.#storedSeq = o.storedSeq;
    if (o.spill.hasRows) this.#startSpilling(false);
  }

  /** False while new calls must be refused: the buffer is full (fail_closed) or the chain forked. */
  get accepting(): boolean {
    return !this.#forked && (this.#o.overflow === 'spill' || this.#buffered < this.#o.buffer);
  }

  status(): CommitterStatus {
    return { seq: this.#seq, buffered: this.#buffered, committed: this.committed, spilled: this.spilled, lost: this.lost, mode: this.#mode, storeDown: this.storeDown, lastError: this.lastError };
  }

  /**
   * Seals an entry into the chain and resolves once it is durable (store or spill). Rejects with an
   * `audit_unavailable` fault when it cannot be kept: the buffer is full while failing closed.
   */
  add(body: AuditEntryBody): Promise<void> {
    if (this.#closing || !this.accepting) {
      this.lost++;
      this.lostSince ??= body.time;
      return Promise.reject(new GatewayFault(gatewayError('audit_unavailable', 'the audit trail cannot record this call; retry later')));
    }
    const { row } = sealEntry(body, this.#o.chain, this.#seq + 1, this.#prev);
    this.#seq = row.seq;
    this.#prev = row.hash;
    let b = this.#open;
    if (b === undefined) {
      b = this.#open = new Batch();
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#flush);
      }
    }
    b.rows.push(row);
    this.#buffered++;
    return b.promise;
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    if (this.#open !== undefined) {
      this.#queue.push(this.#open);
      this.#open = undefined;
    }
    this.#writing ??= this.#drain().finally(() => {
      this.#writing = undefined;
      if (this.#queue.length > 0 || this.#open !== undefined) this.#flush();
    });
  };

  async #drain(): Promise<void> {
    let delay = RETRY_MIN_MS;
    while (this.#queue.length > 0) {
      if (this.#mode === 'spilling') {
        this.#spillQueue();
        continue;
      }
      const batches = this.#take();
      const rows = batches.length === 1 ? batches[0]!.rows : batches.flatMap((b) => b.rows);
      try {
        await this.#write(rows);
      } catch (err) {
        this.#queue.unshift(...batches);
        this.#failed(err);
        if (this.#forked) return this.#refuseQueued(err);
        if (this.#o.overflow === 'spill' || this.#closing) {
          this.#startSpilling();
          continue;
        }
        await this.#sleep(delay);
        delay = Math.min(delay * 2, RETRY_MAX_MS);
        continue;
      }
      delay = RETRY_MIN_MS;
      this.#recovered();
      this.#buffered -= rows.length;
      for (const b of batches) b.resolve();
      this.#o.onCommitted(rows);
    }
  }

  /** Batches from the queue head up to MAX_ROWS rows (at least one batch). */
  #take(): Batch[] {
    const out: Batch[] = [this.#queue.shift()!];
    let n = out[0]!.rows.length;
    while (this.#queue.length > 0 && n + this.#queue[0]!.rows.length <= MAX_ROWS) {
      const b = this.#queue.shift()!;
      n += b.rows.length;
      out.push(b);
    }
    return out;
  }

  /** One store write; rows the store already has (a commit whose acknowledgement was lost) are skipped. */
  async #write(rows: readonly AuditRow[]): Promise<void> {
    try {
      await this.#o.store.appendAudit(rows);
    } catch (err) {
      if (!(err instanceof StoreError && err.kind === 'conflict')) throw err;
      const rest = await this.#reconcile(rows);
      if (rest.length > 0) await this.#o.store.appendAudit(rest);
    }
    this.committed += rows.length;
    this.#storedSeq = rows[rows.length - 1]!.seq;
  }

  async #reconcile(rows: readonly AuditRow[]): Promise<readonly AuditRow[]> {
    const first = rows[0]!;
    const stored = await this.#o.store.readAudit(first.chain, first.seq - 1, rows.length);
    let i = 0;
    for (const s of stored) {
      if (i >= rows.length || s.seq !== rows[i]!.seq) break;
      if (s.hash !== rows[i]!.hash) {
        this.#forked = true;
        throw new Error(`audit chain "${first.chain}" forked at seq ${s.seq}: another writer uses this chain (give each instance its own audit.chain)`);
      }
      i++;
    }
    if (i === 0) throw new Error(`audit chain "${first.chain}": seq ${first.seq} conflicts with a stored entry`);
    return rows.slice(i);
  }

  #spillQueue(): void {
    const batches = this.#queue.splice(0);
    const rows = batches.flatMap((b) => b.rows);
    try {
      this.#o.spill.append(rows);
    } catch (err) {
      // Neither the store nor the disk takes records: these answers are not released.
      this.#o.log.error({ err, chain: this.#o.chain, records: rows.length }, 'audit spill failed: answers withheld');
      this.#buffered -= rows.length;
      this.lost += rows.length;
      for (const b of batches) b.reject(new GatewayFault(gatewayError('audit_unavailable', 'the audit trail cannot record this call; retry later')));
      return;
    }
    this.spilled += rows.length;
    this.#buffered -= rows.length;
    for (const b of batches) b.resolve();
  }

  /** From now on records go to disk (the queue first), and the replay into the store starts. */
  #startSpilling(afterFailure = true): void {
    if (this.#mode !== 'spilling') {
      this.#mode = 'spilling';
      this.#o.log.warn({ chain: this.#o.chain, dir: this.#o.spill.dir }, 'audit records spill to local disk until the store takes writes again');
    }
    if (this.#queue.length > 0) this.#spillQueue();
    this.#replaying ??= this.#replay(afterFailure).finally(() => (this.#replaying = undefined));
  }

  /** Moves spilled segments into the store, oldest first; back to direct writes once none is left. */
  async #replay(afterFailure: boolean): Promise<void> {
    let delay = RETRY_MIN_MS;
    // The store just failed: give it a moment before the first replay attempt.
    if (afterFailure) await this.#sleep(delay);
    while (!this.#closing) {
      const segs = this.#o.spill.segments();
      if (segs.length === 0) {
        this.#mode = 'direct';
        this.#o.log.info({ chain: this.#o.chain }, 'audit spill replayed: writing to the store again');
        if (this.#queue.length > 0) this.#flush();
        return;
      }
      const seg = segs[0]!;
      if (seg === this.#o.spill.activeSegment) this.#o.spill.rotate();
      const { rows, torn } = this.#o.spill.read(seg);
      if (torn) this.#o.log.warn({ segment: seg }, 'audit spill segment ends in a torn line (a crash mid-write); its answer was never released');
      try {
        for (let i = 0; i < rows.length; i += MAX_ROWS) {
          const chunk = rows.slice(i, i + MAX_ROWS).filter((r) => r.seq > this.#storedSeq);
          if (chunk.length === 0) continue;
          await this.#write(chunk);
          this.#o.onCommitted(chunk);
        }
      } catch (err) {
        this.#failed(err);
        if (this.#forked) return;
        await this.#sleep(delay);
        delay = Math.min(delay * 2, RETRY_MAX_MS);
        continue;
      }
      delay = RETRY_MIN_MS;
      this.#recovered();
      this.#o.spill.remove(seg);
    }
  }

  #failed(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (!this.storeDown || message !== this.lastError) this.#o.log.error({ err, chain: this.#o.chain }, 'audit store write failed');
    this.storeDown = true;
    this.lastError = message;
  }

  #recovered(): void {
    if (this.storeDown) this.#o.log.info({ chain: this.#o.chain }, 'audit store takes writes again');
    this.storeDown = false;
  }

  #refuseQueued(err: unknown): void {
    const batches = this.#queue.splice(0);
    for (const b of batches) {
      this.#buffered -= b.rows.length;
      b.reject(new GatewayFault(gatewayError('audit_unavailable', `the audit trail cannot record this call: ${(err as Error).message}`)));
    }
  }

  /** A backoff wait (with jitter) that closing cuts short. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(t);
        this.#sleepers.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, ms * (0.5 + Math.random() / 2));
      this.#sleepers.add(wake);
    });
  }

  /**
   * Stops taking entries and settles everything held: committed if the store takes it within
   * `ms`, otherwise spilled to disk whatever `overflow` says (a shutdown must not drop records).
   */
  async close(ms: number): Promise<void> {
    if (this.#open !== undefined) this.#flush();
    this.#closing = true;
    for (const wake of [...this.#sleepers]) wake();
    const settled = Promise.all([this.#writing, this.#replaying]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([settled, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
    if (this.#queue.length > 0) {
      this.#mode = 'spilling';
      this.#spillQueue();
    }
    this.#o.spill.close();
  }
}
