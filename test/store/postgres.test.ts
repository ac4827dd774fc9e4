// The PostgreSQL store against a real, throwaway cluster (test/support/postgres.ts): the shared Store
// suite, plus what only a networked database has: connection failures, concurrent migration,
// schemas, a server that goes away and comes back.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { inspect, promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { storeSchema } from '../../src/config/schema/store.ts';
import { MIGRATIONS } from '../../src/store/migrations.ts';
import { openStore } from '../../src/store/open.ts';
import { applyPostgresMigrations } from '../../src/store/postgres-migrate.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { StoreError } from '../../src/store/store.ts';
import type { Store } from '../../src/store/store.ts';
import type { AuditQuery, AuditRow } from '../../src/store/audit-store.ts';
import { freePort } from '../support/processes.ts';
import { freshDatabase, freshSchema, postgresSkipReason, startPostgres } from '../support/postgres.ts';
import type { TestPostgres } from '../support/postgres.ts';
import { at, sampleAuditRow } from './audit-suite.ts';
import { runStoreSuite } from './store-suite.ts';

const run = promisify(execFile);
const skip = postgresSkipReason();

function storeError(kind: StoreError['kind'], pattern?: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    if (pattern !== undefined) assert.match(err.message, pattern);
    return true;
  };
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

describe('store config, kind postgres', () => {
  it('fills in the defaults and refuses a URL that is not postgres without quoting it', () => {
    assert.deepEqual(storeSchema.parse({ kind: 'postgres', url: 'postgresql://gh:pw@db:5432/gh' }), {
      kind: 'postgres', url: 'postgresql://gh:pw@db:5432/gh', schema: 'public', poolSize: 10, connectTimeoutMs: 5_000, statementTimeoutMs: 10_000,
    });
    const bad = storeSchema.safeParse({ kind: 'postgres', url: 'mysql://root:Hunter2@db/x', schema: 'Mixed', poolSize: 0 });
    assert.equal(bad.success, false);
    const text = JSON.stringify(bad.error?.issues);
    assert.match(text, /postgres:\/\//);
    assert.match(text, /lowercase identifier/);
    assert.doesNotMatch(text, /Hunter2/);
    assert.equal(storeSchema.safeParse({ kind: 'postgres', url: 'postgres://db/x', schema: 'pg_temp' }).success, false);
  });
});

if (skip !== undefined) {
  it('PostgreSQL store', { skip }, () => undefined);
} else {
  let server: TestPostgres;
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server?.stop();
  });

  runStoreSuite('postgres', () => openStore({ kind: 'postgres', url: server.url, schema: freshSchema(), poolSize: 4 }, '.'));

  describe('postgres store', () => {
    it('fails to open with open_failed naming host:port/database, never the password', async () => {
      const port = await freePort();
      const url = `postgres://gatehouse:Hunter2%2Fsecret@127.0.0.1:${port}/gatehouse`;
      await assert.rejects(openStore({ kind: 'postgres', url, connectTimeoutMs: 2_000 }, '.'), (err: unknown) => {
        storeError('open_failed', new RegExp(`127\\.0\\.0\\.1:${port}/gatehouse.*ECONNREFUSED`))(err);
        const all = inspect(err, { depth: 10 });
        assert.doesNotMatch(all, /Hunter2/);
        return true;
      });
      await assert.rejects(
        openStore({ kind: 'postgres', url: 'mysql://root:Hunter2@db/x' }, '.'),
        (err: unknown) => storeError('open_failed', /postgres:\/\//)(err) && !/Hunter2/.test(inspect(err)),
      );
      await assert.rejects(openStore({ kind: 'postgres', url: server.url, schema: 'Bad-Name' }, '.'), storeError('open_failed', /store\.schema/));
      await assert.rejects(openStore({ kind: 'postgres', url: server.url, schema: 'pg_catalog' }, '.'), storeError('open_failed', /store\.schema/));
    });

    it('explains a missing database with its SQLSTATE and a hint', async () => {
      const u = new URL(server.url);
      u.pathname = '/no_such_db';
      u.password = 'Hunter2';
      await assert.rejects(openStore({ kind: 'postgres', url: u.toString() }, '.'), (err: unknown) => {
        storeError('open_failed', /127\.0\.0\.1:\d+\/no_such_db.*does not exist.*3D000.*create the database/)(err);
        assert.doesNotMatch(inspect(err, { depth: 10 }), /Hunter2/);
        return true;
      });
    });

    it('uses public by default and keeps each configured schema apart', async () => {
      const url = await freshDatabase(server.url);
      const [plain, alpha, beta] = await Promise.all([
        openStore({ kind: 'postgres', url }, '.'),
        openStore({ kind: 'postgres', url, schema: 'alpha' }, '.'),
        openStore({ kind: 'postgres', url, schema: 'beta' }, '.'),
      ]);
      try {
        await plain.setUpstreamEra('x', 'modern');
        await alpha.setUpstreamEra('x', 'legacy');
        assert.equal(await plain.getUpstreamEra('x'), 'modern');
        assert.equal(await alpha.getUpstreamEra('x'), 'legacy');
        assert.equal(await beta.getUpstreamEra('x'), undefined);
        await alpha.appendAudit([sampleAuditRow({ seq: 1 })]);
        assert.equal((await beta.auditHead('gw-1')), undefined);
        const tables = await withClient(url, async (c) =>
          (await c.query<{ s: string; n: number }>(
            `SELECT table_schema AS s, count(*)::int AS n FROM information_schema.tables
             WHERE table_name = 'schema_migrations' GROUP BY table_schema ORDER BY table_schema`,
          )).rows,
        );
        assert.deepEqual(tables, [{ s: 'alpha', n: 1 }, { s: 'beta', n: 1 }, { s: 'public', n: 1 }]);
      } finally {
        await Promise.all([plain.close(), alpha.close(), beta.close()]);
      }
    });

    it('keeps options given in the URL, adding its own search_path to them', async () => {
      const schema = freshSchema();
      await (await openPostgresStore({ url: server.url, schema })).close();
      // Read-only sessions: proves the URL's options reach the server, next to the schema's search_path.
      const url = `${server.url}?options=${encodeURIComponent('-c default_transaction_read_only=on')}`;
      const s = await openPostgresStore({ url, schema });
      try {
        assert.equal(await s.getUpstreamEra('x'), undefined);
        await assert.rejects(s.setUpstreamEra('x', 'modern'), storeError('io', new RegExp(`schema ${schema}: .*read-only.*25006`)));
      } finally {
        await s.close();
      }
    });

    it('migrates once when several processes and stores open a fresh database at the same time', async () => {
      const url = await freshDatabase(server.url);
      const moduleUrl = new URL('../../src/store/postgres.ts', import.meta.url).href;
      const script = `
        const { openPostgresStore } = await import(${JSON.stringify(moduleUrl)});
        const s = await openPostgresStore({ url: process.argv[1] });
        await s.setUpstreamEra('from-' + process.pid, 'modern');
        await s.close();
        console.log('ok');`;
      const child = () => run(process.execPath, ['--input-type=module', '-e', script, url], { timeout: 60_000 });
      const results = await Promise.all([child(), child(), openPostgresStore({ url }), openPostgresStore({ url })]);
      assert.equal(results[0].stdout.trim(), 'ok');
      assert.equal(results[1].stdout.trim(), 'ok');
      await Promise.all([results[2].close(), results[3].close()]);
      await withClient(url, async (c) => {
        const rows = (await c.query('SELECT version, name FROM schema_migrations ORDER BY version')).rows;
        assert.deepEqual(rows, MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
        assert.equal((await c.query('SELECT count(*)::int AS n FROM upstream_era')).rows[0].n, 2);
      });
    });

    it('applies each migration once under concurrent runners, and nothing on reopen', async () => {
      const url = await freshDatabase(server.url);
      const clients = await Promise.all([0, 1, 2, 3].map(async () => {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        return c;
      }));
      try {
        const applied = await Promise.all(clients.map((c) => applyPostgresMigrations(c, 'shared')));
        const all = MIGRATIONS.map((m) => m.version);
        assert.deepEqual(applied.filter((a) => a.length > 0), [all]);
        assert.equal(applied.filter((a) => a.length === 0).length, 3);
        assert.deepEqual(await applyPostgresMigrations(clients[0]!, 'shared'), []);
      } finally {
        await Promise.all(clients.map((c) => c.end()));
      }
    });

    it('upgrades a database an older Gatehouse left, keeping its data', async () => {
      const url = await freshDatabase(server.url);
      await withClient(url, async (c) => {
        assert.deepEqual(await applyPostgresMigrations(c, 'public', MIGRATIONS.slice(0, 1)), [1]);
        await c.query("INSERT INTO upstream_era (identity, era, updated_at) VALUES ('i', 'legacy', 'x')");
      });
      const store = await openPostgresStore({ url });
      try {
        assert.equal(await store.getUpstreamEra('i'), 'legacy');
        await store.appendAudit([sampleAuditRow({ seq: 1 })]);
      } finally {
        await store.close();
      }
    });

    it('refuses a schema written by a newer Gatehouse, a renamed entry, and a gap in the list', async () => {
      const url = await freshDatabase(server.url);
      await (await openPostgresStore({ url })).close();
      await withClient(url, async (c) => {
        await c.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'from_the_future', 'x')");
      });
      await assert.rejects(openPostgresStore({ url }), storeError('migration_failed', /127\.0\.0\.1:\d+\/gh_\w+: .*version 999.*newer/));
      await withClient(url, async (c) => {
        await c.query("UPDATE schema_migrations SET name = 'renamed' WHERE version = 1");
        await c.query('DELETE FROM schema_migrations WHERE version = 999');
      });
      await assert.rejects(openPostgresStore({ url }), storeError('migration_failed', /version 1 in the database is 'renamed', expected 'upstream_state'/));
      await withClient(url, async (c) => {
        await assert.rejects(applyPostgresMigrations(c, 'public', [MIGRATIONS[1]!]), storeError('migration_failed', /out of order/));
      });
    });

    it('rolls a failed migration back completely, schema included', async () => {
      const url = await freshDatabase(server.url);
      const broken = [...MIGRATIONS, { version: MIGRATIONS.length + 1, name: 'broken', sqlite: '', postgres: 'CREATE TABLE t (x int); NOT SQL' }];
      await withClient(url, async (c) => {
        await assert.rejects(applyPostgresMigrations(c, 'doomed', broken), storeError('migration_failed', /migration \d+ \('broken'\) failed/));
        assert.equal((await c.query("SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'doomed'")).rows[0].n, 0);
        // The connection is usable afterwards: nothing was left half-open.
        assert.equal((await c.query('SELECT 1 AS one')).rows[0].one, 1);
      });
    });

    it('orders, pages and matches text exactly as SQLite does, whatever the database collation', async () => {
      const pgStore = await openPostgresStore({ url: server.url, schema: freshSchema() });
      const sqlite = openSqliteStore(':memory:');
      try {
        // Chains and texts where a linguistic collation (the test cluster's default is ICU en-US)
        // and byte order disagree: case, punctuation, accents, digits.
        const chains = ['B', 'a', '_x', 'a-b', 'ab', 'Zeta', 'é', 'e', '10', '9'];
        const notes = ['ÄRGER', 'ärger', 'Straße', 'STRASSE', 'mIxEd CaSe', '100%', 'a_b', 'İstanbul'];
        const rows: AuditRow[] = [];
        chains.forEach((chain, i) => {
          for (let seq = 1; seq <= 6; seq++) {
            rows.push(sampleAuditRow({ chain, seq, time: at((seq % 3) * 1000), agent: seq % 2 === 0 ? 'Bot' : 'bot', note: notes[(i + seq) % notes.length] }));
          }
        });
        await pgStore.appendAudit(rows);
        await sqlite.appendAudit(rows);
        const queries: AuditQuery[] = [
          {}, { order: 'asc' }, { agent: 'bot' }, { agent: 'Bot', order: 'asc' }, { text: 'ärger' }, { text: 'ÄRGER' }, { text: 'arger' },
          { text: 'strasse' }, { text: 'straße' }, { text: 'MIXED case' }, { text: 'i̇stanbul' }, { text: 'istanbul' }, { from: at(1000), to: at(2000) },
        ];
        for (const q of queries) {
          for (const limit of [1, 7, 1000]) {
            const pages = async (s: Store) => {
              const out: string[] = [];
              let cursor: string | undefined;
              do {
                const page = await s.searchAudit({ ...q, limit, cursor });
                out.push(...page.rows.map((r) => r.id));
                cursor = page.next;
              } while (cursor !== undefined);
              return out;
            };
            assert.deepEqual(await pages(pgStore), await pages(sqlite), `${JSON.stringify(q)} limit ${limit}`);
          }
        }
        assert.deepEqual(await pgStore.auditChains(), await sqlite.auditChains());
      } finally {
        await pgStore.close();
        await sqlite.close();
      }
    });

    it('appends a batch past the parameter limit in one transaction, and keeps none of it on a late collision', async () => {
      const s = await openPostgresStore({ url: server.url, schema: freshSchema() });
      try {
        const big = Array.from({ length: 8_000 }, (_, i) => sampleAuditRow({ chain: 'big', seq: i + 1 }));
        await s.appendAudit(big);
        assert.deepEqual(await s.auditChains().then((c) => c.map((x) => [x.chain, x.firstSeq, x.lastSeq, x.count])), [['big', 1, 8_000, 8_000]]);
        assert.deepEqual(await s.readAudit('big', 7_998, 10), big.slice(7_998));
        // The collision sits in the third chunk: the first two must not stay behind.
        const next = Array.from({ length: 8_000 }, (_, i) => sampleAuditRow({ chain: 'next', seq: i + 1 }));
        next[7_500] = sampleAuditRow({ chain: 'next', seq: 7_501, id: big[10]!.id });
        await assert.rejects(s.appendAudit(next), storeError('conflict', /audit entry id 'id-big-11' is already stored; nothing of the batch of 8000 was kept/));
        assert.equal(await s.auditHead('next'), undefined);
      } finally {
        await s.close();
      }
    });

    it('fails with io while the server is down and recovers when it is back', async () => {
      const own = await startPostgres();
      const s = await openPostgresStore({ url: own.url, poolSize: 3, connectTimeoutMs: 2_000 });
      try {
        // Several pooled connections, all of which the restart kills.
        await Promise.all([s.setUpstreamEra('a', 'modern'), s.getUpstreamEra('a'), s.appendAudit([sampleAuditRow({ seq: 1 })])]);
        for (const mode of ['fast', 'immediate'] as const) {
          await own.halt(mode);
          const down = new RegExp(`127\\.0\\.0\\.1:${own.port}/gatehouse`);
          await assert.rejects(s.getUpstreamEra('a'), storeError('io', down));
          await assert.rejects(s.appendAudit([sampleAuditRow({ seq: 2 })]), storeError('io', down));
          await assert.rejects(s.searchAudit({}), storeError('io', down));
          await own.resume();
          // A connection the server dropped fails the call that meets it (io) and is discarded; within
          // one call per pooled connection the store works again.
          let era: string | undefined;
          for (let attempt = 0; attempt <= 3 && era === undefined; attempt++) {
            era = await s.getUpstreamEra('a').catch((err: unknown) => {
              storeError('io')(err);
              return undefined;
            });
          }
          assert.equal(era, 'modern');
          await s.appendAudit([sampleAuditRow({ seq: mode === 'fast' ? 2 : 3 })]);
        }
        assert.equal((await s.auditHead('gw-1'))?.seq, 3);
      } finally {
        await s.close();
        await own.stop();
      }
    });

    it('gives up on a server that stops answering, without waiting forever', async () => {
      const s = await openPostgresStore({ url: server.url, schema: freshSchema(), poolSize: 1, connectTimeoutMs: 500, statementTimeoutMs: 500 });
      let frozen: number | undefined;
      try {
        await s.setUpstreamEra('a', 'modern');
        frozen = await withClient(server.url, async (c) =>
          (await c.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = 'gatehouse' AND state = 'idle' AND query LIKE '%upstream_era%'")).rows[0]?.pid,
        );
        assert.ok(frozen !== undefined, 'the store has one idle connection');
        // A stopped backend neither answers nor closes its socket: what a dead network path looks like.
        process.kill(frozen, 'SIGSTOP');
        await assert.rejects(s.getUpstreamEra('a'), storeError('io', /did not answer within 1000 ms/));
        process.kill(frozen, 'SIGCONT');
        frozen = undefined;
        assert.equal(await s.getUpstreamEra('a'), 'modern');
      } finally {
        if (frozen !== undefined) process.kill(frozen, 'SIGCONT');
        await s.close();
      }
    });

    it('cancels a statement that runs past statementTimeoutMs with io', async () => {
      const schema = freshSchema();
      const s = await openPostgresStore({ url: server.url, schema, poolSize: 1, statementTimeoutMs: 300 });
      try {
        await s.putApiKey({
          id: 'k', hash: 'ab'.repeat(32), kind: 'agent', name: undefined, agent: 'a', user: undefined, tenant: undefined, roles: [], scopes: [],
          createdAt: '2026-01-01T00:00:00.000Z', expiresAt: undefined, revokedAt: undefined, lastUsedAt: undefined, rotatedFrom: undefined,
        });
        // Hold the row lock from another session, so the store's update waits past its timeout.
        await withClient(server.url, async (c) => {
          await c.query('BEGIN');
          await c.query(`SELECT * FROM ${schema}.api_key WHERE id = 'k' FOR UPDATE`);
          await assert.rejects(s.revokeApiKey('k', '2026-02-01T00:00:00.000Z'), storeError('io', /57014.*statementTimeoutMs/));
          await c.query('ROLLBACK');
        });
        assert.equal(await s.revokeApiKey('k', '2026-02-01T00:00:00.000Z'), true);
      } finally {
        await s.close();
      }
    });
  });
}
