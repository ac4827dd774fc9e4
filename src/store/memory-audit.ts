// The audit half of the memory store, with the SQLite store's semantics: all-or-nothing batches,
// the same conflicts, the same search order and cursors. Callers get copies, never stored objects.
import type { AuditChainInfo, AuditCheckpoint, AuditKeyRecord, AuditPage, AuditPruneMark, AuditQuery, AuditRow, AuditStore } from './audit-store.ts';
import {
  auditPage,
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
  compareAuditPosition,
  copyColumns,
  foldAsciiCase,
} from './audit-rows.ts';
import type { CheckedAuditQuery } from './audit-rows.ts';
import { StoreError } from './store.ts';

/** A kept row: its own copy, plus what search and size accounting need. */
interface Kept {
  row: AuditRow;
  /** UTF-8 length of the text, as the SQL stores count it. */
  bytes: number;
}

export class MemoryAudit implements AuditStore {
  #open: () => void;
  // Per chain, sorted by seq; appends in chain order only ever push.
  #chains = new Map<string, Kept[]>();
  #ids = new Map<string, Kept>();
  #checkpoints = new Map<string, AuditCheckpoint[]>();
  #keys: AuditKeyRecord[] = [];
  #marks = new Map<string, AuditPruneMark[]>();
  #cursors = new Map<string, Map<string, number>>();

  constructor(open: () => void) {
    this.#open = open;
  }

  async appendAudit(rows: readonly AuditRow[]): Promise<void> {
    this.#open();
    checkAuditRows(rows);
    // Check the whole batch before keeping any of it: all or nothing, as in a transaction.
    for (const r of rows) {
      let what: string | undefined;
      if (this.#at(r.chain, r.seq) !== undefined) what = `chain '${r.chain}' already has an entry at seq ${r.seq}`;
      else if (this.#ids.has(r.id)) what = `audit entry id '${r.id}' is already stored`;
      if (what !== undefined) throw new StoreError('conflict', `${what}; nothing of the batch of ${rows.length} was kept`);
    }
    for (const r of rows) {
      const kept: Kept = { row: copyRow(r), bytes: Buffer.byteLength(r.text, 'utf8') };
      const list = this.#chains.get(r.chain) ?? [];
      if (list.length === 0) this.#chains.set(r.chain, list);
      const i = insertionPoint(list, r.seq);
      if (i === list.length) list.push(kept);
      else list.splice(i, 0, kept);
      this.#ids.set(r.id, kept);
    }
  }

  async auditHead(chain: string): Promise<AuditRow | undefined> {
    this.#open();
    checkName('audit chain', chain);
    const list = this.#chains.get(chain);
    const last = list?.[list.length - 1];
    return last === undefined ? undefined : copyRow(last.row);
  }

  async readAudit(chain: string, afterSeq: number, limit: number): Promise<AuditRow[]> {
    this.#open();
    checkReadArgs(chain, afterSeq, limit);
    const list = this.#chains.get(chain) ?? [];
    const start = insertionPoint(list, afterSeq + 1);
    return list.slice(start, start + limit).map((k) => copyRow(k.row));
  }

  async getAuditEntry(id: string): Promise<AuditRow | undefined> {
    this.#open();
    checkName('audit entry id', id);
    const k = this.#ids.get(id);
    return k === undefined ? undefined : copyRow(k.row);
  }

  async auditChains(): Promise<AuditChainInfo[]> {
    this.#open();
    const out: AuditChainInfo[] = [];
    for (const [chain, list] of this.#chains) {
      if (list.length === 0) continue;
      const bytes = list.reduce((n, k) => n + k.bytes, 0);
      out.push({ chain, firstSeq: list[0]!.row.seq, lastSeq: list[list.length - 1]!.row.seq, count: list.length, bytes });
    }
    return out.sort((a, b) => compareAuditPosition({ time: '', chain: a.chain, seq: 0 }, { time: '', chain: b.chain, seq: 0 }));
  }

  async searchAudit(q: AuditQuery): Promise<AuditPage> {
    this.#open();
    const c = checkAuditQuery(q);
    const sign = c.order === 'asc' ? 1 : -1;
    const hits: AuditRow[] = [];
    for (const list of this.#chains.values()) {
      for (const k of list) if (matches(k.row, c)) hits.push(k.row);
    }
    const position = (r: AuditRow) => ({ time: r.columns.time, chain: r.chain, seq: r.seq });
    hits.sort((a, b) => sign * compareAuditPosition(position(a), position(b)));
    const after = c.after;
    const start = after === undefined ? 0 : hits.findIndex((r) => sign * compareAuditPosition(position(r), after) > 0);
    const page = start < 0 ? [] : hits.slice(start, start + c.limit + 1);
    return auditPage(page.map(copyRow), c.limit);
  }

  async putAuditCheckpoint(c: AuditCheckpoint): Promise<void> {
    this.#open();
    checkCheckpoint(c);
    const list = this.#checkpoints.get(c.chain) ?? [];
    if (list.some((x) => x.seq === c.seq)) throw new StoreError('conflict', `chain '${c.chain}' already has a checkpoint at seq ${c.seq}`);
    list.push(copyCheckpoint(c));
    list.sort((a, b) => a.seq - b.seq);
    this.#checkpoints.set(c.chain, list);
  }

  async listAuditCheckpoints(chain: string, afterSeq = 0): Promise<AuditCheckpoint[]> {
    this.#open();
    checkName('audit chain', chain);
    checkSeq(`afterSeq of the checkpoints of chain '${chain}'`, afterSeq, 0);
    return (this.#checkpoints.get(chain) ?? []).filter((c) => c.seq > afterSeq).map(copyCheckpoint);
  }

  async putAuditKey(k: AuditKeyRecord): Promise<void> {
    this.#open();
    checkAuditKey(k);
    if (this.#keys.some((x) => x.kid === k.kid)) throw new StoreError('conflict', `audit key kid '${k.kid}' already exists`);
    this.#keys.push({ kid: k.kid, publicJwk: k.publicJwk, privateJwk: k.privateJwk, createdAt: k.createdAt });
  }

  async listAuditKeys(): Promise<AuditKeyRecord[]> {
    this.#open();
    // Stable sort over insertion order: ties in created time keep insertion order, as rowid does.
    const out = this.#keys.map((k) => ({ ...k }));
    return out.sort((a, b) => (a.createdAt === b.createdAt ? 0 : a.createdAt < b.createdAt ? -1 : 1));
  }

  async pruneAudit(mark: AuditPruneMark): Promise<number> {
    this.#open();
    checkPruneMark(mark);
    const { chain, throughSeq } = mark;
    const marks = this.#marks.get(chain) ?? [];
    checkPrunable(mark, marks[marks.length - 1]?.throughSeq, this.#at(chain, throughSeq)?.row.hash);
    const list = this.#chains.get(chain) ?? [];
    const cut = insertionPoint(list, throughSeq + 1);
    for (const k of list.splice(0, cut)) this.#ids.delete(k.row.id);
    const checkpoints = this.#checkpoints.get(chain);
    if (checkpoints !== undefined) this.#checkpoints.set(chain, checkpoints.filter((c) => c.seq > throughSeq));
    marks.push(copyMark(mark));
    this.#marks.set(chain, marks);
    return cut;
  }

  async auditPruneMarks(chain: string): Promise<AuditPruneMark[]> {
    this.#open();
    checkName('audit chain', chain);
    return (this.#marks.get(chain) ?? []).map(copyMark);
  }

  async getAuditCursor(sink: string, chain: string): Promise<number> {
    this.#open();
    checkCursorArgs(sink, chain);
    return this.#cursors.get(sink)?.get(chain) ?? 0;
  }

  async setAuditCursor(sink: string, chain: string, seq: number): Promise<void> {
    this.#open();
    checkCursorArgs(sink, chain, seq);
    let bySink = this.#cursors.get(sink);
    if (bySink === undefined) this.#cursors.set(sink, (bySink = new Map()));
    bySink.set(chain, seq);
  }

  #at(chain: string, seq: number): Kept | undefined {
    const list = this.#chains.get(chain);
    if (list === undefined) return undefined;
    const k = list[insertionPoint(list, seq)];
    return k?.row.seq === seq ? k : undefined;
  }
}

/** First index whose seq is >= `seq` (the list is sorted by seq). */
function insertionPoint(list: readonly Kept[], seq: number): number {
  let lo = 0;
  let hi = list.length;
  // Appends in chain order land at the end: answer that without a search.
  if (hi > 0 && list[hi - 1]!.row.seq < seq) return hi;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.row.seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function matches(r: AuditRow, q: CheckedAuditQuery): boolean {
  const time = r.columns.time;
  if (q.from !== undefined && time < q.from) return false;
  if (q.to !== undefined && time >= q.to) return false;
  for (const f of q.equals) {
    const value = f.field === 'chain' ? r.chain : r.columns[f.field];
    if (value !== f.value) return false;
  }
  if (q.decisionNone && r.columns.decision !== null) return false;
  return q.text === undefined || foldAsciiCase(r.text).includes(q.text);
}

function copyRow(r: AuditRow): AuditRow {
  return { chain: r.chain, seq: r.seq, id: r.id, hash: r.hash, text: r.text, columns: copyColumns(r.columns) };
}

function copyCheckpoint(c: AuditCheckpoint): AuditCheckpoint {
  return { chain: c.chain, seq: c.seq, hash: c.hash, time: c.time, kid: c.kid, signature: c.signature };
}

function copyMark(m: AuditPruneMark): AuditPruneMark {
  return { chain: m.chain, throughSeq: m.throughSeq, hash: m.hash, time: m.time, reason: m.reason };
}
