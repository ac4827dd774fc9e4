// The audit half of the SQLite store. appendAudit is on every request's path (group commit): one
// IMMEDIATE transaction per batch, statements compiled once, the entry text bound as-is, never parsed.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { AuditChainInfo, AuditCheckpoint, AuditKeyRecord, AuditPage, AuditPruneMark, AuditQuery, AuditRow, AuditStore } from './audit-store.ts';
import {
  AUDIT_INSERT_COLUMNS,
  AUDIT_SELECT,
  auditPage,
  auditRowOf,
  checkAuditKey,
  checkAuditQuery,
  checkAuditRows,
  checkCheckpoint,
  checkCursorArgs,
  checkName,
  checkPrunable,
  checkPruneMark,
  checkReadArgs,
  checkSeq,
  likeContains,
} from './audit-rows.ts';
import type { AuditRecord, CheckedAuditQuery } from './audit-rows.ts';
import { StoreError } from './store.ts';

/** What the owning store lends: its closed check and its error wrapping (file name, SQLite code). */
export interface SqliteHost {
  open(): void;
  run<T>(what: string, fn: () => T): T;
}

/** Distinct search shapes kept compiled; a dashboard uses a handful, the cap bounds a wild caller. */
const SEARCH_CACHE_MAX = 64;
const CHECKPOINT_COLUMNS = 'chain, seq, hash, time, kid, signature';

export class SqliteAudit implements AuditStore {
  #db: DatabaseSync;
  #host: SqliteHost;
  #searches = new Map<string, StatementSync>();
  #begin: StatementSync;
  #commit: StatementSync;
  #insert: StatementSync;
  #entryAt: StatementSync;
  #head: StatementSync;
  #read: StatementSync;
  #byId: StatementSync;
  #chains: StatementSync;
  #putCheckpoint: StatementSync;
  #listCheckpoints: StatementSync;
  #putKey: StatementSync;
  #listKeys: StatementSync;
  #lastMark: StatementSync;
  #pruneEntries: StatementSync;
  #pruneCheckpoints: StatementSync;
  #putMark: StatementSync;
  #marks: StatementSync;
  #getCursor: StatementSync;
  #setCursor: StatementSync;

  constructor(db: DatabaseSync, host: SqliteHost) {
    this.#db = db;
    this.#host = host;
    this.#begin = db.prepare('BEGIN IMMEDIATE');
    this.#commit = db.prepare('COMMIT');
    // DO NOTHING, then `changes`, tells a taken place apart without parsing constraint messages.
    this.#insert = db.prepare(`INSERT INTO audit_entry (${AUDIT_INSERT_COLUMNS}) VALUES (${Array(18).fill('?').join(', ')}) ON CONFLICT DO NOTHING`);
    this.#entryAt = db.prepare(`SELECT ${AUDIT_SELECT} FROM audit_entry WHERE chain = ? AND seq = ?`);
    this.#head = db.prepare(`SELECT ${AUDIT_SELECT} FROM audit_entry WHERE chain = ? ORDER BY seq DESC LIMIT 1`);
    this.#read = db.prepare(`SELECT ${AUDIT_SELECT} FROM audit_entry WHERE chain = ? AND seq > ? ORDER BY seq LIMIT ?`);
    this.#byId = db.prepare(`SELECT ${AUDIT_SELECT} FROM audit_entry WHERE id = ?`);
    // octet_length reads the record header, not the text: cheap on a large table. Bytes are UTF-8.
    this.#chains = db.prepare(
      `SELECT chain, MIN(seq) AS firstSeq, MAX(seq) AS lastSeq, COUNT(*) AS count, SUM(octet_length(text)) AS bytes
       FROM audit_entry GROUP BY chain ORDER BY chain`,
    );
    this.#putCheckpoint = db.prepare(`INSERT INTO audit_checkpoint (${CHECKPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`);
    this.#listCheckpoints = db.prepare(`SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoint WHERE chain = ? AND seq > ? ORDER BY seq`);
    this.#putKey = db.prepare('INSERT INTO audit_key (kid, public_jwk, private_jwk, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING');
    this.#listKeys = db.prepare(
      'SELECT kid, public_jwk AS publicJwk, private_jwk AS privateJwk, created_at AS createdAt FROM audit_key ORDER BY created_at, rowid',
    );
    this.#lastMark = db.prepare('SELECT MAX(through_seq) AS seq FROM audit_prune WHERE chain = ?');
    this.#pruneEntries = db.prepare('DELETE FROM audit_entry WHERE chain = ? AND seq <= ?');
    this.#pruneCheckpoints = db.prepare('DELETE FROM audit_checkpoint WHERE chain = ? AND seq <= ?');
    this.#putMark = db.prepare('INSERT INTO audit_prune (chain, through_seq, hash, time, reason) VALUES (?, ?, ?, ?, ?)');
    this.#marks = db.prepare(
      'SELECT chain, through_seq AS throughSeq, hash, time, reason FROM audit_prune WHERE chain = ? ORDER BY through_seq',
    );
    this.#getCursor = db.prepare('SELECT seq FROM audit_cursor WHERE sink = ? AND chain = ?');
    this.#setCursor = db.prepare(
      `INSERT INTO audit_cursor (sink, chain, seq, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (sink, chain) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at`,
    );
  }

  async appendAudit(rows: readonly AuditRow[]): Promise<void> {
    this.#host.open();
    checkAuditRows(rows);
    if (rows.length === 0) return;
    this.#transaction('append audit entries', () => {
      // One try around the loop and arguments passed one by one: per row only the bind and the step.
      const insert = this.#insert;
      let i = 0;
      try {
        for (; i < rows.length; i++) {
          const r = rows[i]!;
          const c = r.columns;
          const done = insert.run(r.chain, r.seq, r.id, r.hash, r.text, c.type, c.time, c.agent, c.user, c.tenant, c.upstream, c.target,
            c.targetKind, c.toolClass, c.method, c.decision, c.outcome, c.session);
          if (done.changes === 0) break;
        }
      } catch (cause) {
        // Rethrown through the host so it reads like every other statement failure (file, SQLite code).
        const r = rows[i]!;
        this.#host.run(`append audit entry ${r.seq} of chain '${r.chain}'`, () => {
          throw cause;
        });
      }
      if (i < rows.length) throw this.#conflict(rows[i]!, rows.length);
    });
  }

  async auditHead(chain: string): Promise<AuditRow | undefined> {
    this.#host.open();
    checkName('audit chain', chain);
    const r = this.#host.run(`read the head of audit chain '${chain}'`, () => this.#head.get(chain)) as AuditRecord | undefined;
    return r === undefined ? undefined : auditRowOf(r);
  }

  async readAudit(chain: string, afterSeq: number, limit: number): Promise<AuditRow[]> {
    this.#host.open();
    checkReadArgs(chain, afterSeq, limit);
    const rows = this.#host.run(`read audit chain '${chain}'`, () => this.#read.all(chain, afterSeq, limit)) as unknown as AuditRecord[];
    return rows.map(auditRowOf);
  }

  async getAuditEntry(id: string): Promise<AuditRow | undefined> {
    this.#host.open();
    checkName('audit entry id', id);
    const r = this.#host.run(`read audit entry '${id}'`, () => this.#byId.get(id)) as AuditRecord | undefined;
    return r === undefined ? undefined : auditRowOf(r);
  }

  async auditChains(): Promise<AuditChainInfo[]> {
    this.#host.open();
    const rows = this.#host.run('list audit chains', () => this.#chains.all()) as unknown as AuditChainInfo[];
    return rows.map((r) => ({ chain: r.chain, firstSeq: r.firstSeq, lastSeq: r.lastSeq, count: r.count, bytes: r.bytes }));
  }

  async searchAudit(q: AuditQuery): Promise<AuditPage> {
    this.#host.open();
    const c = checkAuditQuery(q);
    const { sql, params } = searchSql(c);
    let stmt = this.#searches.get(sql);
    if (stmt === undefined) {
      if (this.#searches.size >= SEARCH_CACHE_MAX) this.#searches.clear();
      stmt = this.#host.run('prepare an audit search', () => this.#db.prepare(sql));
      this.#searches.set(sql, stmt);
    }
    const s = stmt;
    const rows = this.#host.run('search the audit trail', () => s.all(...params)) as unknown as AuditRecord[];
    return auditPage(rows.map(auditRowOf), c.limit);
  }

  async putAuditCheckpoint(c: AuditCheckpoint): Promise<void> {
    this.#host.open();
    checkCheckpoint(c);
    const r = this.#host.run(`record audit checkpoint ${c.seq} of chain '${c.chain}'`, () =>
      this.#putCheckpoint.run(c.chain, c.seq, c.hash, c.time, c.kid, c.signature),
    );
    if (r.changes === 0) throw new StoreError('conflict', `chain '${c.chain}' already has a checkpoint at seq ${c.seq}`);
  }

  async listAuditCheckpoints(chain: string, afterSeq = 0): Promise<AuditCheckpoint[]> {
    this.#host.open();
    checkName('audit chain', chain);
    checkSeq(`afterSeq of the checkpoints of chain '${chain}'`, afterSeq, 0);
    const rows = this.#host.run(`list the checkpoints of chain '${chain}'`, () => this.#listCheckpoints.all(chain, afterSeq)) as unknown as AuditCheckpoint[];
    return rows.map((r) => ({ chain: r.chain, seq: r.seq, hash: r.hash, time: r.time, kid: r.kid, signature: r.signature }));
  }

  async putAuditKey(k: AuditKeyRecord): Promise<void> {
    this.#host.open();
    checkAuditKey(k);
    const r = this.#host.run(`record audit key '${k.kid}'`, () => this.#putKey.run(k.kid, k.publicJwk, k.privateJwk, k.createdAt));
    if (r.changes === 0) throw new StoreError('conflict', `audit key kid '${k.kid}' already exists`);
  }

  async listAuditKeys(): Promise<AuditKeyRecord[]> {
    this.#host.open();
    const rows = this.#host.run('list audit keys', () => this.#listKeys.all()) as unknown as AuditKeyRecord[];
    return rows.map((r) => ({ kid: r.kid, publicJwk: r.publicJwk, privateJwk: r.privateJwk, createdAt: r.createdAt }));
  }

  async pruneAudit(mark: AuditPruneMark): Promise<number> {
    this.#host.open();
    checkPruneMark(mark);
    const { chain, throughSeq } = mark;
    return this.#transaction(`prune audit chain '${chain}'`, () => {
      const run = <T>(fn: () => T) => this.#host.run(`prune audit chain '${chain}' through seq ${throughSeq}`, fn);
      const last = (run(() => this.#lastMark.get(chain)) as { seq: number | null }).seq;
      const at = run(() => this.#entryAt.get(chain, throughSeq)) as AuditRecord | undefined;
      checkPrunable(mark, last, at?.hash);
      const n = Number(run(() => this.#pruneEntries.run(chain, throughSeq)).changes);
      run(() => this.#pruneCheckpoints.run(chain, throughSeq));
      run(() => this.#putMark.run(chain, throughSeq, mark.hash, mark.time, mark.reason));
      return n;
    });
  }

  async auditPruneMarks(chain: string): Promise<AuditPruneMark[]> {
    this.#host.open();
    checkName('audit chain', chain);
    const rows = this.#host.run(`list the prune marks of chain '${chain}'`, () => this.#marks.all(chain)) as unknown as AuditPruneMark[];
    return rows.map((r) => ({ chain: r.chain, throughSeq: r.throughSeq, hash: r.hash, time: r.time, reason: r.reason }));
  }

  async getAuditCursor(sink: string, chain: string): Promise<number> {
    this.#host.open();
    checkCursorArgs(sink, chain);
    const r = this.#host.run(`read the cursor of sink '${sink}' on chain '${chain}'`, () => this.#getCursor.get(sink, chain)) as { seq: number } | undefined;
    return r?.seq ?? 0;
  }

  async setAuditCursor(sink: string, chain: string, seq: number): Promise<void> {
    this.#host.open();
    checkCursorArgs(sink, chain, seq);
    this.#host.run(`record the cursor of sink '${sink}' on chain '${chain}'`, () => this.#setCursor.run(sink, chain, seq, new Date().toISOString()));
  }

  /** Runs fn inside BEGIN IMMEDIATE … COMMIT; any throw rolls everything back. */
  #transaction<T>(what: string, fn: () => T): T {
    this.#host.run(`start a transaction to ${what}`, () => this.#begin.run());
    try {
      const out = fn();
      this.#host.run(`commit a transaction to ${what}`, () => this.#commit.run());
      return out;
    } catch (err) {
      try {
        if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      } catch {
        // SQLite already rolled back (an I/O error can do that); the original error is the story.
      }
      throw err;
    }
  }

  #conflict(r: AuditRow, batch: number): StoreError {
    const taken = this.#host.run(`read audit entry ${r.seq} of chain '${r.chain}'`, () => this.#entryAt.get(r.chain, r.seq));
    const what = taken === undefined ? `audit entry id '${r.id}' is already stored` : `chain '${r.chain}' already has an entry at seq ${r.seq}`;
    return new StoreError('conflict', `${what}; nothing of the batch of ${batch} was kept`);
  }
}

/** The statement text depends only on which filters are present, so it is cached by that text. */
function searchSql(q: CheckedAuditQuery): { sql: string; params: (string | number)[] } {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (q.from !== undefined) {
    where.push('time >= ?');
    params.push(q.from);
  }
  if (q.to !== undefined) {
    where.push('time < ?');
    params.push(q.to);
  }
  for (const f of q.equals) {
    // `+chain` keeps the planner off the primary key: a gateway usually writes one chain, so chain
    // = ? selects nearly everything and the PK order would need a sort of all of it; walking the
    // time index and filtering gives a page at once.
    where.push(f.field === 'chain' ? '+chain = ?' : `${f.column} = ?`);
    params.push(f.value);
  }
  if (q.decisionNone) where.push('decision IS NULL');
  if (q.text !== undefined) {
    // SQLite's LIKE ignores ASCII case; `%` and `_` of the needle are escaped to match themselves.
    where.push("text LIKE ? ESCAPE '\\'");
    params.push(likeContains(q.text));
  }
  const dir = q.order === 'asc' ? 'ASC' : 'DESC';
  if (q.after !== undefined) {
    where.push(`(time, chain, seq) ${q.order === 'asc' ? '>' : '<'} (?, ?, ?)`);
    params.push(q.after.time, q.after.chain, q.after.seq);
  }
  params.push(q.limit + 1);
  const sql = `SELECT ${AUDIT_SELECT} FROM audit_entry ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`}
    ORDER BY time ${dir}, chain ${dir}, seq ${dir} LIMIT ?`;
  return { sql, params };
}
