// The audit trail of a running gateway: builds each exchange's entry (redacted), seals it into this
// instance's hash chain through the committer (durable before the answer is released), signs
// checkpoints, feeds the sinks and applies retention. One per process.
import { isAbsolute, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Snapshot } from '../config/snapshot.ts';
import type { AuditConfig } from '../config/schema/audit.ts';
import { gatewayError, type GatewayError } from '../errors/codes.ts';
import type { ExchangeRecord } from '../pipeline/record.ts';
import { TARGET_DEF } from '../pipeline/target.ts';
import type { AuditRow, AuditStore, AuditKeyRecord } from '../store/audit-store.ts';
import { buildEntryBody, buildGapBody, type EntryContext } from './build-entry.ts';
import type { AuditEntryBody } from './chain.ts';
import { Checkpointer } from './checkpointer.ts';
import { Committer, type CommitterStatus } from './committer.ts';
import { GENESIS, type AuditGap } from './entry.ts';
import { argsDigester, generateAuditKey } from './keys.ts';
import { SpillQueue } from './spill.ts';
import { AuditSinks, type SinksStatus } from './audit-sinks.ts';

/** How long closing waits for the store before spilling what is left. */
const CLOSE_WAIT_MS = 5_000;

export interface AuditLogOptions {
  readonly store: AuditStore;
  /** The snapshot in force: redaction and tool classes follow reloads. */
  readonly snapshot: () => Snapshot;
  readonly log: Logger;
}

export interface AuditStatus {
  readonly chain: string;
  readonly accepting: boolean;
  readonly committer: CommitterStatus;
  readonly checkpoint: { readonly seq: number; readonly time: string | undefined };
  readonly sinks: SinksStatus;
}

export class AuditLog {
  readonly chain: string;
  readonly #o: AuditLogOptions;
  readonly #cfg: AuditConfig;
  readonly #committer: Committer;
  readonly #checkpointer: Checkpointer;
  readonly #sinks: AuditSinks;
  readonly #digest: (args: unknown) => string;
  readonly #contexts = new WeakMap<Snapshot, EntryContext>();
  #lostReported = 0;
  #closed = false;

  private constructor(o: AuditLogOptions, cfg: AuditConfig, chain: string, committer: Committer, checkpointer: Checkpointer, sinks: AuditSinks, key: AuditKeyRecord) {
    this.#o = o;
    this.#cfg = cfg;
    this.chain = chain;
    this.#committer = committer;
    this.#checkpointer = checkpointer;
    this.#sinks = sinks;
    this.#digest = argsDigester(key);
  }

  /** Opens the trail: finds the chain head (store or spill), the signing key, and starts the sinks. */
  static async open(o: AuditLogOptions): Promise<AuditLog> {
    const snap = o.snapshot();
    const cfg = snap.config.audit;
    const chain = chainName(cfg, snap.config.gateway.name);
    const key = await auditKey(o.store);
    const spill = new SpillQueue(resolvePath(cfg.spillDir, snap.dir), chain);
    const stored = await storedHead(o.store, chain);
    const spilled = spill.last();
    const head = spilled !== undefined && spilled.seq > stored.seq ? { seq: spilled.seq, hash: spilled.hash } : stored;
    // Filled in below: the committer's callback needs the log that owns it.
    let self: AuditLog | undefined;
    const checkpointer = new Checkpointer({ store: o.store, key, chain, every: cfg.checkpoint.records, intervalMs: cfg.checkpoint.intervalSeconds * 1000, log: o.log, start: stored.seq });
    const sinks = new AuditSinks({ store: o.store, chain, sinks: cfg.sinks, dir: snap.dir, log: o.log, retention: cfg.retention, onGap: (gap) => void self?.event(buildGapBody(gap, new Date())) });
    const committer = new Committer({
      store: o.store,
      chain,
      head,
      storedSeq: stored.seq,
      buffer: cfg.buffer,
      overflow: cfg.overflow,
      spill,
      log: o.log,
      onCommitted: (rows) => {
        if (self !== undefined) self.#committed(rows);
      },
    });
    self = new AuditLog(o, cfg, chain, committer, checkpointer, sinks, key);
    sinks.start();
    checkpointer.start();
    return self;
  }

  /** Records a finished exchange; resolves once durable, rejects (audit_unavailable) when it cannot be kept. */
  append(rec: ExchangeRecord): Promise<void> {
    let body: AuditEntryBody;
    try {
      body = buildEntryBody(rec, this.#contextFor(this.#o.snapshot()));
    } catch (err) {
      // An entry that cannot be built must not let the answer out unrecorded.
      this.#o.log.error({ err, exchange: rec.id, method: rec.method }, 'audit entry could not be built');
      return Promise.reject(err);
    }
    return this.#committer.add(body);
  }

  /** The entry context of a snapshot, built once per snapshot rather than per call. */
  #contextFor(snap: Snapshot): EntryContext {
    let ctx = this.#contexts.get(snap);
    if (ctx === undefined) {
      ctx = {
        redaction: snap.audit.redaction,
        digest: this.#digest,
        results: this.#cfg.results,
        toolClass: (t) => (t.kind === 'tool' ? snap.toolClasses.classOf(t.upstream, t.upstreamName, t[TARGET_DEF]) : undefined),
      };
      this.#contexts.set(snap, ctx);
    }
    return ctx;
  }

  /** Appends a non-exchange entry (a gap, an admin action). */
  event(body: AuditEntryBody): Promise<void> {
    return this.#committer.add(body);
  }

  /** Why new calls must be refused right now, if they must (fail closed). */
  refusal(): GatewayError | undefined {
    if (this.#committer.accepting && !this.#sinks.failClosed) return undefined;
    return gatewayError('audit_unavailable', this.#committer.accepting ? 'an audit sink has fallen behind and is configured to fail closed; retry later' : 'the audit trail is not keeping up (store unavailable, buffer full); retry later');
  }

  status(): AuditStatus {
    return {
      chain: this.chain,
      accepting: this.refusal() === undefined,
      committer: this.#committer.status(),
      checkpoint: this.#checkpointer.status(),
      sinks: this.#sinks.status(),
    };
  }

  #committed(rows: readonly AuditRow[]): void {
    this.#checkpointer.committed(rows[rows.length - 1]!);
    this.#sinks.wake(rows[rows.length - 1]!.seq);
    const lost = this.#committer.lost;
    if (lost > this.#lostReported && this.#committer.accepting) {
      const gap: AuditGap = { reason: 'buffer_full', lost: lost - this.#lostReported, from: this.#committer.lostSince ?? new Date().toISOString(), to: new Date().toISOString() };
      this.#lostReported = lost;
      this.#committer.lostSince = undefined;
      this.#o.log.warn({ chain: this.chain, lost: gap.lost }, 'audit records were refused while the buffer was full; the gap is recorded');
      void this.event(buildGapBody(gap, new Date())).catch(() => {});
    }
  }

  /** Commits (or spills) what is held, signs a last checkpoint, lets the sinks deliver briefly. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#committer.close(CLOSE_WAIT_MS);
    await this.#checkpointer.close();
    await this.#sinks.close();
  }
}

function chainName(cfg: AuditConfig, gatewayName: string): string {
  if (cfg.chain !== undefined) return cfg.chain;
  return /^[A-Za-z][A-Za-z0-9_-]{0,31}$/.test(gatewayName) ? gatewayName : 'gatehouse';
}

function resolvePath(p: string, dir: string): string {
  return isAbsolute(p) ? p : resolve(dir, p);
}

/** The newest checkpoint key, created on first use. */
async function auditKey(store: AuditStore): Promise<AuditKeyRecord> {
  const keys = await store.listAuditKeys();
  const newest = keys[keys.length - 1];
  if (newest !== undefined) return newest;
  const key = generateAuditKey();
  await store.putAuditKey(key);
  return key;
}

/** The chain's last stored entry, or the anchor retention left, or the genesis. */
async function storedHead(store: AuditStore, chain: string): Promise<{ seq: number; hash: string }> {
  const head = await store.auditHead(chain);
  if (head !== undefined) return { seq: head.seq, hash: head.hash };
  const marks = await store.auditPruneMarks(chain);
  const last = marks[marks.length - 1];
  return last !== undefined ? { seq: last.throughSeq, hash: last.hash } : { seq: 0, hash: GENESIS };
}
