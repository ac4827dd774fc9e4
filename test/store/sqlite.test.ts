import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { MIGRATIONS, applyMigrations } from '../../src/store/migrations.ts';
import { openStore } from '../../src/store/open.ts';
import { MEMORY_PATH, openSqliteStore } from '../../src/store/sqlite.ts';
import { StoreError } from '../../src/store/store.ts';
import { sampleAuditRow } from './audit-suite.ts';
import { runStoreSuite, sampleApiKey, sampleCatalog, sampleSigningKey } from './store-suite.ts';

const root = mkdtempSync(join(tmpdir(), 'gatehouse-store-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshFile = () => join(root, `db-${++n}`, 'gatehouse.db');

function storeError(kind: StoreError['kind'], pattern: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    assert.match(err.message, pattern);
    return true;
  };
}

runStoreSuite('sqlite :memory:', () => openStore({ kind: 'sqlite', path: ':memory:' }, root));
runStoreSuite('sqlite file', () => openStore({ kind: 'sqlite', path: freshFile() }, root));

describe('sqlite store', () => {
  it('creates the file and missing folders, resolving relative paths against the config folder', async () => {
    const configDir = join(root, 'cfg-a');
    const store = await openStore({ kind: 'sqlite', path: './data/deeper/state.db' }, configDir);
    await store.close();
    assert.ok(existsSync(join(configDir, 'data', 'deeper', 'state.db')));
  });

  it('uses WAL and keeps data across reopen', async () => {
    const file = freshFile();
    const first = await openStore({ kind: 'sqlite', path: file }, root);
    await first.setUpstreamEra('ident', 'legacy');
    await first.putUpstreamCatalog('up', sampleCatalog('persist'));
    await first.close();

    const db = new DatabaseSync(file);
    assert.deepEqual({ ...db.prepare('PRAGMA journal_mode').get() }, { journal_mode: 'wal' });
    db.close();

    const second = await openStore({ kind: 'sqlite', path: file }, root);
    assert.equal(await second.getUpstreamEra('ident'), 'legacy');
    assert.deepEqual(await second.getUpstreamCatalog('up'), sampleCatalog('persist'));
    await second.close();
  });

  it('applies migrations once and nothing on reopen', async () => {
    const file = freshFile();
    await (await openStore({ kind: 'sqlite', path: file }, root)).close();
    await (await openStore({ kind: 'sqlite', path: file }, root)).close();
    const db = new DatabaseSync(file);
    const rows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all().map((r) => ({ ...r }));
    assert.deepEqual(rows, MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    assert.deepEqual(applyMigrations(db), []);
    db.close();
  });

  it('upgrades a version-1 database to the key tables, keeping its data', async () => {
    const file = freshFile();
    const first = await openStore({ kind: 'sqlite', path: file }, root);
    await first.close();
    // Rebuild it as a Gatehouse that only knew migration 1 left it.
    rmSync(file);
    const old = new DatabaseSync(file);
    assert.deepEqual(applyMigrations(old, MIGRATIONS.slice(0, 1)), [1]);
    old.prepare("INSERT INTO upstream_era (identity, era, updated_at) VALUES ('i', 'legacy', 'x')").run();
    old.close();

    const store = await openStore({ kind: 'sqlite', path: file }, root);
    assert.equal(await store.getUpstreamEra('i'), 'legacy');
    await store.putApiKey(sampleApiKey('k'));
    await store.putSigningKey(sampleSigningKey('s'));
    await store.close();

    const reopened = await openStore({ kind: 'sqlite', path: file }, root);
    assert.deepEqual(await reopened.getApiKey('k'), sampleApiKey('k'));
    assert.deepEqual(await reopened.listSigningKeys(), [sampleSigningKey('s')]);
    await reopened.close();
    const db = new DatabaseSync(file);
    assert.deepEqual(db.prepare('SELECT version FROM schema_migrations ORDER BY version').all().map((r) => r.version), MIGRATIONS.map((m) => m.version));
    db.close();
  });

  it('keeps API keys in STRICT tables whose constraints hold against direct writes', async () => {
    const file = freshFile();
    await (await openStore({ kind: 'sqlite', path: file }, root)).close();
    const db = new DatabaseSync(file);
    const insert = db.prepare(
      "INSERT INTO api_key (id, hash, kind, agent, roles, scopes, created_at) VALUES (?, 'h', ?, 'a', '[]', '[]', '2026-01-01T00:00:00.000Z')",
    );
    assert.throws(() => insert.run('k1', 'root'), /CHECK constraint/);
    assert.throws(() => insert.run(new Uint8Array([1, 2]), 'agent'), /cannot store BLOB value in TEXT column/);
    assert.throws(() => db.prepare("INSERT INTO signing_key (kid, alg, public_jwk, private_jwk, created_at) VALUES ('k', 'HS256', '{}', '{}', 't')").run(), /CHECK constraint/);
    db.close();
  });

  it('refuses a database written by a newer schema', async () => {
    const file = freshFile();
    await (await openStore({ kind: 'sqlite', path: file }, root)).close();
    const db = new DatabaseSync(file);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(999, 'from_the_future', 'x');
    db.close();
    await assert.rejects(openStore({ kind: 'sqlite', path: file }, root), storeError('migration_failed', /version 999.*newer/));
  });

  it('rolls a failed migration back completely', () => {
    const db = new DatabaseSync(':memory:');
    const broken = [...MIGRATIONS, { version: MIGRATIONS.length + 1, name: 'broken', sqlite: 'CREATE TABLE t (x); NOT SQL', postgres: '' }];
    assert.throws(() => applyMigrations(db, broken), storeError('migration_failed', /migration \d+ \('broken'\) failed/));
    assert.equal(db.isTransaction, false);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    assert.deepEqual(tables, []);
    db.close();
  });

  it('refuses a migration list with gaps', () => {
    const db = new DatabaseSync(':memory:');
    assert.throws(() => applyMigrations(db, [{ version: 2, name: 'x', sqlite: '', postgres: '' }]), storeError('migration_failed', /out of order/));
    db.close();
  });

  it('names the file and the reason when it is not a database', async () => {
    const file = join(root, 'corrupt.db');
    writeFileSync(file, 'this is not a SQLite database; '.repeat(200));
    await assert.rejects(openStore({ kind: 'sqlite', path: file }, root), storeError('open_failed', /corrupt\.db.*not a (SQLite )?database/));
  });

  it('names the path when its folder cannot be created', async () => {
    const blocker = join(root, 'a-file');
    writeFileSync(blocker, 'x');
    await assert.rejects(openStore({ kind: 'sqlite', path: join(blocker, 'sub', 'x.db') }, root), storeError('open_failed', /a-file\/sub\/x\.db.*ENOTDIR/));
  });

  it('names the path when the database itself cannot be opened', async () => {
    const dir = join(root, 'is-a-dir.db');
    await (await openStore({ kind: 'sqlite', path: join(dir, 'inner.db') }, root)).close();
    await assert.rejects(openStore({ kind: 'sqlite', path: dir }, root), storeError('open_failed', /is-a-dir\.db.*SQLite code/));
  });

  it('reports a read-only database at open when the process cannot write it', { skip: process.getuid?.() === 0 ? 'root can write read-only files' : false }, async () => {
    const file = freshFile();
    await (await openStore({ kind: 'sqlite', path: file }, root)).close();
    chmodSync(file, 0o444);
    await assert.rejects(openStore({ kind: 'sqlite', path: file }, root), storeError('open_failed', /read-only|readonly/));
  });

  it('refuses an empty path and an unknown kind', async () => {
    await assert.rejects(openStore({ kind: 'sqlite', path: '' }, root), storeError('open_failed', /store\.path/));
    await assert.rejects(openStore({ kind: 'mysql' } as never, root), storeError('open_failed', /unknown store kind 'mysql'/));
  });

  it('stays consistent with several threads writing the same file at once', async () => {
    const file = freshFile();
    const count = 150;
    const main = openSqliteStore(file);
    const workers = [1, 2].map(
      (worker) =>
        new Promise<void>((resolve, reject) => {
          const w = new Worker(new URL('./concurrent-writer.ts', import.meta.url), { workerData: { file, worker, count } });
          w.once('error', reject);
          w.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer ${worker} exited with ${code}`))));
        }),
    );
    for (let i = 0; i < count; i++) await main.putUpstreamCatalog(`w0-${i}`, sampleCatalog(`0-${i}`));
    await Promise.all(workers);
    for (const worker of [0, 1, 2]) {
      for (let i = 0; i < count; i += 7) {
        assert.deepEqual(await main.getUpstreamCatalog(`w${worker}-${i}`), sampleCatalog(`${worker}-${i}`));
      }
    }
    await main.close();
    const db = new DatabaseSync(file);
    assert.deepEqual({ ...db.prepare('PRAGMA integrity_check').get() }, { integrity_check: 'ok' });
    assert.deepEqual({ ...db.prepare('SELECT count(*) AS n FROM upstream_catalog').get() }, { n: count * 3 });
    assert.deepEqual({ ...db.prepare('SELECT count(*) AS n FROM upstream_era').get() }, { n: count * 2 });
    db.close();
  });
});

describe('sqlite store: audit', () => {
  it('syncs NORMAL by default and FULL when asked, refusing anything else', async () => {
    const normal = openSqliteStore(freshFile());
    assert.equal(normal.synchronous, 'normal');
    await normal.close();
    const full = openSqliteStore(freshFile(), { synchronous: 'full' });
    assert.equal(full.synchronous, 'full');
    await full.appendAudit([sampleAuditRow({ seq: 1 })]);
    assert.equal((await full.auditHead('gw-1'))?.seq, 1);
    await full.close();
    assert.throws(() => openSqliteStore(freshFile(), { synchronous: 'off' as never }), storeError('invalid_input', /synchronous must be 'normal' or 'full'/));
  });

  it('upgrades a version-2 database to the audit tables, keeping its data', async () => {
    const file = freshFile();
    mkdirSync(dirname(file), { recursive: true });
    const old = new DatabaseSync(file);
    assert.deepEqual(applyMigrations(old, MIGRATIONS.slice(0, 2)), [1, 2]);
    old.close();
    const store = openSqliteStore(file);
    await store.putApiKey(sampleApiKey('k'));
    await store.appendAudit([sampleAuditRow({ seq: 1 }), sampleAuditRow({ seq: 2 })]);
    await store.close();
    const reopened = openSqliteStore(file);
    assert.equal((await reopened.auditHead('gw-1'))?.seq, 2);
    assert.deepEqual(await reopened.getApiKey('k'), sampleApiKey('k'));
    await reopened.close();
  });

  it('keeps the audit tables STRICT with their constraints against direct writes', async () => {
    const file = freshFile();
    await (await openStore({ kind: 'sqlite', path: file }, root)).close();
    const db = new DatabaseSync(file);
    const insert = db.prepare("INSERT INTO audit_entry (chain, seq, id, hash, text, type, time) VALUES ('c', ?, ?, 'h', '{}', 'exchange', 't')");
    assert.throws(() => insert.run(0, 'a'), /CHECK constraint/);
    assert.throws(() => insert.run('one', 'a'), /cannot store TEXT value in INTEGER column/);
    insert.run(1, 'a');
    assert.throws(() => insert.run(2, 'a'), /UNIQUE constraint/);
    assert.throws(() => db.prepare("INSERT INTO audit_cursor (sink, chain, seq, updated_at) VALUES ('s', 'c', -1, 't')").run(), /CHECK constraint/);
    assert.throws(() => db.prepare("INSERT INTO audit_prune (chain, through_seq, hash, time, reason) VALUES ('c', 0, 'h', 't', 'r')").run(), /CHECK constraint/);
    db.close();
  });

  it('rolls a whole batch back when SQLite fails in the middle of it, naming the entry', async () => {
    const file = freshFile();
    const store = openSqliteStore(file);
    await store.appendAudit([sampleAuditRow({ seq: 1 })]);
    const db = new DatabaseSync(file, { timeout: 5_000 });
    db.exec("CREATE TRIGGER fail_seq_3 BEFORE INSERT ON audit_entry WHEN NEW.seq = 3 BEGIN SELECT RAISE(ABORT, 'disk said no'); END");
    db.close();
    await assert.rejects(
      store.appendAudit([sampleAuditRow({ seq: 2 }), sampleAuditRow({ seq: 3 }), sampleAuditRow({ seq: 4 })]),
      storeError('io', /append audit entry 3 of chain 'gw-1'.*disk said no/),
    );
    assert.deepEqual((await store.readAudit('gw-1', 0, 10)).map((r) => r.seq), [1]);
    await store.appendAudit([sampleAuditRow({ seq: 2 })]);
    assert.equal((await store.auditHead('gw-1'))?.seq, 2);
    await store.close();
  });

  it('lets two processes on one file collide on a chain position, not interleave', async () => {
    const file = freshFile();
    const a = openSqliteStore(file);
    const b = openSqliteStore(file);
    await a.appendAudit([sampleAuditRow({ seq: 1 }), sampleAuditRow({ seq: 2 })]);
    await assert.rejects(b.appendAudit([sampleAuditRow({ seq: 2, id: 'b-2' }), sampleAuditRow({ seq: 3, id: 'b-3' })]), storeError('conflict', /seq 2/));
    assert.deepEqual((await b.readAudit('gw-1', 0, 10)).map((r) => r.id), ['id-gw-1-1', 'id-gw-1-2']);
    await a.close();
    await b.close();
  });

  it('runs searches of many distinct shapes (compiled statements are cached and bounded)', async () => {
    const store = openSqliteStore(MEMORY_PATH);
    await store.appendAudit([sampleAuditRow({ seq: 1, agent: 'bot', user: 'u', tenant: 't', upstream: 'fs', target: 'x', decision: 'allow', session: 's' })]);
    const fields = ['agent', 'user', 'tenant', 'upstream', 'target', 'decision', 'session', 'chain'] as const;
    const values = { agent: 'bot', user: 'u', tenant: 't', upstream: 'fs', target: 'x', decision: 'allow', session: 's', chain: 'gw-1' };
    for (let mask = 0; mask < 1 << fields.length; mask++) {
      const q: Record<string, string> = {};
      fields.forEach((f, i) => {
        if (mask & (1 << i)) q[f] = values[f];
      });
      assert.equal((await store.searchAudit(q)).rows.length, 1, JSON.stringify(q));
    }
    await store.close();
  });
});
