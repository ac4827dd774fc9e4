// Signs the chain head (Ed25519) every N committed records, or every T seconds when there is
// something new, and once more on close. Checkpoints are written in order, one at a time.
import type { Logger } from 'pino';
import type { AuditKeyRecord, AuditRow, AuditStore } from '../store/audit-store.ts';
import { signCheckpoint } from './keys.ts';

export interface CheckpointerOptions {
  readonly store: AuditStore;
  readonly key: AuditKeyRecord;
  readonly chain: string;
  readonly every: number;
  readonly intervalMs: number;
  readonly log: Logger;
  /** Seq of the chain's last stored entry at start: counting starts there. */
  readonly start: number;
}

export class Checkpointer {
  readonly #o: CheckpointerOptions;
  #head: { seq: number; hash: string } | undefined = undefined;
  #signedSeq: number;
  #signedTime: string | undefined = undefined;
  #writing: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined = undefined;

  constructor(o: CheckpointerOptions) {
    this.#o = o;
    this.#signedSeq = o.start;
  }

  start(): void {
    this.#timer = setInterval(() => this.#sign(), this.#o.intervalMs);
    this.#timer.unref();
  }

  /** The newest committed entry (rows arrive in chain order). */
  committed(row: AuditRow): void {
    this.#head = { seq: row.seq, hash: row.hash };
    if (row.seq - this.#signedSeq >= this.#o.every) this.#sign();
  }

  status(): { seq: number; time: string | undefined } {
    return { seq: this.#signedSeq, time: this.#signedTime };
  }

  #sign(): void {
    const head = this.#head;
    if (head === undefined || head.seq <= this.#signedSeq) return;
    this.#signedSeq = head.seq;
    const time = new Date().toISOString();
    const c = signCheckpoint(this.#o.key, { chain: this.#o.chain, seq: head.seq, hash: head.hash, time });
    this.#writing = this.#writing
      .then(() => this.#o.store.putAuditCheckpoint(c))
      .then(
        () => {
          this.#signedTime = time;
        },
        (err: unknown) => {
          // The next checkpoint covers these entries too; only the signature at this seq is missing.
          this.#o.log.warn({ err, chain: this.#o.chain, seq: head.seq }, 'audit checkpoint could not be stored');
        },
      );
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#sign();
    await this.#writing;
  }
}
