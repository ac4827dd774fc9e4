// The audit half of the PostgreSQL store. appendAudit is on every request's path (group commit): a
// batch is one multi-row INSERT per chunk, so a batch costs a round trip or three, not one per row.
import type pg from 'pg';
import type { AuditChainInfo, AuditCheckpoint, AuditKeyRecord, AuditPage, AuditPruneMark, AuditQuery, AuditRow, AuditStore } from './audit-store.ts';
import {
  AUDIT_INSERT_COLUMNS,
  AUDIT_SELECT,
  auditInsertValues,
  auditPage,
  auditRowOf,
  checkAuditKey,
  checkAuditQuery,
  checkAuditRows,
  checkCheckpoint,
  checkCursorArgs,
  checkName,
  checkPruneMark,
  checkPrunable,
  checkReadArgs,
  checkSeq,
} from './audit-rows.ts';
import type { AuditRecord, CheckedAuditQuery } from './audit-rows.ts';
import { StoreError } from './store.ts';

/** What the owning store lends: pooled connections with its deadline and its error wrapping. */
export interface PgRunner {
  /** Throws StoreError `closed` once the store is closed: checked before the arguments, as in every store. */
  open(): void;
  /** Runs fn on one pooled connection; failures other than StoreErrors become StoreError `io`. */
  run<T>(what: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  /** The same inside BEGIN ... COMMIT; any throw rolls all of it back. */
  transaction<T>(what: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T>;
}

const COLUMNS_PER_ROW = 18;
/** The protocol's limit on bind parameters in one statement. */
const MAX_PARAMETERS = 65_535;
const ROWS_PER_INSERT = Math.floor(MAX_PARAMETERS / COLUMNS_PER_ROW);
/** Keeps one statement's message to the server bounded when entries are large. */
const CHARS_PER_INSERT = 8 * 1024 * 1024;
const UNIQUE_VIOLATION = '23505';
const CHECKPOINT_COLUMNS = 'chain, seq, hash, time, kid, signature';

export class PostgresAudit implements AuditStore {
  #db: PgRunner;
  /** INSERT texts by row count: a steady batch size reuses the same text. */
  #inserts = new Map<number, string>();

  constructor(runner: PgRunner) {
    this.#db = runner;
  }

  async appendAudit(rows: readonly AuditRow[]): Promise<void> {
    this.#db.open();
    checkAuditRows(rows);
    if (rows.length === 0) return;
    const chunks = chunk(rows);
    const insert = async (c: pg.PoolClient) => {
      for (const part of chunks) await c.query(this.#insertText(part.length), part.flatMap(auditInsertValues));
    };
    // A plain INSERT (no ON CONFLICT) fails whole on a taken place or id, so one statement needs no
    // transaction around it; several share one, and the unique violation rolls all of them back.
    try {
      if (chunks.length === 1) await this.#db.run('append audit entries', insert);
      else await this.#db.transaction('append audit entries', insert);
    } catch (err) {
      if (!(err instanceof StoreError) || !isUniqueViolation(err.cause)) throw err;
      throw await this.#conflict(rows);
    }
  }

  async auditHead(chain: string): Promise<AuditRow | undefined> {
    this.#db.open();
    checkName('audit chain', chain);
    const r = await this.#query<AuditRecord>(`read the head of audit chain '${chain}'`, `SELECT ${AUDIT_SELECT} FROM audit_entry WHERE chain = $1 ORDER BY seq DESC LIMIT 1`, [chain]);
    const row = r.rows[0];
    return row === undefined ? undefined : auditRowOf(row);
  }

  async readAudit(chain: string, afterSeq: number, limit: number): Promise<AuditRow[]> {
    this.#db.open();
    checkReadArgs(chain, afterSeq, limit);
    const r = await this.#query<AuditRecord>(
      `read audit chain '${chain}'`,
      `SELECT ${AUDIT_SELECT} FROM audit_entry WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [chain, afterSeq, limit],
    );
    return r.rows.map(auditRowOf);
  }

  async getAuditEntry(id: string): Promise<AuditRow | undefined> {
    this.#db.open();
    checkName('audit entry id', id);
    const r = await this.#query<AuditRecord>(`read audit entry '${id}'`, `SELECT ${AUDIT_SELECT} FROM audit_entry WHERE id = $1`, [id]);
    const row = r.rows[0];
    return row === undefined ? undefined : auditRowOf(row);
  }

  async auditChains(): Promise<AuditChainInfo[]> {
    this.#db.open();
    // octet_length counts UTF-8 bytes, as SQLite's does; the sum is cast so it arrives as a number.
    const r = await this.#query<AuditChainInfo>(
      'list audit chains',
      `SELECT chain, MIN(seq) AS "firstSeq", MAX(seq) AS "lastSeq", COUNT(*) AS count, SUM(octet_length(text))::bigint AS bytes
       FROM audit_entry GROUP BY chain ORDER BY chain`,
    );
    return r.rows.map((c) => ({ chain: c.chain, firstSeq: c.firstSeq, lastSeq: c.lastSeq, count: c.count, bytes: c.bytes }));
  }

  async searchAudit(q: AuditQuery): Promise<AuditPage> {
    this.#db.open();
    const c = checkAuditQuery(q);
    const { sql, params } = searchSql(c);
    const r = await this.#query<AuditRecord>('search the audit trail', sql, params);
    return auditPage(r.rows.map(auditRowOf), c.limit);
  }

  async putAuditCheckpoint(c: AuditCheckpoint): Promise<void> {
    this.#db.open();
    checkCheckpoint(c);
    const r = await this.#query(
      `record audit checkpoint ${c.seq} of chain '${c.chain}'`,
      `INSERT INTO audit_checkpoint (${CHECKPOINT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
      [c.chain, c.seq, c.hash, c.time, c.kid, c.signature],
    );
    if (r.rowCount === 0) throw new StoreError('conflict', `chain '${c.chain}' already has a checkpoint at seq ${c.seq}`);
  }

  async listAuditCheckpoints(chain: string, afterSeq = 0): Promise<AuditCheckpoint[]> {
    this.#db.open();
    checkName('audit chain', chain);
    checkSeq(`afterSeq of the checkpoints of chain '${chain}'`, afterSeq, 0);
    const r = await this.#query<AuditCheckpoint>(
      `list the checkpoints of chain '${chain}'`,
      `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoint WHERE chain = $1 AND seq > $2 ORDER BY seq`,
      [chain, afterSeq],
    );
    return r.rows.map((k) => ({ chain: k.chain, seq: k.seq, hash: k.hash, time: k.time, kid: k.kid, signature: k.signature }));
  }

  async putAuditKey(k: AuditKeyRecord): Promise<void> {
    this.#db.open();
    checkAuditKey(k);
    const r = await this.#query(
      `record audit key '${k.kid}'`,
      'INSERT INTO audit_key (kid, public_jwk, private_jwk, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
      [k.kid, k.publicJwk, k.privateJwk, k.createdAt],
    );
    if (r.rowCount === 0) throw new StoreError('conflict', `audit key kid '${k.kid}' already exists`);
  }

  async listAuditKeys(): Promise<AuditKeyRecord[]> {
    this.#db.open();
    const r = await this.#query<AuditKeyRecord>(
      'list audit keys',
      'SELECT kid, public_jwk AS "publicJwk", private_jwk AS "privateJwk", created_at AS "createdAt" FROM audit_key ORDER BY created_at COLLATE "C", rowid',
    );
    return r.rows.map((k) => ({ kid: k.kid, publicJwk: k.publicJwk, privateJwk: k.privateJwk, createdAt: k.createdAt }));
  }

  async pruneAudit(mark: AuditPruneMark): Promise<number> {
    this.#db.open();
    checkPruneMark(mark);
    const { chain, throughSeq } = mark;
    return this.#db.transaction(`prune audit chain '${chain}' through seq ${throughSeq}`, async (c) => {
      // Two gateways pruning one chain at once: the second waits, then sees the first one's mark.
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', ['gatehouse.audit_prune', chain]);
      const last = (await c.query<{ seq: number | null }>('SELECT MAX(through_seq) AS seq FROM audit_prune WHERE chain = $1', [chain])).rows[0]?.seq;
      const at = (await c.query<{ hash: string }>('SELECT hash FROM audit_entry WHERE chain = $1 AND seq = $2', [chain, throughSeq])).rows[0];
      checkPrunable(mark, last, at?.hash);
      const n = (await c.query('DELETE FROM audit_entry WHERE chain = $1 AND seq <= $2', [chain, throughSeq])).rowCount ?? 0;
      await c.query('DELETE FROM audit_checkpoint WHERE chain = $1 AND seq <= $2', [chain, throughSeq]);
      await c.query('INSERT INTO audit_prune (chain, through_seq, hash, time, reason) VALUES ($1, $2, $3, $4, $5)', [
        chain, throughSeq, mark.hash, mark.time, mark.reason,
      ]);
      return n;
    });
  }

  async auditPruneMarks(chain: string): Promise<AuditPruneMark[]> {
    this.#db.open();
    checkName('audit chain', chain);
    const r = await this.#query<AuditPruneMark>(
      `list the prune marks of chain '${chain}'`,
      'SELECT chain, through_seq AS "throughSeq", hash, time, reason FROM audit_prune WHERE chain = $1 ORDER BY through_seq',
      [chain],
    );
    return r.rows.map((m) => ({ chain: m.chain, throughSeq: m.throughSeq, hash: m.hash, time: m.time, reason: m.reason }));
  }

  async getAuditCursor(sink: string, chain: string): Promise<number> {
    this.#db.open();
    checkCursorArgs(sink, chain);
    const r = await this.#query<{ seq: number }>(`read the cursor of sink '${sink}' on chain '${chain}'`, 'SELECT seq FROM audit_cursor WHERE sink = $1 AND chain = $2', [sink, chain]);
    return r.rows[0]?.seq ?? 0;
  }

  async setAuditCursor(sink: string, chain: string, seq: number): Promise<void> {
    this.#db.open();
    checkCursorArgs(sink, chain, seq);
    await this.#query(
      `record the cursor of sink '${sink}' on chain '${chain}'`,
      `INSERT INTO audit_cursor (sink, chain, seq, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (sink, chain) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at`,
      [sink, chain, seq, new Date().toISOString()],
    );
  }

  #query<R extends pg.QueryResultRow = pg.QueryResultRow>(what: string, text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    return this.#db.run(what, (c) => c.query<R>(text, values));
  }

  #insertText(rows: number): string {
    let text = this.#inserts.get(rows);
    if (text === undefined) {
      const tuples: string[] = [];
      for (let r = 0; r < rows; r++) {
        const base = r * COLUMNS_PER_ROW;
        tuples.push(`(${Array.from({ length: COLUMNS_PER_ROW }, (_, i) => `$${base + i + 1}`).join(', ')})`);
      }
      text = `INSERT INTO audit_entry (${AUDIT_INSERT_COLUMNS}) VALUES ${tuples.join(', ')}`;
      // Batch sizes vary little in practice; the cap bounds a caller that sends every size there is.
      if (this.#inserts.size >= 64) this.#inserts.clear();
      this.#inserts.set(rows, text);
    }
    return text;
  }

  /** After a unique violation (the batch is rolled back): which entry collided, in batch order. */
  async #conflict(rows: readonly AuditRow[]): Promise<StoreError> {
    const kept = `nothing of the batch of ${rows.length} was kept`;
    let taken: { chain: string; seq: number; id: string }[];
    try {
      taken = (
        await this.#query<{ chain: string; seq: number; id: string }>(
          'find the audit entries a batch collided with',
          `SELECT chain, seq, id FROM audit_entry
           WHERE (chain, seq) IN (SELECT * FROM unnest($1::text[], $2::bigint[])) OR id = ANY($3::text[])`,
          [rows.map((r) => r.chain), rows.map((r) => r.seq), rows.map((r) => r.id)],
        )
      ).rows;
    } catch {
      taken = [];
    }
    const places = new Set(taken.map((t) => `${t.seq}:${t.chain}`));
    const ids = new Set(taken.map((t) => t.id));
    for (const r of rows) {
      if (places.has(`${r.seq}:${r.chain}`)) return new StoreError('conflict', `chain '${r.chain}' already has an entry at seq ${r.seq}; ${kept}`);
      if (ids.has(r.id)) return new StoreError('conflict', `audit entry id '${r.id}' is already stored; ${kept}`);
    }
    // The colliding writer had not committed when we looked (or rolled back since).
    return new StoreError('conflict', `an entry of the batch collided with one another writer was storing at the same time; ${kept}`);
  }
}

function isUniqueViolation(err: unknown): boolean {
  return err !== null && typeof err === 'object' && (err as { code?: unknown }).code === UNIQUE_VIOLATION;
}

/** Splits a batch under the parameter limit and a size bound, keeping its order. */
function chunk(rows: readonly AuditRow[]): AuditRow[][] {
  const out: AuditRow[][] = [];
  let part: AuditRow[] = [];
  let chars = 0;
  for (const r of rows) {
    if (part.length > 0 && (part.length === ROWS_PER_INSERT || chars + r.text.length > CHARS_PER_INSERT)) {
      out.push(part);
      part = [];
      chars = 0;
    }
    part.push(r);
    chars += r.text.length;
  }
  out.push(part);
  return out;
}

/**
 * The search in PostgreSQL terms. `time` and `chain` are COLLATE "C" columns, so the keyset
 * comparison and the order are byte order, as in SQLite; the text match lowercases ASCII only
 * (lower() under "C"), as SQLite's LIKE ignores ASCII case only.
 */
function searchSql(q: CheckedAuditQuery): { sql: string; params: (string | number)[] } {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const param = (v: string | number) => `$${params.push(v)}`;
  if (q.from !== undefined) where.push(`time >= ${param(q.from)}`);
  if (q.to !== undefined) where.push(`time < ${param(q.to)}`);
  for (const f of q.equals) where.push(`${f.column} = ${param(f.value)}`);
  if (q.decisionNone) where.push('decision IS NULL');
  if (q.text !== undefined) where.push(`strpos(lower(text COLLATE "C"), ${param(q.text)}) > 0`);
  const dir = q.order === 'asc' ? 'ASC' : 'DESC';
  if (q.after !== undefined) {
    where.push(`(time, chain, seq) ${q.order === 'asc' ? '>' : '<'} (${param(q.after.time)}, ${param(q.after.chain)}, ${param(q.after.seq)})`);
  }
  const limit = param(q.limit + 1);
  const sql = `SELECT ${AUDIT_SELECT} FROM audit_entry ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`}
    ORDER BY time ${dir}, chain ${dir}, seq ${dir} LIMIT ${limit}`;
  return { sql, params };
}
