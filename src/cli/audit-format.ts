// How audit searches are read and audit records are written, shared by `gatehouse audit` and the admin
// API's audit routes: one parser maps CLI flags and HTTP parameters to the same AuditQuery (so both
// refuse the same input with the same words), and one set of writers renders records as the jsonl
// sink and the OCSF sink would.
import type { AuditEntry, AuditEntryType } from '../audit/entry.ts';
import type { VerifyReport } from '../audit/verify.ts';
import { toOcsf } from '../audit/ocsf.ts';
import { formatRecord } from '../audit/sinks/sink.ts';
import { VERSION } from '../core/version.ts';
import type { Outcome } from '../pipeline/record.ts';
import type { Target } from '../pipeline/target.ts';
import { AUDIT_PAGE_MAX, decodeAuditCursor } from '../store/audit-rows.ts';
import type { AuditQuery, AuditRow } from '../store/audit-store.ts';
import { parseDuration } from './store-command.ts';

/** The AuditQuery fields a caller can set, each under its own name per interface. */
export type AuditQueryField = keyof AuditQuery;

/** HTTP query parameters of `GET /v1/audit/records`. */
export const HTTP_PARAMS: Readonly<Record<AuditQueryField, string>> = {
  from: 'from', to: 'to', chain: 'chain', type: 'type', agent: 'agent', user: 'user', tenant: 'tenant', upstream: 'upstream',
  target: 'target', targetKind: 'kind', toolClass: 'class', method: 'method', decision: 'decision', outcome: 'outcome',
  session: 'session', text: 'text', order: 'order', limit: 'limit', cursor: 'cursor',
};

/** Flags of `gatehouse audit search` and `tail`. */
export const CLI_FLAGS: Readonly<Record<AuditQueryField, string>> = {
  from: '--since', to: '--until', chain: '--chain', type: '--type', agent: '--agent', user: '--user', tenant: '--tenant',
  upstream: '--server', target: '--tool', targetKind: '--kind', toolClass: '--class', method: '--method', decision: '--decision',
  outcome: '--outcome', session: '--session', text: '--text', order: '--order', limit: '--limit', cursor: '--cursor',
};

// Records keyed by the union types: tsc fails here when a kind or outcome is added and not listed.
const TYPES: Readonly<Record<AuditEntryType, true>> = { exchange: true, gap: true, admin: true };
const KINDS: Readonly<Record<Target['kind'], true>> = { tool: true, prompt: true, resource: true, completion: true, list: true, gateway: true };
const OUTCOMES: Readonly<Record<Outcome, true>> = { ok: true, error: true, denied: true, malformed: true, cancelled: true, timeout: true, upstream_error: true };
const DECISIONS = { allow: true, deny: true, require_approval: true, none: true } as const;
const ORDERS = { desc: true, asc: true } as const;
/** Longest filter value the store takes. */
const MAX_VALUE = 1024;

/** A search value that cannot be used; `param` is the flag or parameter as the caller spelt it. */
export class AuditQueryError extends Error {
  readonly param: string;
  constructor(param: string, message: string) {
    super(`${param}: ${message}`);
    this.name = 'AuditQueryError';
    this.param = param;
  }
}

const TIME_HELP = 'an ISO 8601 date or time (2026-11-01, 2026-11-01T09:00:00Z, 2026-11-01T10:00:00+01:00) or a duration ago (90s, 30m, 2h, 7d, 2w)';
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/** Whether the calendar has that day: Date.parse turns 2026-02-30 into March 2nd. */
function realDay(y: string, m: string, d: string): boolean {
  const t = new Date(`${y}-${m}-${d}T00:00:00Z`);
  return !Number.isNaN(t.getTime()) && t.getUTCFullYear() === Number(y) && t.getUTCMonth() + 1 === Number(m) && t.getUTCDate() === Number(d);
}

/** An instant as the store keeps times (`toISOString`). A date alone is midnight UTC. */
export function parseAuditTime(param: string, text: string, now: number): string {
  const seconds = parseDuration(text);
  if (seconds !== undefined) return new Date(now - seconds * 1000).toISOString();
  const date = DATE.exec(text);
  if (date !== null && realDay(date[1]!, date[2]!, date[3]!)) return `${text}T00:00:00.000Z`;
  const dt = DATE_TIME.exec(text);
  if (dt !== null && realDay(dt[1]!, dt[2]!, dt[3]!) && Number(dt[4]) < 24 && Number(dt[5]) < 60 && Number(dt[6] ?? 0) < 60) {
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return new Date(ms).toISOString();
  }
  if (/^\d{4}-\d{2}-\d{2}T[\d:.]+$/.test(text)) throw new AuditQueryError(param, `"${text}" has no time zone: add Z for UTC or an offset such as +01:00`);
  throw new AuditQueryError(param, `"${clip(text)}" is not ${TIME_HELP}`);
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}...` : s;
}

function oneOf(param: string, value: string, allowed: Readonly<Record<string, true>>): string {
  if (Object.hasOwn(allowed, value)) return value;
  throw new AuditQueryError(param, `"${clip(value)}" is not one of ${Object.keys(allowed).join(', ')}`);
}

function plain(param: string, value: string): string {
  if (value === '') throw new AuditQueryError(param, 'must not be empty');
  if (value.length > MAX_VALUE) throw new AuditQueryError(param, `is longer than ${MAX_VALUE} characters`);
  return value;
}

/**
 * Builds a store query from raw text values (absent: no filter). `names` says how the caller spells
 * each field (CLI_FLAGS or HTTP_PARAMS), so the error names what the user typed.
 */
export function parseAuditQuery(values: Partial<Record<AuditQueryField, string>>, names: Readonly<Record<AuditQueryField, string>>, now = Date.now()): AuditQuery {
  const q: AuditQuery = {};
  for (const [field, raw] of Object.entries(values) as [AuditQueryField, string | undefined][]) {
    if (raw === undefined) continue;
    const param = names[field];
    switch (field) {
      case 'from':
      case 'to':
        q[field] = parseAuditTime(param, raw, now);
        break;
      case 'type':
        q.type = oneOf(param, raw, TYPES);
        break;
      case 'targetKind':
        q.targetKind = oneOf(param, raw, KINDS);
        break;
      case 'outcome':
        q.outcome = oneOf(param, raw, OUTCOMES);
        break;
      case 'decision':
        q.decision = oneOf(param, raw, DECISIONS);
        break;
      case 'order':
        q.order = oneOf(param, raw, ORDERS) as 'asc' | 'desc';
        break;
      case 'limit':
        if (!/^\d{1,7}$/.test(raw) || Number(raw) < 1 || Number(raw) > AUDIT_PAGE_MAX) throw new AuditQueryError(param, `"${clip(raw)}" is not a whole number from 1 to ${AUDIT_PAGE_MAX}`);
        q.limit = Number(raw);
        break;
      case 'cursor':
        try {
          decodeAuditCursor(raw);
        } catch {
          throw new AuditQueryError(param, `"${clip(raw)}" is not a cursor an audit search returned (pass the "next" value as it is)`);
        }
        q.cursor = raw;
        break;
      default:
        q[field] = plain(param, raw);
    }
  }
  if (q.from !== undefined && q.to !== undefined && q.from >= q.to) {
    throw new AuditQueryError(names.from, `${q.from} is not before ${names.to} ${q.to}: the period is empty`);
  }
  return q;
}

/** The query values of HTTP parameters; unknown or repeated parameters are refused, not ignored. */
export function queryValuesOf(params: URLSearchParams, extra: readonly string[] = []): Partial<Record<AuditQueryField, string>> {
  const byName = new Map(Object.entries(HTTP_PARAMS).map(([field, name]) => [name, field as AuditQueryField]));
  const values: Partial<Record<AuditQueryField, string>> = {};
  const seen = new Set<string>();
  for (const [name, value] of params) {
    if (seen.has(name)) throw new AuditQueryError(name, 'is given more than once');
    seen.add(name);
    if (extra.includes(name)) continue;
    const field = byName.get(name);
    if (field === undefined) throw new AuditQueryError(clip(name), `is not a parameter of this route (known: ${[...byName.keys(), ...extra].join(', ')})`);
    values[field] = value;
  }
  return values;
}

// ---- records out -----------------------------------------------------------------------------

export type RecordFormat = 'table' | 'json' | 'ocsf';
export const RECORD_FORMATS: Readonly<Record<RecordFormat, true>> = { table: true, json: true, ocsf: true };

/** A stored row whose text is not a JSON object: only tampering or a bug makes one, so it is named, never skipped. */
export class CorruptRecordError extends Error {
  constructor(row: AuditRow) {
    super(`audit entry ${row.seq} of chain '${row.chain}' (id ${row.id}) is not stored as a JSON object; run gatehouse audit verify`);
    this.name = 'CorruptRecordError';
  }
}

export function entryOf(row: AuditRow): AuditEntry {
  let e: unknown;
  try {
    e = JSON.parse(row.text);
  } catch {
    e = undefined;
  }
  if (e === null || typeof e !== 'object' || Array.isArray(e)) throw new CorruptRecordError(row);
  return e as AuditEntry;
}

/** One JSON line: the entry plus `hash` (exactly as the jsonl sink writes it), or an OCSF event. */
export function recordLine(row: AuditRow, format: 'json' | 'ocsf'): string {
  return formatRecord({ entry: entryOf(row), hash: row.hash, text: row.text }, format === 'json' ? 'native' : 'ocsf', VERSION);
}

/** The record as a value for a JSON answer: the entry plus `hash`, or the OCSF event. */
export function recordValue(row: AuditRow, format: 'json' | 'ocsf'): unknown {
  const entry = entryOf(row);
  return format === 'json' ? { ...entry, hash: row.hash } : toOcsf(entry, row.hash, VERSION);
}

/** The columns a person reads: who, when, what, the decision and how it ended. */
export function tableRow(e: AuditEntry): Record<string, string> {
  const p = e.principal;
  const t = e.target;
  const d = e.policy;
  const decision = d === undefined ? '-' : `${d.effect} (${d.rule ?? d.reason})${d.enforced ? '' : ' shadow'}`;
  const target = t !== undefined ? [t.upstream, t.name].filter((x) => x !== undefined).join('/') || t.kind : e.gap !== undefined ? `sink ${e.gap.sink ?? '-'}` : '-';
  const outcome = e.outcome ?? (e.gap !== undefined ? `gap ${e.gap.reason}, ${e.gap.lost} lost` : e.admin !== undefined ? String(e.admin.status) : '-');
  return {
    time: e.time,
    agent: p?.agent ?? '-',
    user: p?.user ?? '-',
    tenant: p?.tenant ?? '-',
    method: e.method ?? e.admin?.action ?? e.type,
    target,
    class: t?.class ?? '-',
    decision,
    outcome,
    duration: e.durationMs === undefined ? '-' : `${e.durationMs < 10 ? e.durationMs.toFixed(1) : Math.round(e.durationMs)}ms`,
  };
}

/**
 * An aligned table written in batches (pages, followed records) without holding them all: widths
 * come from the first batch and only grow, so a long trail streams in constant memory.
 */
export class TableWriter {
  #widths: number[] | undefined;
  #cols: string[] = [];

  /** The text of these rows, with the header before the first batch that has any. */
  rows(rows: readonly Record<string, string>[]): string {
    if (rows.length === 0) return '';
    const first = this.#widths === undefined;
    if (this.#widths === undefined) {
      this.#cols = Object.keys(rows[0]!);
      this.#widths = this.#cols.map((c) => c.length);
    }
    const w = this.#widths;
    const cells = rows.map((r) => this.#cols.map((c) => r[c] ?? ''));
    for (const row of cells) row.forEach((v, i) => (w[i] = Math.max(w[i]!, v.length)));
    const line = (vals: string[]) => vals.map((v, i) => v.padEnd(w[i]!)).join('  ').trimEnd();
    return (first ? `${line(this.#cols.map((c) => c.toUpperCase()))}\n` : '') + cells.map((c) => `${line(c)}\n`).join('');
  }
}

// ---- verify report -------------------------------------------------------------------------------

function range(first: number | undefined, last: number | undefined): string {
  return first === undefined || last === undefined ? 'no entries' : first === last ? `seq ${first}` : `seq ${first}..${last}`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The report for a person: one line per chain, the first break in full, what the keys prove. */
export function verifyText(r: VerifyReport, source: 'store' | 'file'): string {
  let text = '';
  for (const c of r.chains) {
    const pruned = c.prunedThrough === undefined ? '' : `, entries through seq ${c.prunedThrough} removed by retention`;
    const signed = c.lastSignedSeq === undefined ? 'none signed yet' : `last signed seq ${c.lastSignedSeq}`;
    const facts = `${plural(c.entries, 'entry', 'entries')} (${range(c.firstSeq, c.lastSeq)}${pruned}), ${plural(c.checkpoints, 'checkpoint')} verified, ${signed}, unsigned tail ${c.unsignedTail}`;
    if (c.ok) {
      text += `chain ${c.chain}: intact: ${facts}\n`;
      continue;
    }
    const b = c.break!;
    text += `chain ${c.chain}: BROKEN at seq ${b.seq}${b.id === undefined ? '' : ` (entry ${b.id})`}: ${b.kind}: ${b.message}\n`;
    text += `  verified before the break: ${facts}\n`;
  }
  const broken = r.chains.filter((c) => !c.ok).length;
  if (r.chains.length === 0) text += `No audit entries in the ${source === 'store' ? 'store' : 'export'}.\n`;
  else text += broken === 0 ? `Intact: ${plural(r.chains.length, 'chain')} verified.\n` : `BROKEN: ${broken} of ${plural(r.chains.length, 'chain')} ${broken === 1 ? 'has' : 'have'} a break.\n`;
  if (r.keys === 'source' && r.chains.some((c) => c.checkpoints > 0)) {
    text += source === 'file'
      ? 'Signatures were checked with the keys inside the export: that shows the file is consistent, not who signed it. Pass --public-key with the key you hold.\n'
      : 'Signatures were checked with the keys in the store; pass --public-key to check them against a key you hold.\n';
  }
  return text;
}
