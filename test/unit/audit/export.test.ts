import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { canonicalJson } from '../../../src/audit/canonical.ts';
import { sealEntry } from '../../../src/audit/chain.ts';
import { GENESIS } from '../../../src/audit/entry.ts';
import { fileVerifySource, writeExport } from '../../../src/audit/export.ts';
import { generateAuditKey, signCheckpoint } from '../../../src/audit/keys.ts';
import { storeVerifySource, verifyTrail } from '../../../src/audit/verify.ts';
import type { AuditRow } from '../../../src/store/audit-store.ts';
import { createMemoryStore } from '../../../src/store/memory.ts';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-export-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const key = generateAuditKey();

function chainRows(chain: string, n: number): AuditRow[] {
  const rows: AuditRow[] = [];
  let prev = GENESIS;
  for (let seq = 1; seq <= n; seq++) {
    const { row } = sealEntry(
      {
        type: 'exchange',
        id: `${chain}-${seq}`,
        time: `2026-01-02T03:04:${String(seq).padStart(2, '0')}.000Z`,
        durationMs: 0.1 + seq / 3,
        method: 'tools/call',
        // Values whose canonical form is easy to get wrong: numbers, escapes, non-ASCII.
        args: { n: 1e21, f: 1 / 3, big: 9007199254740991, tiny: 5e-324, s: 'é😀\u2028"\\\n', neg: -0 },
        outcome: 'ok',
      },
      chain,
      seq,
      prev,
    );
    rows.push(row);
    prev = row.hash;
  }
  return rows;
}

async function seeded() {
  const store = createMemoryStore();
  await store.putAuditKey(key);
  const a = chainRows('a', 12);
  const b = chainRows('b', 3);
  await store.appendAudit(a);
  await store.appendAudit(b);
  await store.putAuditCheckpoint(signCheckpoint(key, { chain: 'a', seq: 2, hash: a[1]!.hash, time: '2026-01-02T04:00:00.000Z' }));
  await store.putAuditCheckpoint(signCheckpoint(key, { chain: 'a', seq: 10, hash: a[9]!.hash, time: '2026-01-02T04:00:00.000Z' }));
  await store.pruneAudit({ chain: 'a', throughSeq: 3, hash: a[2]!.hash, time: '2026-01-03T00:00:00.000Z', reason: 'max_age' });
  return { store, a, b };
}

async function exportTo(name: string, opts: { chains?: string[] } = {}) {
  const { store, a, b } = await seeded();
  const lines: string[] = [];
  const res = await writeExport(store, { write: (l) => void lines.push(l) }, { ...opts, now: new Date('2026-01-04T00:00:00.000Z') });
  const path = join(dir, name);
  writeFileSync(path, lines.join(''));
  return { store, a, b, path, lines, res };
}

describe('writeExport', () => {
  it('writes the header, keys, then per chain marks, entries and checkpoints, one line per call', async () => {
    const { lines, res, a } = await exportTo('layout.jsonl');
    assert.equal(res.entries, 9 + 3);
    assert.ok(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n')));
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(parsed[0], { gatehouse: 'audit-export', version: 1, exportedAt: '2026-01-04T00:00:00.000Z' });
    assert.deepEqual(parsed[1], { key: { kid: key.kid, publicJwk: JSON.parse(key.publicJwk) } });
    assert.deepEqual(parsed.slice(2).map((p) => Object.keys(p)[0]), ['prune', ...Array(9).fill('entry'), 'checkpoint', ...Array(3).fill('entry')]);
    // The entry line holds the stored canonical text verbatim.
    assert.equal(lines[3], `{"entry":${a[3]!.text},"hash":"${a[3]!.hash}"}\n`);
    assert.ok(!lines.join('').includes('"d"'), 'no private key material');
  });
});

describe('fileVerifySource', () => {
  it('round-trips: every entry re-canonicalizes to the hashed text, and the trail verifies', async () => {
    const { path, store } = await exportTo('roundtrip.jsonl');
    const src = fileVerifySource(path);
    assert.deepEqual(await src.chains(), ['a', 'b']);
    const fromFile: AuditRow[] = [];
    for await (const r of src.rows('a')) fromFile.push(r);
    const fromStore = await store.readAudit('a', 0, 100);
    assert.deepEqual(fromFile, fromStore);
    const report = await verifyTrail(src, { publicKeys: new Map([[key.kid, key.publicJwk]]) });
    assert.equal(report.ok, true, JSON.stringify(report));
    assert.deepEqual(report.chains.map((c) => [c.chain, c.entries, c.firstSeq, c.lastSeq, c.prunedThrough, c.checkpoints, c.lastSignedSeq, c.unsignedTail]), [
      ['a', 9, 4, 12, 3, 1, 10, 2],
      ['b', 3, 1, 3, undefined, 0, undefined, 3],
    ]);
    // Same verdict as reading the store itself.
    const direct = await verifyTrail(storeVerifySource(store, 4));
    assert.deepEqual(direct.chains, report.chains);
  });

  it('exports only the chains asked for', async () => {
    const { path, res } = await exportTo('only-b.jsonl', { chains: ['b'] });
    assert.equal(res.entries, 3);
    assert.deepEqual(await fileVerifySource(path).chains(), ['b']);
  });

  it('catches an entry edited in the file', async () => {
    const { path, lines } = await exportTo('edited.jsonl');
    lines[5] = lines[5]!.replace('"outcome":"ok"', '"outcome":"denied"');
    writeFileSync(path, lines.join(''));
    const r = (await verifyTrail(fileVerifySource(path))).chains[0]!;
    assert.deepEqual([r.break?.kind, r.break?.seq], ['hash_mismatch', 6]);
  });

  it('catches a line whose member order or spacing changed only if the value changed', async () => {
    const { path, lines } = await exportTo('reformatted.jsonl');
    // Re-serializing with other spacing and order keeps the value: still verifies.
    const v = JSON.parse(lines[5]!) as { entry: Record<string, unknown>; hash: string };
    const reordered = Object.fromEntries(Object.entries(v.entry).reverse());
    lines[5] = `${JSON.stringify({ hash: v.hash, entry: reordered }, null, 0).replace(/,/g, ', ')}\n`;
    writeFileSync(path, lines.join(''));
    assert.equal((await verifyTrail(fileVerifySource(path))).ok, true);
    assert.equal(canonicalJson(reordered), canonicalJson(v.entry));
  });

  it('catches a deleted line and a swapped pair', async () => {
    const { path, lines } = await exportTo('deleted.jsonl');
    writeFileSync(path, [...lines.slice(0, 6), ...lines.slice(7)].join(''));
    assert.deepEqual((await verifyTrail(fileVerifySource(path))).chains[0]!.break?.kind, 'seq_gap');
    const swapped = [...lines];
    [swapped[6], swapped[7]] = [swapped[7]!, swapped[6]!];
    writeFileSync(path, swapped.join(''));
    assert.deepEqual((await verifyTrail(fileVerifySource(path))).chains[0]!.break?.kind, 'out_of_order');
  });

  it('catches a truncated export through its checkpoint', async () => {
    const { path, lines } = await exportTo('truncated.jsonl');
    // Drop entries 10..12 of chain a (lines 9..11), keep the checkpoint at 10.
    writeFileSync(path, [...lines.slice(0, 9), ...lines.slice(12)].join(''));
    const r = (await verifyTrail(fileVerifySource(path))).chains[0]!;
    assert.deepEqual([r.break?.kind, r.break?.seq], ['checkpoint_mismatch', 10]);
  });

  it('names the line of a malformed entry', async () => {
    const { path, lines } = await exportTo('malformed.jsonl');
    lines[6] = `{"entry":{"chain":"a","seq":"x"},"hash":"00"}\n`;
    writeFileSync(path, lines.join(''));
    const r = (await verifyTrail(fileVerifySource(path))).chains[0]!;
    assert.equal(r.break?.kind, 'malformed');
    assert.equal(r.break?.message, `${path}:7: the entry has no integer seq or no id`);
    assert.equal(r.break?.seq, 7);
  });

  it('rejects a file that is not an export, or has a line that belongs nowhere', async () => {
    const p1 = join(dir, 'not-export.jsonl');
    writeFileSync(p1, '{"hello":1}\n');
    await assert.rejects(verifyTrail(fileVerifySource(p1)), /not-export\.jsonl:1: not a Gatehouse audit export/);
    const p2 = join(dir, 'future.jsonl');
    writeFileSync(p2, '{"gatehouse":"audit-export","version":2}\n');
    await assert.rejects(verifyTrail(fileVerifySource(p2)), /export version 2 is not supported/);
    const { path, lines } = await exportTo('garbage.jsonl');
    lines.splice(4, 0, 'garbage\n');
    writeFileSync(path, lines.join(''));
    await assert.rejects(verifyTrail(fileVerifySource(path)), /garbage\.jsonl:5: not JSON/);
    lines[4] = '{"what":1}\n';
    writeFileSync(path, lines.join(''));
    await assert.rejects(verifyTrail(fileVerifySource(path)), /garbage\.jsonl:5: expected one of key, prune, entry, checkpoint, corrupt; unexpected what/);
    const p3 = join(dir, 'empty.jsonl');
    writeFileSync(p3, '');
    await assert.rejects(fileVerifySource(p3).chains(), /empty/);
  });

  it('verifies entries whose argument keys are escapes (V8 misreads them after a "\\\\" key)', async () => {
    const store = createMemoryStore();
    let prev = GENESIS;
    const rows: AuditRow[] = [];
    const argsList = [{ ' ': [], '\\': 0 }, { ' ': 1, '"': 2 }, { ' ': 1, '\n': 3, '/': 5 }, { ' ': 0, '\u001f': 4 }, { ' ': 2, '\t': 7 }];
    argsList.forEach((args, i) => {
      const { row } = sealEntry({ type: 'exchange', id: `k-${i + 1}`, time: '2026-01-02T03:04:05.000Z', args }, 'k', i + 1, prev);
      rows.push(row);
      prev = row.hash;
    });
    await store.appendAudit(rows);
    assert.equal((await verifyTrail(storeVerifySource(store))).ok, true);
    const lines: string[] = [];
    await writeExport(store, { write: (l) => void lines.push(l) });
    const path = join(dir, 'escaped-keys.jsonl');
    writeFileSync(path, lines.join(''));
    const report = await verifyTrail(fileVerifySource(path));
    assert.equal(report.ok, true, JSON.stringify(report));
    assert.equal(report.chains[0]!.entries, 5);
  });

  it('keeps a stored row whose text is not JSON as evidence, and verification names it', async () => {
    const rows = chainRows('c', 2);
    const store = createMemoryStore();
    await store.appendAudit(rows);
    const broken: AuditRow = { ...rows[1]!, text: 'not json' };
    const lines: string[] = [];
    const fake = { ...store, listAuditKeys: () => store.listAuditKeys(), auditChains: () => store.auditChains(), listAuditCheckpoints: (c: string) => store.listAuditCheckpoints(c), auditPruneMarks: (c: string) => store.auditPruneMarks(c), readAudit: async (c: string, after: number, limit: number) => (await store.readAudit(c, after, limit)).map((r) => (r.seq === 2 ? broken : r)) };
    await writeExport(fake as typeof store, { write: (l) => void lines.push(l) });
    assert.deepEqual(JSON.parse(lines.at(-1)!), { corrupt: { chain: 'c', seq: 2, id: 'c-2', hash: rows[1]!.hash, text: 'not json' } });
    const path = join(dir, 'corrupt.jsonl');
    writeFileSync(path, lines.join(''));
    const r = (await verifyTrail(fileVerifySource(path))).chains[0]!;
    assert.deepEqual([r.break?.kind, r.break?.seq, r.entries], ['hash_mismatch', 2, 1]);
    assert.ok(readFileSync(path, 'utf8').includes('not json'));
  });
});
