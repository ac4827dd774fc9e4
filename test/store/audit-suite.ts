// The audit half of the Store contract, run against every implementation (from runStoreSuite).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { GENESIS, columnsOf } from '../../src/audit/entry.ts';
import type { AuditEntry } from '../../src/audit/entry.ts';
import type { Outcome } from '../../src/pipeline/record.ts';
import type { AuditCheckpoint, AuditKeyRecord, AuditPruneMark, AuditQuery, AuditRow } from '../../src/store/audit-store.ts';
import { StoreError } from '../../src/store/store.ts';
import type { Store } from '../../src/store/store.ts';
import type { OpenFreshStore } from './store-suite.ts';

const T0 = Date.parse('2026-11-02T10:00:00.000Z');
/** The time `ms` after the suite's epoch, in the stores' one ISO form. */
export const at = (ms: number): string => new Date(T0 + ms).toISOString();

export interface RowSpec {
  chain?: string;
  seq: number;
  time?: string;
  type?: AuditEntry['type'];
  id?: string;
  agent?: string;
  user?: string;
  tenant?: string;
  upstream?: string;
  target?: string;
  kind?: string;
  toolClass?: string;
  method?: string;
  decision?: 'allow' | 'deny' | 'require_approval';
  outcome?: Outcome;
  session?: string;
  /** Lands in the redacted arguments, so in the entry text. */
  note?: string;
}

/** A row as the audit writer makes it: entry text, its SHA-256, and the columns derived from it. */
export function sampleAuditRow(spec: RowSpec): AuditRow {
  const chain = spec.chain ?? 'gw-1';
  const e: AuditEntry = {
    v: 1,
    type: spec.type ?? 'exchange',
    chain,
    seq: spec.seq,
    prev: GENESIS,
    id: spec.id ?? `id-${chain}-${spec.seq}`,
    time: spec.time ?? at(spec.seq * 1000),
    principal: spec.agent === undefined ? undefined : { id: spec.agent, agent: spec.agent, user: spec.user, tenant: spec.tenant, authMethod: 'api_key', authSource: 'header' },
    session: spec.session,
    method: spec.method ?? 'tools/call',
    target: spec.kind === undefined && spec.target === undefined && spec.upstream === undefined
      ? undefined
      : { kind: spec.kind ?? 'tool', upstream: spec.upstream, name: spec.target, class: spec.toolClass },
    args: spec.note === undefined ? undefined : { note: spec.note },
    policy: spec.decision === undefined ? undefined : { effect: spec.decision, reason: 'rule', enforced: true },
    outcome: spec.outcome ?? 'ok',
  };
  const text = JSON.stringify(e);
  return { chain, seq: spec.seq, id: e.id, hash: createHash('sha256').update(text).digest('hex'), text, columns: columnsOf(e) };
}

const chainRows = (chain: string, from: number, to: number): AuditRow[] =>
  Array.from({ length: to - from + 1 }, (_, i) => sampleAuditRow({ chain, seq: from + i }));

function isStoreError(kind: StoreError['kind'], pattern?: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    if (pattern !== undefined) assert.match(err.message, pattern);
    return true;
  };
}

const checkpoint = (chain: string, seq: number, over: Partial<AuditCheckpoint> = {}): AuditCheckpoint => ({
  chain, seq, hash: sampleAuditRow({ chain, seq }).hash, time: at(seq * 1000 + 500), kid: 'ak-1', signature: `sig_${seq}-AbC`, ...over,
});

const auditKey = (kid: string, over: Partial<AuditKeyRecord> = {}): AuditKeyRecord => ({
  kid,
  publicJwk: JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: `pub-${kid}` }),
  privateJwk: JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: `pub-${kid}`, d: `priv-${kid}` }),
  createdAt: at(0),
  ...over,
});

/** A mixed trail for searching: two chains, ties in time, every filterable column varied. */
function searchRows(): AuditRow[] {
  const specs: RowSpec[] = [
    { chain: 'a', seq: 1, time: at(1000), agent: 'bot', user: 'alice', tenant: 'acme', upstream: 'fs', target: 'read_file', toolClass: 'read_only', decision: 'allow', session: 's1', note: 'Quarterly REPORT 100% done' },
    { chain: 'a', seq: 2, time: at(2000), agent: 'bot', user: 'bob', tenant: 'acme', upstream: 'fs', target: 'write_file', toolClass: 'high_risk_write', decision: 'deny', outcome: 'denied', note: 'a_b' },
    { chain: 'a', seq: 3, time: at(2000), agent: 'ci', tenant: 'beta', upstream: 'git', target: 'push', kind: 'tool', outcome: 'error', note: 'axb 100 percent' },
    { chain: 'b', seq: 1, time: at(2000), agent: 'bot', upstream: 'git', target: 'status', method: 'tools/call', decision: 'require_approval', session: 's2' },
    { chain: 'b', seq: 2, time: at(3000), type: 'admin', method: 'POST /v1/keys', outcome: 'ok' },
    { chain: 'a', seq: 4, time: at(4000), agent: 'ci', user: 'alice', upstream: 'fs', target: 'read_file', kind: 'resource', method: 'resources/read', decision: 'allow', outcome: 'timeout' },
    { chain: 'b', seq: 3, time: at(4000), type: 'gap', outcome: 'upstream_error', session: 's1', note: 'sink behind' },
  ];
  return specs.map(sampleAuditRow);
}

const ids = (rows: readonly AuditRow[]): string[] => rows.map((r) => r.id);

/** Reference order of a search: (time, chain, seq), newest first unless asked. */
function ordered(rows: AuditRow[], order: 'asc' | 'desc' = 'desc'): string[] {
  const sorted = [...rows].sort((x, y) =>
    x.columns.time !== y.columns.time ? (x.columns.time < y.columns.time ? -1 : 1) : x.chain !== y.chain ? (x.chain < y.chain ? -1 : 1) : x.seq - y.seq,
  );
  return ids(order === 'asc' ? sorted : sorted.reverse());
}

async function searchAll(s: Store, q: AuditQuery): Promise<{ ids: string[]; pages: number }> {
  const out: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await s.searchAudit({ ...q, cursor });
    pages++;
    assert.ok(page.rows.length <= (q.limit ?? 100));
    out.push(...ids(page.rows));
    cursor = page.next;
    assert.ok(pages < 100, 'pagination does not end');
  } while (cursor !== undefined);
  return { ids: out, pages };
}

export function runAuditStoreSuite(label: string, openFresh: OpenFreshStore): void {
  const withStore = (fn: (s: Store) => Promise<void>) => async () => {
    const store = await openFresh();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };

  describe(`AuditStore contract: ${label}`, () => {
    it('appends, reads the head, ranges and single entries back exactly', withStore(async (s) => {
      assert.equal(await s.auditHead('gw-1'), undefined);
      assert.deepEqual(await s.readAudit('gw-1', 0, 10), []);
      await s.appendAudit([]);
      const rows = chainRows('gw-1', 1, 5);
      await s.appendAudit(rows.slice(0, 2));
      await s.appendAudit(rows.slice(2));
      await s.appendAudit(chainRows('other', 1, 2));
      assert.deepEqual(await s.auditHead('gw-1'), rows[4]);
      assert.deepEqual(await s.readAudit('gw-1', 0, 100), rows);
      assert.deepEqual(await s.readAudit('gw-1', 2, 2), rows.slice(2, 4));
      assert.deepEqual(await s.readAudit('gw-1', 5, 10), []);
      assert.deepEqual(await s.getAuditEntry('id-gw-1-3'), rows[2]);
      assert.equal(await s.getAuditEntry('nope'), undefined);
      const row = sampleAuditRow({ chain: 'n', seq: 1, agent: 'ünïcödé', note: 'line\nbreak "quoted" \u2028' });
      await s.appendAudit([row]);
      assert.deepEqual(await s.getAuditEntry(row.id), row);
    }));

    it('keeps copies: mutating what was put or got changes nothing stored', withStore(async (s) => {
      const row = sampleAuditRow({ seq: 1, agent: 'bot' });
      const extra = { ...row, columns: { ...row.columns, bogus: 'x' } } as AuditRow;
      await s.appendAudit([extra]);
      extra.columns.agent = 'changed';
      const got = await s.auditHead('gw-1');
      assert.deepEqual(got, row);
      got!.columns.agent = 'changed-after-get';
      assert.deepEqual(await s.getAuditEntry(row.id), row);
    }));

    it('keeps nothing of a batch that collides with a stored entry', withStore(async (s) => {
      await s.appendAudit(chainRows('gw-1', 1, 3));
      const batch = [...chainRows('gw-1', 4, 5), sampleAuditRow({ seq: 3, id: 'fresh-id' })];
      await assert.rejects(s.appendAudit(batch), isStoreError('conflict', /chain 'gw-1'.*seq 3/));
      assert.equal((await s.auditHead('gw-1'))?.seq, 3);
      assert.equal(await s.getAuditEntry('id-gw-1-4'), undefined);
      assert.equal(await s.getAuditEntry('fresh-id'), undefined);
      // The same batch without the collision goes in whole.
      await s.appendAudit(batch.slice(0, 2));
      assert.deepEqual(ids(await s.readAudit('gw-1', 0, 10)), ['id-gw-1-1', 'id-gw-1-2', 'id-gw-1-3', 'id-gw-1-4', 'id-gw-1-5']);
    }));

    it('refuses an id that is taken, on any chain, and duplicates within one batch', withStore(async (s) => {
      await s.appendAudit(chainRows('gw-1', 1, 2));
      const reused = sampleAuditRow({ chain: 'gw-2', seq: 1, id: 'id-gw-1-2' });
      await assert.rejects(s.appendAudit([sampleAuditRow({ chain: 'gw-2', seq: 2 }), reused]), isStoreError('conflict', /id 'id-gw-1-2'/));
      await assert.rejects(s.appendAudit([sampleAuditRow({ seq: 3 }), sampleAuditRow({ seq: 3, id: 'other' })]), isStoreError('conflict', /seq 3/));
      await assert.rejects(s.appendAudit([sampleAuditRow({ seq: 3, id: 'x' }), sampleAuditRow({ seq: 4, id: 'x' })]), isStoreError('conflict', /'x'/));
      assert.equal(await s.auditHead('gw-2'), undefined);
      assert.equal((await s.auditHead('gw-1'))?.seq, 2);
    }));

    it('refuses malformed rows with a precise error, keeping nothing of the batch', withStore(async (s) => {
      const good = sampleAuditRow({ seq: 1 });
      const bad: Array<[RegExp, unknown]> = [
        [/audit rows must be an array/, good],
        [/audit row must be an object/, [null]],
        [/audit row chain/, [{ ...good, chain: '' }]],
        [/seq of an audit row of chain 'gw-1' must be an integer of at least 1/, [{ ...good, seq: 0 }]],
        [/seq/, [{ ...good, seq: 1.5 }]],
        [/seq/, [{ ...good, seq: '1' }]],
        [/id of audit row 1 of chain 'gw-1'/, [{ ...good, id: 7 }]],
        [/hash of audit row 1 .* 64 lowercase hex/, [{ ...good, hash: good.hash.toUpperCase() }]],
        [/text of audit row 1/, [{ ...good, text: undefined }]],
        [/columns of audit row 1 .* must be an object/, [{ ...good, columns: null }]],
        [/columns.time of audit row 1/, [{ ...good, columns: { ...good.columns, time: '2026-11-02' } }]],
        [/columns.agent of audit row 1 .* string or null/, [{ ...good, columns: { ...good.columns, agent: undefined } }]],
        [/columns.decision/, [{ ...good, columns: { ...good.columns, decision: 1 } }]],
        [/seq of an audit row of chain 'gw-1'/, [sampleAuditRow({ seq: 2 }), { ...sampleAuditRow({ seq: 3 }), seq: -3 }]],
      ];
      for (const [pattern, rows] of bad) {
        await assert.rejects(s.appendAudit(rows as AuditRow[]), isStoreError('invalid_input', pattern));
      }
      assert.equal(await s.auditHead('gw-1'), undefined);
      await assert.rejects(s.auditHead(''), isStoreError('invalid_input'));
      await assert.rejects(s.readAudit('gw-1', -1, 10), isStoreError('invalid_input', /afterSeq/));
      await assert.rejects(s.readAudit('gw-1', 0, 0), isStoreError('invalid_input', /limit/));
      await assert.rejects(s.readAudit('gw-1', 0, 10_001), isStoreError('invalid_input', /limit/));
      await assert.rejects(s.getAuditEntry(''), isStoreError('invalid_input'));
    }));

    it('lists chains with their extent and UTF-8 size', withStore(async (s) => {
      assert.deepEqual(await s.auditChains(), []);
      const b = [sampleAuditRow({ chain: 'b', seq: 1, note: 'ünïcödé €' }), sampleAuditRow({ chain: 'b', seq: 2 })];
      const a = chainRows('a', 1, 3);
      await s.appendAudit(b);
      await s.appendAudit(a);
      const size = (rows: AuditRow[]) => rows.reduce((n, r) => n + Buffer.byteLength(r.text), 0);
      assert.deepEqual(await s.auditChains(), [
        { chain: 'a', firstSeq: 1, lastSeq: 3, count: 3, bytes: size(a) },
        { chain: 'b', firstSeq: 1, lastSeq: 2, count: 2, bytes: size(b) },
      ]);
    }));

    it('searches with every filter, newest first by (time, chain, seq)', withStore(async (s) => {
      const rows = searchRows();
      await s.appendAudit(rows);
      const cases: Array<[AuditQuery, (r: AuditRow) => boolean]> = [
        [{}, () => true],
        [{ chain: 'b' }, (r) => r.chain === 'b'],
        [{ type: 'admin' }, (r) => r.columns.type === 'admin'],
        [{ agent: 'bot' }, (r) => r.columns.agent === 'bot'],
        [{ user: 'alice' }, (r) => r.columns.user === 'alice'],
        [{ tenant: 'acme' }, (r) => r.columns.tenant === 'acme'],
        [{ upstream: 'git' }, (r) => r.columns.upstream === 'git'],
        [{ target: 'read_file' }, (r) => r.columns.target === 'read_file'],
        [{ targetKind: 'resource' }, (r) => r.columns.targetKind === 'resource'],
        [{ toolClass: 'high_risk_write' }, (r) => r.columns.toolClass === 'high_risk_write'],
        [{ method: 'resources/read' }, (r) => r.columns.method === 'resources/read'],
        [{ decision: 'allow' }, (r) => r.columns.decision === 'allow'],
        [{ decision: 'none' }, (r) => r.columns.decision === null],
        [{ outcome: 'timeout' }, (r) => r.columns.outcome === 'timeout'],
        [{ session: 's1' }, (r) => r.columns.session === 's1'],
        [{ agent: 'bot', upstream: 'fs', decision: 'deny' }, (r) => r.columns.agent === 'bot' && r.columns.upstream === 'fs' && r.columns.decision === 'deny'],
        [{ agent: 'nobody' }, () => false],
      ];
      for (const [q, keep] of cases) {
        const expected = ordered(rows.filter(keep));
        const page = await s.searchAudit(q);
        assert.deepEqual(ids(page.rows), expected, JSON.stringify(q));
        assert.equal(page.next, undefined);
      }
      assert.ok(ordered(rows.filter((r) => r.columns.decision === null)).length >= 3, 'the data has rows no policy decided');
      assert.deepEqual((await s.searchAudit({ chain: 'a', target: 'read_file' })).rows, [rows[5], rows[0]]);
    }));

    it('matches text as a case-insensitive substring, taking % and _ literally', withStore(async (s) => {
      const rows = searchRows();
      await s.appendAudit(rows);
      const text = async (t: string, more: AuditQuery = {}) => ids((await s.searchAudit({ text: t, order: 'asc', ...more })).rows);
      assert.deepEqual(await text('quarterly report'), ['id-a-1']);
      assert.deepEqual(await text('QUARTERLY'), ['id-a-1']);
      assert.deepEqual(await text('0%'), ['id-a-1']);
      assert.deepEqual(await text('%'), ['id-a-1']);
      assert.deepEqual(await text('A_B'), ['id-a-2']);
      assert.deepEqual(await text('_'), ordered(rows.filter((r) => r.text.includes('_')), 'asc'));
      assert.deepEqual(await text('a%b'), []);
      assert.deepEqual(await text('sink BEHIND', { session: 's1' }), ['id-b-3']);
      assert.deepEqual(await text('\\'), []);
      assert.deepEqual(await text('no such words'), []);
    }));

    it('bounds time from inclusive to exclusive', withStore(async (s) => {
      const rows = searchRows();
      await s.appendAudit(rows);
      const range = async (q: AuditQuery) => ids((await s.searchAudit({ ...q, order: 'asc' })).rows);
      assert.deepEqual(await range({ from: at(2000), to: at(4000) }), ['id-a-2', 'id-a-3', 'id-b-1', 'id-b-2']);
      assert.deepEqual(await range({ from: at(2001) }), ['id-b-2', 'id-a-4', 'id-b-3']);
      assert.deepEqual(await range({ to: at(2000) }), ['id-a-1']);
      assert.deepEqual(await range({ from: at(2000), to: at(2000) }), []);
      assert.deepEqual(await range({ from: at(2000), to: at(2001), agent: 'bot' }), ['id-a-2', 'id-b-1']);
    }));

    it('pages desc and asc across ties in time, with and without filters', withStore(async (s) => {
      const rows: AuditRow[] = [];
      // Ten rows per chain, five times shared by both chains: ties everywhere.
      for (const chain of ['x', 'y', 'z']) {
        for (let seq = 1; seq <= 10; seq++) rows.push(sampleAuditRow({ chain, seq, time: at(Math.ceil(seq / 2) * 1000), agent: seq % 3 === 0 ? 'ci' : 'bot' }));
      }
      await s.appendAudit(rows.filter((r) => r.chain !== 'y'));
      await s.appendAudit(rows.filter((r) => r.chain === 'y'));
      for (const order of ['desc', 'asc'] as const) {
        for (const limit of [1, 4, 7, 30, 1000]) {
          const all = await searchAll(s, { order, limit });
          assert.deepEqual(all.ids, ordered(rows, order), `${order} ${limit}`);
          // An exactly full last page carries no cursor, so no empty page follows it.
          assert.equal(all.pages, Math.ceil(rows.length / limit));
        }
        const filtered = await searchAll(s, { order, limit: 3, agent: 'ci', from: at(2000) });
        assert.deepEqual(filtered.ids, ordered(rows.filter((r) => r.columns.agent === 'ci' && r.columns.time >= at(2000)), order));
      }
      const first = await s.searchAudit({ limit: 30 });
      assert.equal(first.rows.length, 30);
      assert.equal(first.next, undefined, 'an exactly full last page has no next');
      const page = await s.searchAudit({ limit: 2 });
      assert.ok(page.next !== undefined && /^[A-Za-z0-9_-]+$/.test(page.next));
      assert.deepEqual((await s.searchAudit({})).rows.length, 30);
    }));

    it('refuses a malformed search with invalid_input', withStore(async (s) => {
      const page = await s.searchAudit({ limit: 1 });
      assert.equal(page.next, undefined);
      await s.appendAudit(chainRows('gw-1', 1, 3));
      const next = (await s.searchAudit({ limit: 1 })).next!;
      const tampered = Buffer.from(JSON.stringify({ t: at(0), c: 'gw-1', s: 0 })).toString('base64url');
      const bad: Array<[RegExp, unknown]> = [
        [/audit query must be an object/, 'agent=bot'],
        [/limit/, { limit: 0 }],
        [/limit/, { limit: 1001 }],
        [/limit/, { limit: 2.5 }],
        [/order/, { order: 'newest' }],
        [/from/, { from: '2026-11-02' }],
        [/to/, { to: 'tomorrow' }],
        [/from .* is after to/, { from: at(5000), to: at(1000) }],
        [/unknown field 'agnet'/, { agnet: 'bot' }],
        [/agent/, { agent: '' }],
        [/text/, { text: '' }],
        [/decision/, { decision: 7 }],
        [/cursor/, { cursor: 'not a cursor!' }],
        [/cursor/, { cursor: tampered }],
        [/cursor/, { cursor: `${next}A` }],
        [/cursor/, { cursor: 42 }],
      ];
      for (const [pattern, q] of bad) await assert.rejects(s.searchAudit(q as AuditQuery), isStoreError('invalid_input', pattern));
      assert.equal((await s.searchAudit({ limit: 1, cursor: next })).rows[0]?.seq, 2);
    }));

    it('keeps checkpoints per chain, ascending, refusing a duplicate', withStore(async (s) => {
      assert.deepEqual(await s.listAuditCheckpoints('a'), []);
      await s.putAuditCheckpoint(checkpoint('a', 20));
      await s.putAuditCheckpoint(checkpoint('a', 10));
      await s.putAuditCheckpoint(checkpoint('b', 10));
      await assert.rejects(s.putAuditCheckpoint(checkpoint('a', 10, { signature: 'other' })), isStoreError('conflict', /chain 'a'.*seq 10/));
      assert.deepEqual(await s.listAuditCheckpoints('a'), [checkpoint('a', 10), checkpoint('a', 20)]);
      assert.deepEqual(await s.listAuditCheckpoints('a', 10), [checkpoint('a', 20)]);
      assert.deepEqual(await s.listAuditCheckpoints('a', 20), []);
      const listed = await s.listAuditCheckpoints('b');
      listed[0]!.signature = 'mutated';
      assert.deepEqual(await s.listAuditCheckpoints('b'), [checkpoint('b', 10)]);
      const bad: Array<[RegExp, unknown]> = [
        [/must be an object/, null],
        [/chain/, checkpoint('', 1)],
        [/seq/, checkpoint('a', 0)],
        [/hash of audit checkpoint 1 of chain 'a'/, checkpoint('a', 1, { hash: 'abc' })],
        [/time/, checkpoint('a', 1, { time: 'now' })],
        [/kid/, checkpoint('a', 1, { kid: '' })],
        [/signature .* base64url/, checkpoint('a', 1, { signature: 'a+b/c=' })],
      ];
      for (const [pattern, c] of bad) await assert.rejects(s.putAuditCheckpoint(c as AuditCheckpoint), isStoreError('invalid_input', pattern));
      await assert.rejects(s.listAuditCheckpoints('a', -1), isStoreError('invalid_input', /afterSeq/));
      assert.equal((await s.listAuditCheckpoints('a')).length, 2);
    }));

    it('keeps audit keys oldest first, refusing a taken kid without quoting key material', withStore(async (s) => {
      assert.deepEqual(await s.listAuditKeys(), []);
      await s.putAuditKey(auditKey('k2', { createdAt: at(2000) }));
      await s.putAuditKey(auditKey('k1', { createdAt: at(1000) }));
      await s.putAuditKey(auditKey('k3', { createdAt: at(2000) }));
      await assert.rejects(s.putAuditKey(auditKey('k1', { createdAt: at(9000) })), isStoreError('conflict', /'k1' already exists/));
      assert.deepEqual(await s.listAuditKeys(), [auditKey('k1', { createdAt: at(1000) }), auditKey('k2', { createdAt: at(2000) }), auditKey('k3', { createdAt: at(2000) })]);
      const listed = await s.listAuditKeys();
      listed[0]!.privateJwk = 'mutated';
      assert.equal((await s.listAuditKeys())[0]!.privateJwk, auditKey('k1').privateJwk);
      const bad: Array<[RegExp, unknown]> = [
        [/audit key must be an object/, 'k'],
        [/kid/, auditKey('')],
        [/publicJwk of audit key 'x'/, auditKey('x', { publicJwk: '"text"' })],
        [/privateJwk of audit key 'x' must be the JSON text of a JWK/, auditKey('x', { privateJwk: '{"d":"TOPSECRET"' })],
        [/createdAt of audit key 'x'/, auditKey('x', { createdAt: '' })],
      ];
      for (const [pattern, k] of bad) {
        await assert.rejects(s.putAuditKey(k as AuditKeyRecord), (err: unknown) => {
          isStoreError('invalid_input', pattern)(err);
          assert.doesNotMatch((err as Error).message, /TOPSECRET/);
          return true;
        });
      }
      assert.equal((await s.listAuditKeys()).length, 3);
    }));

    it('prunes entries and checkpoints through a seq, keeping the mark', withStore(async (s) => {
      const a = chainRows('a', 1, 6);
      await s.appendAudit(a);
      await s.appendAudit(chainRows('b', 1, 2));
      for (const seq of [2, 4, 6]) await s.putAuditCheckpoint(checkpoint('a', seq));
      await s.putAuditCheckpoint(checkpoint('b', 2));
      const mark: AuditPruneMark = { chain: 'a', throughSeq: 4, hash: a[3]!.hash, time: at(99_000), reason: 'max_age' };
      assert.equal(await s.pruneAudit(mark), 4);
      assert.deepEqual(await s.readAudit('a', 0, 100), a.slice(4));
      assert.equal(await s.getAuditEntry('id-a-1'), undefined);
      assert.deepEqual(await s.listAuditCheckpoints('a'), [checkpoint('a', 6)]);
      assert.deepEqual(await s.listAuditCheckpoints('b'), [checkpoint('b', 2)]);
      assert.deepEqual(await s.auditPruneMarks('a'), [mark]);
      assert.deepEqual(await s.auditPruneMarks('b'), []);
      const chains = await s.auditChains();
      assert.deepEqual(chains.map((c) => [c.chain, c.firstSeq, c.lastSeq, c.count]), [['a', 5, 6, 2], ['b', 1, 2, 2]]);
      assert.equal(chains[0]!.bytes, Buffer.byteLength(a[4]!.text) + Buffer.byteLength(a[5]!.text));
      assert.deepEqual(ids((await s.searchAudit({ chain: 'a' })).rows), ['id-a-6', 'id-a-5']);

      // A mark must move forward and carry the hash of the entry it cuts at; a refusal changes nothing.
      await assert.rejects(s.pruneAudit(mark), isStoreError('conflict', /already pruned through seq 4/));
      await assert.rejects(s.pruneAudit({ ...mark, throughSeq: 3, hash: a[2]!.hash }), isStoreError('conflict'));
      await assert.rejects(s.pruneAudit({ ...mark, throughSeq: 5 }), isStoreError('invalid_input', /hash is not the hash of entry 5/));
      await assert.rejects(s.pruneAudit({ ...mark, throughSeq: 9 }), isStoreError('invalid_input', /no entry at seq 9/));
      await assert.rejects(s.pruneAudit({ ...mark, chain: 'nope' }), isStoreError('invalid_input', /no entry/));
      await assert.rejects(s.pruneAudit({ ...mark, reason: '' }), isStoreError('invalid_input', /reason/));
      await assert.rejects(s.pruneAudit({ ...mark, hash: 'x' }), isStoreError('invalid_input', /hash/));
      assert.equal((await s.readAudit('a', 0, 100)).length, 2);
      assert.deepEqual(await s.auditPruneMarks('a'), [mark]);

      const last: AuditPruneMark = { chain: 'a', throughSeq: 6, hash: a[5]!.hash, time: at(100_000), reason: 'max_bytes' };
      assert.equal(await s.pruneAudit(last), 2);
      assert.deepEqual(await s.auditPruneMarks('a'), [mark, last]);
      assert.equal(await s.auditHead('a'), undefined);
      assert.deepEqual((await s.auditChains()).map((c) => c.chain), ['b']);
      await s.appendAudit(chainRows('a', 7, 7));
      assert.equal((await s.auditHead('a'))?.seq, 7);
    }));

    it('keeps sink cursors per sink and chain, 0 when absent', withStore(async (s) => {
      assert.equal(await s.getAuditCursor('siem', 'a'), 0);
      await s.setAuditCursor('siem', 'a', 5);
      await s.setAuditCursor('siem', 'b', 2);
      await s.setAuditCursor('file', 'a', 9);
      assert.equal(await s.getAuditCursor('siem', 'a'), 5);
      assert.equal(await s.getAuditCursor('siem', 'b'), 2);
      assert.equal(await s.getAuditCursor('file', 'a'), 9);
      await s.setAuditCursor('siem', 'a', 7);
      assert.equal(await s.getAuditCursor('siem', 'a'), 7);
      await s.setAuditCursor('siem', 'a', 0);
      assert.equal(await s.getAuditCursor('siem', 'a'), 0);
      await assert.rejects(s.setAuditCursor('siem', 'a', -1), isStoreError('invalid_input', /sink 'siem' on chain 'a'/));
      await assert.rejects(s.setAuditCursor('siem', 'a', 1.5), isStoreError('invalid_input'));
      await assert.rejects(s.setAuditCursor('', 'a', 1), isStoreError('invalid_input', /sink/));
      await assert.rejects(s.getAuditCursor('siem', ''), isStoreError('invalid_input', /chain/));
    }));

    it('rejects every audit call once closed', async () => {
      const s = await openFresh();
      await s.close();
      const mark: AuditPruneMark = { chain: 'a', throughSeq: 1, hash: 'ab'.repeat(32), time: at(0), reason: 'max_age' };
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['appendAudit', () => s.appendAudit(chainRows('a', 1, 1))],
        ['auditHead', () => s.auditHead('a')],
        ['readAudit', () => s.readAudit('a', 0, 1)],
        ['getAuditEntry', () => s.getAuditEntry('x')],
        ['auditChains', () => s.auditChains()],
        ['searchAudit', () => s.searchAudit({})],
        ['putAuditCheckpoint', () => s.putAuditCheckpoint(checkpoint('a', 1))],
        ['listAuditCheckpoints', () => s.listAuditCheckpoints('a')],
        ['putAuditKey', () => s.putAuditKey(auditKey('k'))],
        ['listAuditKeys', () => s.listAuditKeys()],
        ['pruneAudit', () => s.pruneAudit(mark)],
        ['auditPruneMarks', () => s.auditPruneMarks('a')],
        ['getAuditCursor', () => s.getAuditCursor('s', 'a')],
        ['setAuditCursor', () => s.setAuditCursor('s', 'a', 1)],
      ];
      for (const [name, call] of calls) await assert.rejects(call(), isStoreError('closed'), name);
    });
  });
}
