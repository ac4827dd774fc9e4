import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, sha256Hex } from '../../../src/audit/canonical.ts';
import { sealEntry } from '../../../src/audit/chain.ts';
import { GENESIS, columnsOf, type AuditEntry } from '../../../src/audit/entry.ts';
import { generateAuditKey, signCheckpoint } from '../../../src/audit/keys.ts';
import { verifyTrail, type VerifySource } from '../../../src/audit/verify.ts';
import type { AuditCheckpoint, AuditPruneMark, AuditRow } from '../../../src/store/audit-store.ts';

const key = generateAuditKey();

function makeChain(chain: string, n: number, from = 1, prev = GENESIS): AuditRow[] {
  const rows: AuditRow[] = [];
  for (let seq = from; seq < from + n; seq++) {
    const { row } = sealEntry({ type: 'exchange', id: `id-${chain}-${seq}`, time: `2026-01-02T03:04:${String(seq % 60).padStart(2, '0')}.000Z`, method: 'tools/call', outcome: 'ok' }, chain, seq, prev);
    rows.push(row);
    prev = row.hash;
  }
  return rows;
}

function checkpoint(row: AuditRow): AuditCheckpoint {
  return signCheckpoint(key, { chain: row.chain, seq: row.seq, hash: row.hash, time: '2026-01-02T04:00:00.000Z' });
}

interface Fake {
  rows: Record<string, AuditRow[]>;
  checkpoints?: Record<string, AuditCheckpoint[]>;
  marks?: Record<string, AuditPruneMark[]>;
  rowsError?: { chain: string; after: number; message: string };
}

function source(f: Fake): VerifySource {
  return {
    chains: async () => Object.keys(f.rows),
    async *rows(chain) {
      for (const r of f.rows[chain] ?? []) {
        yield r;
        if (f.rowsError?.chain === chain && f.rowsError.after === r.seq) throw new Error(f.rowsError.message);
      }
    },
    checkpoints: async (chain) => f.checkpoints?.[chain] ?? [],
    pruneMarks: async (chain) => f.marks?.[chain] ?? [],
    keys: async () => new Map([[key.kid, key.publicJwk]]),
  };
}

/** A row whose text was edited and re-hashed (the attacker knows the format). */
function rewrite(row: AuditRow, change: (e: AuditEntry) => void, rehash = true): AuditRow {
  const e = JSON.parse(row.text) as AuditEntry;
  change(e);
  const text = canonicalJson(e);
  return rehash ? { ...row, text, hash: sha256Hex(text), columns: columnsOf(e) } : { ...row, text };
}

describe('verifyTrail', () => {
  it('accepts an intact trail and reports its extent, checkpoints and unsigned tail', async () => {
    const a = makeChain('a', 10);
    const b = makeChain('b', 3);
    const report = await verifyTrail(source({ rows: { a, b }, checkpoints: { a: [checkpoint(a[3]!), checkpoint(a[6]!)] } }));
    assert.equal(report.ok, true);
    assert.equal(report.keys, 'source');
    assert.deepEqual(report.chains[0], { chain: 'a', ok: true, entries: 10, firstSeq: 1, lastSeq: 10, checkpoints: 2, lastSignedSeq: 7, unsignedTail: 3 });
    assert.deepEqual(report.chains[1], { chain: 'b', ok: true, entries: 3, firstSeq: 1, lastSeq: 3, checkpoints: 0, unsignedTail: 3 });
  });

  it('catches an edited entry (text changed, hash kept)', async () => {
    const rows = makeChain('a', 5);
    rows[2] = rewrite(rows[2]!, (e) => (e.outcome = 'denied'), false);
    const r = (await verifyTrail(source({ rows: { a: rows } }))).chains[0]!;
    assert.equal(r.ok, false);
    assert.deepEqual(r.break, { chain: 'a', seq: 3, id: 'id-a-3', kind: 'hash_mismatch', message: 'entry 3: its text does not hash to its recorded hash (the entry or the hash was edited)' });
    assert.equal(r.entries, 2);
    assert.equal(r.lastSeq, 2);
  });

  it('catches an edited entry whose hash was recomputed: the next entry no longer links', async () => {
    const rows = makeChain('a', 5);
    rows[2] = rewrite(rows[2]!, (e) => (e.outcome = 'denied'));
    const r = (await verifyTrail(source({ rows: { a: rows } }))).chains[0]!;
    assert.equal(r.break?.kind, 'prev_mismatch');
    assert.equal(r.break?.seq, 4);
  });

  it('catches an edited hash', async () => {
    const rows = makeChain('a', 3);
    rows[1] = { ...rows[1]!, hash: 'f'.repeat(64) };
    assert.equal((await verifyTrail(source({ rows: { a: rows } }))).chains[0]!.break?.kind, 'hash_mismatch');
  });

  it('catches a row whose columns or id disagree with its text', async () => {
    const rows = makeChain('a', 3);
    rows[1] = { ...rows[1]!, columns: { ...rows[1]!.columns, outcome: 'denied' } };
    const r = (await verifyTrail(source({ rows: { a: rows } }))).chains[0]!;
    assert.equal(r.break?.kind, 'entry_mismatch');
    assert.match(r.break!.message, /column outcome is "denied", the text says "ok"/);
    const rows2 = makeChain('a', 3);
    rows2[1] = { ...rows2[1]!, id: 'other' };
    assert.equal((await verifyTrail(source({ rows: { a: rows2 } }))).chains[0]!.break?.kind, 'entry_mismatch');
  });

  it('catches an entry deleted from the middle', async () => {
    const rows = makeChain('a', 5);
    rows.splice(2, 1);
    const r = (await verifyTrail(source({ rows: { a: rows } }))).chains[0]!;
    assert.deepEqual(r.break, { chain: 'a', seq: 3, id: 'id-a-4', kind: 'seq_gap', message: 'entry 3 is missing' });
  });

  it('catches entries deleted from the end when a checkpoint covered them', async () => {
    const rows = makeChain('a', 6);
    const cps = [checkpoint(rows[5]!)];
    const r = (await verifyTrail(source({ rows: { a: rows.slice(0, 4) }, checkpoints: { a: cps } }))).chains[0]!;
    assert.equal(r.break?.kind, 'checkpoint_mismatch');
    assert.equal(r.break?.seq, 6);
    assert.match(r.break!.message, /covers seq 6 but the last entry is seq 4: entries were removed from the end/);
  });

  it('catches a checkpoint whose hash is not the entry\'s', async () => {
    const rows = makeChain('a', 4);
    const forged = signCheckpoint(key, { chain: 'a', seq: 2, hash: 'e'.repeat(64), time: '2026-01-02T04:00:00.000Z' });
    assert.equal((await verifyTrail(source({ rows: { a: rows }, checkpoints: { a: [forged] } }))).chains[0]!.break?.kind, 'checkpoint_mismatch');
  });

  it('catches a reordered pair', async () => {
    const rows = makeChain('a', 5);
    [rows[1], rows[2]] = [rows[2]!, rows[1]!];
    const r = (await verifyTrail(source({ rows: { a: rows } }))).chains[0]!;
    assert.equal(r.break?.kind, 'out_of_order');
    assert.match(r.break!.message, /entry 3 comes before entry 2/);
    const dup = makeChain('a', 3);
    dup.splice(2, 0, dup[1]!);
    assert.equal((await verifyTrail(source({ rows: { a: dup } }))).chains[0]!.break?.kind, 'out_of_order');
  });

  it('catches a bad checkpoint signature and an unknown key', async () => {
    const rows = makeChain('a', 3);
    const cp = checkpoint(rows[1]!);
    const bad = { ...cp, signature: checkpoint(rows[2]!).signature };
    const r = (await verifyTrail(source({ rows: { a: rows }, checkpoints: { a: [bad] } }))).chains[0]!;
    assert.deepEqual(r.break, { chain: 'a', seq: 2, kind: 'checkpoint_bad_signature', message: `checkpoint at seq 2: the signature does not verify with key '${key.kid}'` });
    const other = generateAuditKey();
    const r2 = await verifyTrail(source({ rows: { a: rows }, checkpoints: { a: [cp] } }), { publicKeys: new Map([[other.kid, other.publicJwk]]) });
    assert.equal(r2.keys, 'given');
    assert.equal(r2.chains[0]!.break?.kind, 'unknown_key');
  });

  it('accepts a chain anchored by a prune mark', async () => {
    const full = makeChain('a', 10);
    const mark: AuditPruneMark = { chain: 'a', throughSeq: 4, hash: full[3]!.hash, time: '2026-01-03T00:00:00.000Z', reason: 'max_age' };
    const r = (await verifyTrail(source({ rows: { a: full.slice(4) }, marks: { a: [mark] }, checkpoints: { a: [checkpoint(full[3]!), checkpoint(full[7]!)] } }))).chains[0]!;
    assert.deepEqual(r, { chain: 'a', ok: true, entries: 6, firstSeq: 5, lastSeq: 10, prunedThrough: 4, checkpoints: 2, lastSignedSeq: 8, unsignedTail: 2 });
  });

  it('refuses a pruned chain whose first entry does not link to the mark', async () => {
    const full = makeChain('a', 6);
    const mark: AuditPruneMark = { chain: 'a', throughSeq: 2, hash: 'c'.repeat(64), time: '2026-01-03T00:00:00.000Z', reason: 'max_age' };
    const r = (await verifyTrail(source({ rows: { a: full.slice(2) }, marks: { a: [mark] } }))).chains[0]!;
    assert.equal(r.break?.kind, 'prev_mismatch');
    assert.equal(r.break?.seq, 3);
  });

  it('refuses a chain whose head is missing without a prune mark', async () => {
    const full = makeChain('a', 6);
    const r = (await verifyTrail(source({ rows: { a: full.slice(3) } }))).chains[0]!;
    assert.deepEqual(r.break, { chain: 'a', seq: 1, id: 'id-a-4', kind: 'seq_gap', message: 'entries 1..3 are missing (and no prune mark records their removal)' });
    const mark: AuditPruneMark = { chain: 'a', throughSeq: 1, hash: full[0]!.hash, time: '2026-01-03T00:00:00.000Z', reason: 'max_age' };
    const r2 = (await verifyTrail(source({ rows: { a: full.slice(3) }, marks: { a: [mark] } }))).chains[0]!;
    assert.deepEqual([r2.break?.kind, r2.break?.message], ['seq_gap', 'entries 2..3 are missing']);
  });

  it('refuses a chain moved under another name', async () => {
    const r = (await verifyTrail(source({ rows: { b: makeChain('a', 2) } }))).chains[0]!;
    assert.equal(r.break?.kind, 'entry_mismatch');
  });

  it('refuses text that is not JSON, not canonical, or of another version', async () => {
    const rows = makeChain('a', 3);
    const notJson = { ...rows[1]!, text: '{"oops"', hash: sha256Hex('{"oops"') };
    assert.equal((await verifyTrail(source({ rows: { a: [rows[0]!, notJson] } }))).chains[0]!.break?.kind, 'malformed');
    const spaced = rows[1]!.text.replace(',', ', ');
    const nonCanonical = { ...rows[1]!, text: spaced, hash: sha256Hex(spaced) };
    assert.match((await verifyTrail(source({ rows: { a: [rows[0]!, nonCanonical] } }))).chains[0]!.break!.message, /not in canonical form/);
    const v2 = rewrite(rows[1]!, (e) => ((e as unknown as { v: number }).v = 2));
    assert.match((await verifyTrail(source({ rows: { a: [rows[0]!, v2] } }))).chains[0]!.break!.message, /unsupported entry version 2/);
  });

  it('reports a source that fails mid-chain as malformed, at the seq it was reading', async () => {
    const r = (await verifyTrail(source({ rows: { a: makeChain('a', 4) }, rowsError: { chain: 'a', after: 2, message: 'export.jsonl:9: not JSON' } }))).chains[0]!;
    assert.deepEqual(r.break, { chain: 'a', seq: 3, kind: 'malformed', message: 'export.jsonl:9: not JSON' });
    assert.equal(r.entries, 2);
  });

  it('verifies only the chains asked for, and names one that does not exist', async () => {
    const report = await verifyTrail(source({ rows: { a: makeChain('a', 2), b: makeChain('b', 2) } }), { chains: ['b', 'zzz'] });
    assert.deepEqual(report.chains.map((c) => [c.chain, c.ok, c.break?.kind]), [['b', true, undefined], ['zzz', false, 'no_such_chain']]);
    assert.equal(report.ok, false);
  });

  it('accepts a fully pruned chain, and catches a checkpoint past it', async () => {
    const full = makeChain('a', 3);
    const mark: AuditPruneMark = { chain: 'a', throughSeq: 3, hash: full[2]!.hash, time: '2026-01-03T00:00:00.000Z', reason: 'max_bytes' };
    const ok = (await verifyTrail(source({ rows: { a: [] }, marks: { a: [mark] }, checkpoints: { a: [checkpoint(full[2]!)] } }))).chains[0]!;
    assert.deepEqual([ok.ok, ok.entries, ok.prunedThrough, ok.checkpoints], [true, 0, 3, 1]);
    const more = makeChain('a', 5);
    const bad = (await verifyTrail(source({ rows: { a: [] }, marks: { a: [mark] }, checkpoints: { a: [checkpoint(more[4]!)] } }))).chains[0]!;
    assert.equal(bad.break?.kind, 'checkpoint_mismatch');
  });
});
