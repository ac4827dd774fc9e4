// Verification of a trail, from a store or an export: every entry hashes to its hash and links to the
// one before, no seq is missing or out of place, and every signed checkpoint matches the chain. Each
// chain stops at its first break, which is named: later findings would only be consequences of it.
import type { AuditCheckpoint, AuditPruneMark, AuditRow, AuditStore } from '../store/audit-store.ts';
import { canonicalJson, sha256Hex } from './canonical.ts';
import { AUDIT_ENTRY_VERSION, GENESIS, columnsOf, type AuditColumns, type AuditEntry } from './entry.ts';
import { parseJson } from './json-parse.ts';
import { verifyCheckpoint } from './keys.ts';

/** Where a trail's rows, checkpoints, prune marks and public keys come from. */
export interface VerifySource {
  chains(): Promise<string[]>;
  /** Entries of a chain, ascending by seq as stored (or exported). */
  rows(chain: string): AsyncIterable<AuditRow>;
  checkpoints(chain: string): Promise<AuditCheckpoint[]>;
  pruneMarks(chain: string): Promise<AuditPruneMark[]>;
  /** Public JWK text by kid. */
  keys(): Promise<Map<string, string>>;
}

export type BreakKind =
  | 'hash_mismatch'
  | 'entry_mismatch'
  | 'prev_mismatch'
  | 'seq_gap'
  | 'out_of_order'
  | 'checkpoint_bad_signature'
  | 'checkpoint_mismatch'
  | 'unknown_key'
  | 'malformed'
  | 'no_such_chain';

export interface VerifyBreak {
  chain: string;
  seq: number;
  id?: string;
  kind: BreakKind;
  message: string;
}

export interface ChainReport {
  chain: string;
  ok: boolean;
  /** Entries verified (up to the break, if any). */
  entries: number;
  firstSeq?: number;
  lastSeq?: number;
  /** The chain starts after this prune mark's seq (entries before it were removed by retention). */
  prunedThrough?: number;
  /** Checkpoints whose signature and hash both checked out. */
  checkpoints: number;
  lastSignedSeq?: number;
  /** Entries after the last verified checkpoint: intact as far as the chain shows, but not yet signed. */
  unsignedTail: number;
  break?: VerifyBreak;
}

export interface VerifyReport {
  ok: boolean;
  /** `given`: keys the caller trusts were used. `source`: the source's own keys (an export's prove only its internal consistency). */
  keys: 'given' | 'source';
  chains: ChainReport[];
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Verifies the chains of a source (all, or those named). */
export async function verifyTrail(src: VerifySource, opts: { publicKeys?: Map<string, string>; chains?: string[] } = {}): Promise<VerifyReport> {
  const keys = opts.publicKeys ?? (await src.keys());
  const chains = opts.chains ?? (await src.chains());
  const reports: ChainReport[] = [];
  for (const chain of chains) reports.push(await verifyChain(src, chain, keys));
  return { ok: reports.every((r) => r.ok), keys: opts.publicKeys === undefined ? 'source' : 'given', chains: reports };
}

class Broken {
  readonly b: VerifyBreak;
  constructor(b: VerifyBreak) {
    this.b = b;
  }
}

function fail(chain: string, seq: number, kind: BreakKind, message: string, id?: string): never {
  throw new Broken({ chain, seq, ...(id === undefined ? {} : { id }), kind, message });
}

const COLUMN_KEYS = Object.keys(columnsOf({ type: 'gap', time: '', chain: '', seq: 0, prev: '', id: '', v: AUDIT_ENTRY_VERSION })) as (keyof AuditColumns)[];

/** The entry a row holds, checked against the row; the checks that need no neighbour. */
function checkRow(chain: string, row: AuditRow): AuditEntry {
  const seq = row.seq;
  if (typeof row.text !== 'string' || typeof row.hash !== 'string') fail(chain, seq, 'malformed', `row ${seq} has no text or hash`, row.id);
  if (sha256Hex(row.text) !== row.hash) fail(chain, seq, 'hash_mismatch', `entry ${seq}: its text does not hash to its recorded hash (the entry or the hash was edited)`, row.id);
  let e: AuditEntry;
  try {
    e = parseJson(row.text) as AuditEntry;
  } catch {
    return fail(chain, seq, 'malformed', `entry ${seq}: its text is not JSON`, row.id);
  }
  if (e === null || typeof e !== 'object' || Array.isArray(e)) fail(chain, seq, 'malformed', `entry ${seq}: its text is not a JSON object`, row.id);
  if (e.v !== AUDIT_ENTRY_VERSION) fail(chain, seq, 'malformed', `entry ${seq}: unsupported entry version ${JSON.stringify(e.v)}`, row.id);
  if (typeof e.chain !== 'string' || !Number.isSafeInteger(e.seq) || typeof e.id !== 'string' || typeof e.prev !== 'string' || !HEX64.test(e.prev) || typeof e.type !== 'string' || typeof e.time !== 'string') {
    fail(chain, seq, 'malformed', `entry ${seq}: chain, seq, id, prev, type or time missing or of the wrong type`, row.id);
  }
  let canonical: string | undefined;
  try {
    canonical = canonicalJson(e);
  } catch {
    canonical = undefined;
  }
  if (canonical !== row.text) fail(chain, seq, 'malformed', `entry ${seq}: its text is not in canonical form (RFC 8785)`, row.id);
  if (row.chain !== chain || e.chain !== chain) fail(chain, seq, 'entry_mismatch', `entry ${seq}: listed under chain '${row.chain}' but its text says chain '${e.chain}'`, row.id);
  if (e.seq !== row.seq) fail(chain, seq, 'entry_mismatch', `row ${row.seq} holds the entry of seq ${e.seq}`, row.id);
  if (e.id !== row.id) fail(chain, seq, 'entry_mismatch', `entry ${seq}: row id ${row.id} differs from the text's id ${e.id}`, row.id);
  const cols = columnsOf(e);
  const stored = (row.columns ?? {}) as unknown as Record<string, unknown>;
  for (const k of COLUMN_KEYS) {
    if (cols[k] !== stored[k]) fail(chain, seq, 'entry_mismatch', `entry ${seq}: column ${k} is ${JSON.stringify(stored[k])}, the text says ${JSON.stringify(cols[k])}`, row.id);
  }
  return e;
}

async function verifyChain(src: VerifySource, chain: string, keys: ReadonlyMap<string, string>): Promise<ChainReport> {
  const report: ChainReport = { chain, ok: true, entries: 0, checkpoints: 0, unsignedTail: 0 };
  let it: AsyncIterator<AuditRow> | undefined;
  let expected = 0;
  try {
    // Checkpoints first: one signed while we read would point past the rows read, like a truncation.
    const cps = (await src.checkpoints(chain).catch(asMalformed(chain, 0))).slice().sort((a, b) => a.seq - b.seq);
    let ci = 0;
    const checkCp = (cp: AuditCheckpoint, hashAt: string | undefined, lastSeq: number | undefined): void => {
      if (cp.chain !== chain) fail(chain, cp.seq, 'checkpoint_mismatch', `a checkpoint listed under chain '${chain}' names chain '${cp.chain}'`);
      const v = verifyCheckpoint(cp, keys);
      if (v === 'unknown_key') fail(chain, cp.seq, 'unknown_key', `checkpoint at seq ${cp.seq} is signed by key '${cp.kid}', which is not known`);
      if (v === 'bad_signature') fail(chain, cp.seq, 'checkpoint_bad_signature', `checkpoint at seq ${cp.seq}: the signature does not verify with key '${cp.kid}'`);
      if (hashAt === undefined) {
        const where = lastSeq === undefined ? 'the chain has no entries' : `the last entry is seq ${lastSeq}`;
        fail(chain, cp.seq, 'checkpoint_mismatch', `a signed checkpoint covers seq ${cp.seq} but ${where}: entries were removed from the end`);
      }
      if (cp.hash !== hashAt) fail(chain, cp.seq, 'checkpoint_mismatch', `checkpoint at seq ${cp.seq} signs hash ${cp.hash}, the entry there hashes to ${hashAt}`);
      report.checkpoints++;
      report.lastSignedSeq = Math.max(report.lastSignedSeq ?? 0, cp.seq);
    };

    it = src.rows(chain)[Symbol.asyncIterator]();
    const next = async (): Promise<AuditRow | undefined> => {
      try {
        const r = await it!.next();
        return r.done === true ? undefined : r.value;
      } catch (err) {
        return fail(chain, expected, 'malformed', err instanceof Error ? err.message : String(err));
      }
    };
    let row = await next();
    let prev = GENESIS;
    const marks = await src.pruneMarks(chain).catch(asMalformed(chain, 0));
    if (row === undefined) {
      const through = marks.reduce((m, k) => Math.max(m, k.throughSeq), 0);
      if (through > 0) report.prunedThrough = through;
      else if (cps.length === 0) fail(chain, 0, 'no_such_chain', `no entries, checkpoints or prune marks for chain '${chain}'`);
      for (const cp of cps) checkCp(cp, cp.seq === through ? marks.find((m) => m.throughSeq === through)?.hash : cp.seq < through ? cp.hash : undefined, undefined);
      return report;
    }
    // The chain starts at seq 1, or right after the prune mark that removed what came before it. A
    // mark that reaches past the first row was made after that row was read: it does not apply.
    let anchor: AuditPruneMark | undefined;
    for (const m of marks) if (m.throughSeq < row.seq && (anchor === undefined || m.throughSeq > anchor.throughSeq)) anchor = m;
    if (anchor !== undefined) {
      report.prunedThrough = anchor.throughSeq;
      prev = anchor.hash;
      expected = anchor.throughSeq + 1;
    } else expected = 1;
    // Checkpoints over pruned entries: their signatures still verify, but only the one at the mark
    // has an entry hash left to compare with.
    while (ci < cps.length && cps[ci]!.seq < expected) {
      const cp = cps[ci++]!;
      checkCp(cp, cp.seq === anchor?.throughSeq ? anchor.hash : cp.hash, undefined);
    }
    report.firstSeq = row.seq;
    while (row !== undefined) {
      const e = checkRow(chain, row);
      if (row.seq < expected) {
        fail(chain, row.seq, 'out_of_order', `entry ${row.seq} comes after entry ${expected - 1}: entries were reordered or repeated`, row.id);
      }
      if (row.seq > expected) {
        // One row of lookahead tells a swapped pair from a hole.
        const following = await next();
        if (following !== undefined && following.seq < row.seq) {
          fail(chain, expected, 'out_of_order', `entry ${row.seq} comes before entry ${following.seq}: entries were reordered`, row.id);
        }
        const missing = expected === row.seq - 1 ? `entry ${expected} is` : `entries ${expected}..${row.seq - 1} are`;
        const why = anchor === undefined && expected === 1 ? ' (and no prune mark records their removal)' : '';
        fail(chain, expected, 'seq_gap', `${missing} missing${why}`, row.id);
      }
      if (e.prev !== prev) fail(chain, row.seq, 'prev_mismatch', `entry ${row.seq} links to ${e.prev}, but the entry before it hashes to ${prev}`, row.id);
      while (ci < cps.length && cps[ci]!.seq <= row.seq) {
        const cp = cps[ci++]!;
        checkCp(cp, cp.seq === row.seq ? row.hash : undefined, row.seq);
      }
      report.entries++;
      report.lastSeq = row.seq;
      prev = row.hash;
      expected = row.seq + 1;
      row = await next();
    }
    while (ci < cps.length) checkCp(cps[ci++]!, undefined, report.lastSeq);
  } catch (err) {
    if (!(err instanceof Broken)) throw err;
    report.ok = false;
    report.break = err.b;
    await it?.return?.().catch(() => undefined);
  } finally {
    if (report.lastSeq !== undefined) {
      const signedThrough = Math.max(report.lastSignedSeq ?? 0, (report.firstSeq ?? 1) - 1);
      report.unsignedTail = Math.max(0, report.lastSeq - signedThrough);
    }
  }
  return report;
}

function asMalformed(chain: string, seq: number): (err: unknown) => never {
  return (err) => fail(chain, seq, 'malformed', err instanceof Error ? err.message : String(err));
}

/** A store as a verification source; rows are read `batch` at a time. */
export function storeVerifySource(store: AuditStore, batch = 1000): VerifySource {
  return {
    chains: async () => (await store.auditChains()).map((c) => c.chain),
    async *rows(chain) {
      let after = 0;
      for (;;) {
        const rows = await store.readAudit(chain, after, batch);
        for (const r of rows) yield r;
        if (rows.length < batch) return;
        after = rows[rows.length - 1]!.seq;
      }
    },
    checkpoints: (chain) => store.listAuditCheckpoints(chain),
    pruneMarks: (chain) => store.auditPruneMarks(chain),
    keys: async () => new Map((await store.listAuditKeys()).map((k) => [k.kid, k.publicJwk])),
  };
}
