// The export file: JSON lines that carry a trail out of the store and can be verified on their own.
//
//   {"gatehouse":"audit-export","version":1,"exportedAt":"..."}
//   {"key":{"kid":"...","publicJwk":{...}}}               every checkpoint key, once
//   per chain:
//   {"prune":{chain, throughSeq, hash, time, reason}}     retention marks
//   {"entry":<the entry>,"hash":"<hex>"}                 in seq order
//   {"checkpoint":{chain, seq, hash, time, kid, signature}}
//   {"corrupt":{chain, seq, id, hash, text}}             a stored row whose text is not JSON, kept as is
//
// The entry is written as the stored canonical text itself, so its bytes are in the file. A reader
// gets the hashed text back by canonicalizing the parsed entry: JCS is a function of the JSON value
// alone (members sorted by UTF-16 code units, one string escaping, numbers in ECMAScript's shortest
// round-trip form, so JSON.parse of a number and its serialization give back the same digits), and
// the text was already in that form. A line edited in any way that changes the value fails the hash;
// re-spacing or reordering members does not change it, and is not a change. Lines are parsed with
// parseJson, not JSON.parse, which V8 can get wrong for escaped member names (json-parse.ts).
import { createReadStream } from 'node:fs';
import type { AuditCheckpoint, AuditPruneMark, AuditRow, AuditStore } from '../store/audit-store.ts';
import { canonicalJson } from './canonical.ts';
import { columnsOf, type AuditColumns, type AuditEntry } from './entry.ts';
import { parseJson } from './json-parse.ts';
import type { VerifySource } from './verify.ts';

export const EXPORT_FORMAT = 'audit-export';
export const EXPORT_VERSION = 1;
const READ_BATCH = 1000;

export interface ExportSink {
  /** Receives one complete line, newline included; awaited before the next. */
  write(line: string): Promise<void> | void;
}

function line(v: unknown): string {
  return `${JSON.stringify(v)}\n`;
}

/**
 * Writes the trail (all chains, or those named) to `out`. Not a snapshot: a chain pruned while it is
 * being exported shows as a gap when the file is verified, never as a silently shorter trail.
 */
export async function writeExport(store: AuditStore, out: ExportSink, opts: { chains?: string[]; now?: Date } = {}): Promise<{ entries: number }> {
  await out.write(line({ gatehouse: 'audit-export', version: EXPORT_VERSION, exportedAt: (opts.now ?? new Date()).toISOString() }));
  for (const k of await store.listAuditKeys()) await out.write(line({ key: { kid: k.kid, publicJwk: JSON.parse(k.publicJwk) as unknown } }));
  const chains = opts.chains ?? (await store.auditChains()).map((c) => c.chain);
  let entries = 0;
  for (const chain of chains) {
    // Checkpoints before entries: every checkpoint read then covers rows that exist when they are read.
    const cps = await store.listAuditCheckpoints(chain);
    let batch = await store.readAudit(chain, 0, READ_BATCH);
    // Marks after the first rows: a prune between the two still leaves the mark the first row needs.
    for (const m of await store.auditPruneMarks(chain)) await out.write(line({ prune: m }));
    while (batch.length > 0) {
      for (const r of batch) {
        await out.write(rowLine(r));
        entries++;
      }
      if (batch.length < READ_BATCH) break;
      batch = await store.readAudit(chain, batch[batch.length - 1]!.seq, READ_BATCH);
    }
    for (const c of cps) await out.write(line({ checkpoint: c }));
  }
  return { entries };
}

/**
 * The entry line, embedding the stored text; or, for a row that could not stand as one (text not a
 * JSON object of its own chain, or spread over lines), a `corrupt` line keeping the row exactly as
 * stored, so that the file's verifier reaches the same verdict as the store's.
 */
function rowLine(r: AuditRow): string {
  let e: unknown;
  try {
    e = JSON.parse(r.text);
  } catch {
    e = undefined;
  }
  const fits = typeof e === 'object' && e !== null && !Array.isArray(e) && (e as { chain?: unknown }).chain === r.chain && !/[\r\n]/.test(r.text);
  if (!fits) return line({ corrupt: { chain: r.chain, seq: r.seq, id: r.id, hash: r.hash, text: r.text } });
  return `{"entry":${r.text},"hash":${JSON.stringify(r.hash)}}\n`;
}

/** A line the reader cannot use; the message starts with the file and line. */
export class ExportFormatError extends Error {
  constructor(path: string, lineNo: number, message: string) {
    super(`${path}:${lineNo}: ${message}`);
    this.name = 'ExportFormatError';
  }
}

type Line = { n: number; v: Record<string, unknown> };

/**
 * Lines split at "\n" only (a trailing "\r" dropped). Not node:readline: it also breaks lines at
 * U+2028 and U+2029, which canonical JSON leaves unescaped inside strings.
 */
async function* rawLines(path: string): AsyncGenerator<string> {
  const input = createReadStream(path, { encoding: 'utf8' });
  let rest = '';
  try {
    for await (const chunk of input as AsyncIterable<string>) {
      rest += chunk;
      let nl: number;
      while ((nl = rest.indexOf('\n')) >= 0) {
        const text = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        yield text.endsWith('\r') ? text.slice(0, -1) : text;
      }
    }
    if (rest.length > 0) yield rest;
  } finally {
    // Also when the reader stops early (a break found): the file must not stay open.
    input.destroy();
  }
}

async function* lines(path: string): AsyncGenerator<Line> {
  let n = 0;
  let header = false;
  for await (const text of rawLines(path)) {
    n++;
    if (text.trim() === '') continue;
    let v: unknown;
    try {
      v = parseJson(text);
    } catch (err) {
      throw new ExportFormatError(path, n, `not JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ExportFormatError(path, n, 'a line must be a JSON object');
    if (!header) {
      header = true;
      const h = v as Record<string, unknown>;
      if (h.gatehouse !== EXPORT_FORMAT) throw new ExportFormatError(path, n, 'not a Gatehouse audit export (no header line)');
      if (h.version !== EXPORT_VERSION) throw new ExportFormatError(path, n, `export version ${JSON.stringify(h.version)} is not supported (this reader knows ${EXPORT_VERSION})`);
      continue;
    }
    yield { n, v: v as Record<string, unknown> };
  }
  if (!header) throw new ExportFormatError(path, 1, 'the file is empty');
}

const KINDS = ['key', 'prune', 'entry', 'checkpoint', 'corrupt'] as const;

function kindOf(path: string, l: Line): (typeof KINDS)[number] {
  const found = KINDS.filter((k) => Object.hasOwn(l.v, k));
  const extra = Object.keys(l.v).filter((k) => !(KINDS as readonly string[]).includes(k) && !(k === 'hash' && found[0] === 'entry'));
  if (found.length !== 1 || extra.length > 0) throw new ExportFormatError(path, l.n, `expected one of ${KINDS.join(', ')}${extra.length > 0 ? `; unexpected ${extra.join(', ')}` : ''}`);
  return found[0]!;
}

function obj(path: string, l: Line, k: string): Record<string, unknown> {
  const v = l.v[k];
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ExportFormatError(path, l.n, `"${k}" must be an object`);
  return v as Record<string, unknown>;
}

function chainOf(path: string, l: Line, k: string): string {
  const c = obj(path, l, k).chain;
  if (typeof c !== 'string') throw new ExportFormatError(path, l.n, `"${k}" has no chain`);
  return c;
}

interface Index {
  chains: string[];
  keys: Map<string, string>;
  checkpoints: Map<string, AuditCheckpoint[]>;
  marks: Map<string, AuditPruneMark[]>;
}

/** Reads an export back as a verification source, streaming: entries are never all in memory. */
export function fileVerifySource(path: string): VerifySource {
  let index: Promise<Index> | undefined;
  // One pass for everything small (keys, checkpoints, marks, chain names); entries are read per chain.
  const scan = async (): Promise<Index> => {
    const ix: Index = { chains: [], keys: new Map(), checkpoints: new Map(), marks: new Map() };
    const seen = (c: string) => {
      if (!ix.chains.includes(c)) ix.chains.push(c);
    };
    for await (const l of lines(path)) {
      const kind = kindOf(path, l);
      if (kind === 'key') {
        const k = obj(path, l, 'key');
        if (typeof k.kid !== 'string' || k.publicJwk === null || typeof k.publicJwk !== 'object') throw new ExportFormatError(path, l.n, 'a key needs a kid and a publicJwk object');
        ix.keys.set(k.kid, JSON.stringify(k.publicJwk));
        continue;
      }
      const chain = chainOf(path, l, kind);
      seen(chain);
      if (kind === 'checkpoint') push(ix.checkpoints, chain, checkCheckpoint(path, l));
      else if (kind === 'prune') push(ix.marks, chain, checkMark(path, l));
    }
    return ix;
  };
  const ready = () => (index ??= scan());
  return {
    chains: async () => (await ready()).chains,
    keys: async () => (await ready()).keys,
    checkpoints: async (chain) => (await ready()).checkpoints.get(chain) ?? [],
    pruneMarks: async (chain) => (await ready()).marks.get(chain) ?? [],
    async *rows(chain) {
      for await (const l of lines(path)) {
        const kind = kindOf(path, l);
        if ((kind !== 'entry' && kind !== 'corrupt') || chainOf(path, l, kind) !== chain) continue;
        yield kind === 'entry' ? entryRow(path, l) : corruptRow(path, l);
      }
    },
  };
}

function push<T>(m: Map<string, T[]>, k: string, v: T): void {
  const list = m.get(k);
  if (list === undefined) m.set(k, [v]);
  else list.push(v);
}

function checkCheckpoint(path: string, l: Line): AuditCheckpoint {
  const c = obj(path, l, 'checkpoint');
  if (!Number.isSafeInteger(c.seq) || typeof c.hash !== 'string' || typeof c.time !== 'string' || typeof c.kid !== 'string' || typeof c.signature !== 'string') {
    throw new ExportFormatError(path, l.n, 'a checkpoint needs seq, hash, time, kid and signature');
  }
  return c as unknown as AuditCheckpoint;
}

function checkMark(path: string, l: Line): AuditPruneMark {
  const m = obj(path, l, 'prune');
  if (!Number.isSafeInteger(m.throughSeq) || typeof m.hash !== 'string') throw new ExportFormatError(path, l.n, 'a prune mark needs throughSeq and hash');
  return m as unknown as AuditPruneMark;
}

function entryRow(path: string, l: Line): AuditRow {
  const e = obj(path, l, 'entry') as unknown as AuditEntry;
  if (typeof l.v.hash !== 'string') throw new ExportFormatError(path, l.n, 'an entry line needs its hash');
  if (!Number.isSafeInteger(e.seq) || typeof e.id !== 'string') throw new ExportFormatError(path, l.n, 'the entry has no integer seq or no id');
  let text: string;
  try {
    text = canonicalJson(e);
  } catch (err) {
    throw new ExportFormatError(path, l.n, `the entry has no canonical form (${err instanceof Error ? err.message : String(err)})`);
  }
  return { chain: e.chain, seq: e.seq, id: e.id, hash: l.v.hash, text, columns: columnsOf(e) };
}

function corruptRow(path: string, l: Line): AuditRow {
  const c = obj(path, l, 'corrupt');
  if (!Number.isSafeInteger(c.seq) || typeof c.id !== 'string' || typeof c.hash !== 'string' || typeof c.text !== 'string') {
    throw new ExportFormatError(path, l.n, 'a corrupt row needs seq, id, hash and text');
  }
  // Its text is not JSON: there are no columns to derive, and verification stops at it anyway.
  return { chain: c.chain as string, seq: c.seq as number, id: c.id, hash: c.hash, text: c.text, columns: {} as AuditColumns };
}
