// What every store checks before it keeps audit rows, and what every store shares to keep them the
// same way: the search filters, the column list, and the opaque keyset cursor of a search.
import type { AuditColumns } from '../audit/entry.ts';
import type { AuditCheckpoint, AuditKeyRecord, AuditPage, AuditPruneMark, AuditRow } from './audit-store.ts';
import { StoreError, checkJwk, checkKey, checkTimestamp } from './store.ts';

/** Most rows one readAudit call returns. */
export const AUDIT_READ_MAX = 10_000;
/** Longest name-like value (chain, kid, sink, filter value) the store accepts. */
const MAX_NAME = 1024;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Fields of AuditColumns other than the ones checked apart (type, time). */
const NULLABLE_COLUMNS = [
  'agent', 'user', 'tenant', 'upstream', 'target', 'targetKind', 'toolClass', 'method', 'decision', 'outcome', 'session',
] as const satisfies readonly (keyof AuditColumns)[];

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length === 0 ? 'an empty string' : `'${value.slice(0, 40)}'`;
  return typeof value;
}

function checkObject(what: string, value: unknown): asserts value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new StoreError('invalid_input', `${what} must be an object, got ${describe(value)}`);
  }
}

/** A chain, kid or sink name: non-empty, bounded. */
export function checkName(what: string, value: unknown): asserts value is string {
  checkKey(what, value);
  if (value.length > MAX_NAME) throw new StoreError('invalid_input', `${what} is longer than ${MAX_NAME} characters`);
}

/** A chain position: a safe integer, at least `min` (1 for entries, 0 for "before the first"). */
export function checkSeq(what: string, value: unknown, min = 1): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new StoreError('invalid_input', `${what} must be an integer of at least ${min}, got ${typeof value === 'number' ? value : describe(value)}`);
  }
}

export function checkLimit(what: string, value: unknown, max: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new StoreError('invalid_input', `${what} must be an integer from 1 to ${max}, got ${typeof value === 'number' ? value : describe(value)}`);
  }
}

function checkHash(what: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || !SHA256_HEX.test(value)) {
    throw new StoreError('invalid_input', `${what} must be 64 lowercase hex digits (a SHA-256), got ${describe(value)}`);
  }
}

function checkNullable(what: string, value: unknown): void {
  if (value !== null && typeof value !== 'string') throw new StoreError('invalid_input', `${what} must be a string or null, got ${describe(value)}`);
}

/** One row to append; the message names the field, the chain and the seq. Per request: cheap checks only. */
export function checkAuditRow(row: unknown): asserts row is AuditRow {
  checkObject('audit row', row);
  checkName('audit row chain', row.chain);
  checkSeq(`seq of an audit row of chain '${row.chain}'`, row.seq);
  const at = `of audit row ${row.seq} of chain '${row.chain}'`;
  checkName(`id ${at}`, row.id);
  checkHash(`hash ${at}`, row.hash);
  checkKey(`text ${at}`, row.text);
  const c = row.columns;
  checkObject(`columns ${at}`, c);
  checkKey(`columns.type ${at}`, c.type);
  checkTimestamp(`columns.time ${at}`, c.time);
  for (const k of NULLABLE_COLUMNS) checkNullable(`columns.${k} ${at}`, c[k]);
}

/** A batch to append: every row, and no (chain, seq) or id twice within it (a `conflict`, as in the table). */
export function checkAuditRows(rows: unknown): asserts rows is readonly AuditRow[] {
  if (!Array.isArray(rows)) throw new StoreError('invalid_input', `audit rows must be an array, got ${describe(rows)}`);
  for (const r of rows) checkAuditRow(r);
  if (rows.length < 2) return;
  const places = new Set<string>();
  const ids = new Set<string>();
  for (const r of rows as AuditRow[]) {
    const place = `${r.seq}:${r.chain}`;
    if (places.has(place)) throw new StoreError('conflict', `the batch holds chain '${r.chain}' seq ${r.seq} twice; nothing of it was kept`);
    if (ids.has(r.id)) throw new StoreError('conflict', `the batch holds audit entry id '${r.id}' twice; nothing of it was kept`);
    places.add(place);
    ids.add(r.id);
  }
}

export function checkCheckpoint(c: unknown): asserts c is AuditCheckpoint {
  checkObject('audit checkpoint', c);
  checkName('audit checkpoint chain', c.chain);
  checkSeq(`seq of an audit checkpoint of chain '${c.chain}'`, c.seq);
  const at = `of audit checkpoint ${c.seq} of chain '${c.chain}'`;
  checkHash(`hash ${at}`, c.hash);
  checkTimestamp(`time ${at}`, c.time);
  checkName(`kid ${at}`, c.kid);
  if (typeof c.signature !== 'string' || !BASE64URL.test(c.signature)) {
    throw new StoreError('invalid_input', `signature ${at} must be non-empty base64url text, got ${describe(c.signature)}`);
  }
}

/** The JWKs must be JSON objects; the message never quotes the private one. */
export function checkAuditKey(k: unknown): asserts k is AuditKeyRecord {
  checkObject('audit key', k);
  checkName('audit key kid', k.kid);
  const at = `of audit key '${k.kid}'`;
  checkJwk(`publicJwk ${at}`, k.publicJwk);
  checkJwk(`privateJwk ${at}`, k.privateJwk);
  checkTimestamp(`createdAt ${at}`, k.createdAt);
}

export function checkPruneMark(m: unknown): asserts m is AuditPruneMark {
  checkObject('audit prune mark', m);
  checkName('audit prune mark chain', m.chain);
  checkSeq(`throughSeq of an audit prune mark of chain '${m.chain}'`, m.throughSeq);
  const at = `of the audit prune mark of chain '${m.chain}' through seq ${m.throughSeq}`;
  checkHash(`hash ${at}`, m.hash);
  checkTimestamp(`time ${at}`, m.time);
  checkName(`reason ${at}`, m.reason);
}

/**
 * A prune mark must extend the chain's last one and carry the hash of the entry it cuts at, so that
 * verification can still check the first remaining entry and knows the gap is deliberate.
 */
export function checkPrunable(mark: AuditPruneMark, lastMark: number | string | null | undefined, hashAt: string | undefined): void {
  if (lastMark !== null && lastMark !== undefined && Number(lastMark) >= mark.throughSeq) {
    throw new StoreError('conflict', `chain '${mark.chain}' is already pruned through seq ${lastMark}, not before ${mark.throughSeq}`);
  }
  if (hashAt === undefined) throw new StoreError('invalid_input', `chain '${mark.chain}' has no entry at seq ${mark.throughSeq} to prune through`);
  if (hashAt !== mark.hash) {
    throw new StoreError('invalid_input', `the prune mark's hash is not the hash of entry ${mark.throughSeq} of chain '${mark.chain}'`);
  }
}

/** Bounds of readAudit. */
export function checkReadArgs(chain: unknown, afterSeq: unknown, limit: unknown): void {
  checkName('audit chain', chain);
  checkSeq(`afterSeq of a read of chain '${chain}'`, afterSeq, 0);
  checkLimit(`limit of a read of chain '${chain}'`, limit, AUDIT_READ_MAX);
}

/** Arguments of get/setAuditCursor (`seq` only for set). */
export function checkCursorArgs(sink: unknown, chain: unknown, seq?: unknown): void {
  checkName('audit sink', sink);
  checkName('audit chain', chain);
  if (seq !== undefined) checkSeq(`delivered seq of sink '${sink}' on chain '${chain}'`, seq, 0);
}

/** A row as selected through AUDIT_SELECT: the search columns as stored (PostgreSQL BIGINT may arrive as a string or bigint). */
export interface AuditRecord extends Omit<AuditColumns, 'type'> {
  chain: string;
  seq: number | string | bigint;
  id: string;
  hash: string;
  text: string;
  type: string;
}

/** Column list (valid in SQLite and PostgreSQL) whose aliases are the AuditRecord fields. */
export const AUDIT_SELECT = `chain, seq, id, hash, text, type, time, agent, "user", tenant, upstream, target,
  target_kind AS "targetKind", tool_class AS "toolClass", method, decision, outcome, session`;

/** Columns of an INSERT, in the order of auditInsertValues. */
export const AUDIT_INSERT_COLUMNS = `chain, seq, id, hash, text, type, time, agent, "user", tenant, upstream, target,
  target_kind, tool_class, method, decision, outcome, session`;

/** The 18 values of a checked row, in AUDIT_INSERT_COLUMNS order. */
export function auditInsertValues(r: AuditRow): (string | number | null)[] {
  const c = r.columns;
  return [
    r.chain, r.seq, r.id, r.hash, r.text, c.type, c.time, c.agent, c.user, c.tenant, c.upstream, c.target,
    c.targetKind, c.toolClass, c.method, c.decision, c.outcome, c.session,
  ];
}

export function auditRowOf(r: AuditRecord): AuditRow {
  return {
    chain: r.chain,
    seq: Number(r.seq),
    id: r.id,
    hash: r.hash,
    text: r.text,
    columns: copyColumns(r as unknown as AuditColumns),
  };
}

/** Only the AuditColumns fields, as the tables keep them: extra properties of the input are not kept. */
export function copyColumns(c: AuditColumns): AuditColumns {
  return {
    type: c.type,
    time: c.time,
    agent: c.agent,
    user: c.user,
    tenant: c.tenant,
    upstream: c.upstream,
    target: c.target,
    targetKind: c.targetKind,
    toolClass: c.toolClass,
    method: c.method,
    decision: c.decision,
    outcome: c.outcome,
    session: c.session,
  };
}

// ---- Search: filters, order and the keyset cursor ----

export type AuditFilterField =
  | 'chain' | 'type' | 'agent' | 'user' | 'tenant' | 'upstream' | 'target' | 'targetKind' | 'toolClass' | 'method' | 'decision' | 'outcome' | 'session';

/** Exact-match filters and the column each reads, spelled so it is valid SQL in both dialects. */
export const AUDIT_FILTERS: readonly { readonly field: AuditFilterField; readonly column: string }[] = [
  { field: 'chain', column: 'chain' },
  { field: 'type', column: 'type' },
  { field: 'agent', column: 'agent' },
  { field: 'user', column: '"user"' },
  { field: 'tenant', column: 'tenant' },
  { field: 'upstream', column: 'upstream' },
  { field: 'target', column: 'target' },
  { field: 'targetKind', column: 'target_kind' },
  { field: 'toolClass', column: 'tool_class' },
  { field: 'method', column: 'method' },
  { field: 'decision', column: 'decision' },
  { field: 'outcome', column: 'outcome' },
  { field: 'session', column: 'session' },
];

const QUERY_KEYS = new Set<string>([...AUDIT_FILTERS.map((f) => f.field), 'from', 'to', 'text', 'order', 'limit', 'cursor']);
export const AUDIT_PAGE_DEFAULT = 100;
export const AUDIT_PAGE_MAX = 1000;
/** The `decision` filter value that matches entries no policy decided (column NULL). */
export const DECISION_NONE = 'none';

/** Where a row sits in the search order. */
export interface AuditPosition {
  time: string;
  chain: string;
  seq: number;
}

/** A validated search, ready for a store to run. */
export interface CheckedAuditQuery {
  /** Inclusive. */
  from: string | undefined;
  /** Exclusive. */
  to: string | undefined;
  /** Exact matches, in AUDIT_FILTERS order (`decision: 'none'` is in decisionNone instead). */
  equals: { field: AuditFilterField; column: string; value: string }[];
  /** Only rows whose decision is null. */
  decisionNone: boolean;
  /** Substring of the entry text, ASCII letters lowercased (the match ignores ASCII case only). */
  text: string | undefined;
  order: 'desc' | 'asc';
  limit: number;
  /** The page starts strictly after this position, in `order`. */
  after: AuditPosition | undefined;
}

/** Refuses unknown fields, so a misspelt filter cannot silently widen a search. */
export function checkAuditQuery(q: unknown): CheckedAuditQuery {
  if (q === undefined) q = {};
  checkObject('audit query', q);
  for (const k of Object.keys(q)) {
    if (q[k] !== undefined && !QUERY_KEYS.has(k)) throw new StoreError('invalid_input', `audit query has an unknown field '${k.slice(0, 40)}'`);
  }
  if (q.from !== undefined) checkTimestamp('audit query from', q.from);
  if (q.to !== undefined) checkTimestamp('audit query to', q.to);
  if (typeof q.from === 'string' && typeof q.to === 'string' && q.from > q.to) {
    throw new StoreError('invalid_input', `audit query from (${q.from}) is after to (${q.to})`);
  }
  const equals: CheckedAuditQuery['equals'] = [];
  let decisionNone = false;
  for (const f of AUDIT_FILTERS) {
    const value = q[f.field];
    if (value === undefined) continue;
    checkName(`audit query ${f.field}`, value);
    if (f.field === 'decision' && value === DECISION_NONE) decisionNone = true;
    else equals.push({ field: f.field, column: f.column, value });
  }
  if (q.text !== undefined) checkName('audit query text', q.text);
  if (q.order !== undefined && q.order !== 'desc' && q.order !== 'asc') {
    throw new StoreError('invalid_input', `audit query order must be 'desc' or 'asc', got ${describe(q.order)}`);
  }
  if (q.limit !== undefined) checkLimit('audit query limit', q.limit, AUDIT_PAGE_MAX);
  return {
    from: q.from as string | undefined,
    to: q.to as string | undefined,
    equals,
    decisionNone,
    text: q.text === undefined ? undefined : foldAsciiCase(q.text as string),
    order: (q.order as 'desc' | 'asc' | undefined) ?? 'desc',
    limit: (q.limit as number | undefined) ?? AUDIT_PAGE_DEFAULT,
    after: q.cursor === undefined ? undefined : decodeAuditCursor(q.cursor),
  };
}

/** Lowercases A-Z only: what SQLite's LIKE ignores, so every store matches the same rows. */
export function foldAsciiCase(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** A LIKE pattern for "contains `needle`" with `\` as the escape character (`LIKE ? ESCAPE '\'`). */
export function likeContains(needle: string): string {
  return `%${needle.replace(/[\\%_]/g, '\\$&')}%`;
}

export function encodeAuditCursor(p: AuditPosition): string {
  return Buffer.from(JSON.stringify({ t: p.time, c: p.chain, s: p.seq }), 'utf8').toString('base64url');
}

/** Any text that is not exactly what encodeAuditCursor gives is refused, not guessed at. */
export function decodeAuditCursor(s: unknown): AuditPosition {
  const refuse = () => new StoreError('invalid_input', `audit query cursor ${describe(s)} is not a cursor an audit search returned`);
  if (typeof s !== 'string' || s.length === 0 || s.length > 4 * MAX_NAME || !BASE64URL.test(s)) throw refuse();
  let p: AuditPosition;
  try {
    const o = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as { t: unknown; c: unknown; s: unknown };
    checkObject('cursor', o);
    checkTimestamp('cursor time', o.t);
    checkName('cursor chain', o.c);
    checkSeq('cursor seq', o.s);
    p = { time: o.t, chain: o.c, seq: o.s };
  } catch {
    throw refuse();
  }
  if (encodeAuditCursor(p) !== s) throw refuse();
  return p;
}

/** A page from up to limit + 1 rows in search order: the extra row only says that another page exists. */
export function auditPage(rows: AuditRow[], limit: number): AuditPage {
  if (rows.length <= limit) return { rows };
  rows.length = limit;
  const last = rows[limit - 1]!;
  return { rows, next: encodeAuditCursor({ time: last.columns.time, chain: last.chain, seq: last.seq }) };
}

/** Search order (time, chain, seq) ascending; strings by code point, which is SQLite's and PostgreSQL "C" byte order. */
export function compareAuditPosition(a: AuditPosition, b: AuditPosition): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  if (a.chain !== b.chain) return compareCodePoints(a.chain, b.chain);
  return a.seq - b.seq;
}

function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate stands for a code point above U+FFFF: after every other UTF-16 unit in code point order.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}
