// `gatehouse audit search|tail|verify|export` as a user runs them: real processes against the SQLite
// store of a real gateway whose agents made real calls to server-everything, so the trail is the one
// the gateway wrote (hash chain, checkpoints, policy decisions), not rows made up by the test.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { sha256Hex } from '../../src/audit/canonical.ts';
import { generateAuditKey } from '../../src/audit/keys.ts';
import { REPO, stdioEverything } from '../harness/gateway.ts';
import { bearer, keyedGateway, modernRaw, type KeyedGateway } from './policy/helpers.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function gatehouse(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/gatehouse.js', 'audit', ...args], { cwd: REPO, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const jsonLines = (text: string) => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

const CONFIG = {
  audit: { checkpoint: { records: 2 } },
  policy: {
    default: 'allow',
    rules: [{ name: 'interns-off-erp', effect: 'deny', reveal: true, message: 'interns may not use the ERP', when: { agents: ['intern-bot'], upstreams: ['erp'] } }],
  },
  upstreams: [{ ...stdioEverything('erp'), toolClasses: { echo: 'high_risk_write', 'get-sum': 'read_only' } }, stdioEverything('docs')],
};

describe('gatehouse audit', () => {
  let k: KeyedGateway;
  let config: string;
  let tmp: string;
  const call = (agent: string, name: string, args: Record<string, unknown>) => modernRaw(k.gw.url, bearer(k.keys[agent]!), 'tools/call', { name, arguments: args });

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'gatehouse-audit-cli-'));
    k = await keyedGateway(CONFIG, { 'finance-bot': { user: 'alice', tenant: 'acme' }, 'intern-bot': { user: 'bob', tenant: 'acme' }, 'ci-bot': { tenant: 'globex' } });
    config = k.gw.configFile;
    // Sequential: each answer is released only once its record is durable.
    assert.equal((await call('finance-bot', 'erp__echo', { message: 'quarterly close' })).message?.result?.isError, undefined);
    await call('finance-bot', 'erp__get-sum', { a: 2, b: 3 });
    assert.ok((await call('intern-bot', 'erp__echo', { message: 'hi' })).message?.error, 'the intern is refused');
    await call('ci-bot', 'docs__echo', { message: 'from ci' });
    await modernRaw(k.gw.url, bearer(k.keys['ci-bot']!), 'tools/list', {});
  });
  after(async () => {
    await k?.gw.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('search', () => {
    it('answers the compliance query in one command: who, when, what decision, for every call in the period', async () => {
      const r = await gatehouse('search', '--config', config, '--since', day(-1), '--until', day(1), '--server', 'erp', '--class', 'high_risk_write');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      const [head, ...rows] = r.stdout.trimEnd().split('\n');
      assert.match(head!, /^TIME\s+AGENT\s+USER\s+TENANT\s+METHOD\s+TARGET\s+CLASS\s+DECISION\s+OUTCOME\s+DURATION$/);
      assert.equal(rows.length, 2, r.stdout);
      // Newest first: the refused intern call came after the finance call.
      assert.match(rows[0]!, /^\d{4}-\d{2}-\d{2}T[\d:.]+Z\s+intern-bot\s+bob\s+acme\s+tools\/call\s+erp\/erp__echo\s+high_risk_write\s+deny \(interns-off-erp\)\s+denied\s+[\d.]+ms$/);
      assert.match(rows[1]!, /^\S+\s+finance-bot\s+alice\s+acme\s+tools\/call\s+erp\/erp__echo\s+high_risk_write\s+allow \(default\)\s+ok\s+[\d.]+ms$/);
    });

    it('filters by agent, tool, outcome, decision, kind, method, tenant, text and time', async () => {
      const agents = async (...flags: string[]) => {
        const r = await gatehouse('search', '--config', config, '--format', 'json', ...flags);
        assert.equal(r.code, 0, r.stderr);
        return jsonLines(r.stdout).map((e) => `${e.principal?.agent}:${e.method}:${e.target?.name ?? '-'}`);
      };
      assert.deepEqual(await agents('--agent', 'finance-bot'), ['finance-bot:tools/call:erp__get-sum', 'finance-bot:tools/call:erp__echo']);
      assert.deepEqual(await agents('--tool', 'erp__echo', '--decision', 'allow'), ['finance-bot:tools/call:erp__echo']);
      assert.deepEqual(await agents('--outcome', 'denied'), ['intern-bot:tools/call:erp__echo']);
      assert.deepEqual(await agents('--decision', 'deny', '--user', 'bob'), ['intern-bot:tools/call:erp__echo']);
      assert.deepEqual(await agents('--kind', 'list'), ['ci-bot:tools/list:-']);
      assert.deepEqual(await agents('--method', 'tools/list', '--tenant', 'globex'), ['ci-bot:tools/list:-']);
      assert.deepEqual(await agents('--text', 'QUARTERLY CLOSE'), ['finance-bot:tools/call:erp__echo'], 'text matches the redacted arguments, ignoring case');
      assert.deepEqual(await agents('--server', 'docs', '--class', 'high_risk_write'), ['ci-bot:tools/call:docs__echo'], 'an unclassed tool gets the default class');
      assert.equal((await agents('--since', '1h', '--type', 'exchange')).length, 5);
      assert.deepEqual(await agents('--until', '1h'), []);
      assert.deepEqual(await agents('--since', day(1)), []);
    });

    it('pages with --limit and --cursor (cursor on stderr), and --all follows every page', async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const r = await gatehouse('search', '--config', config, '--type', 'exchange', '--format', 'json', '--limit', '2', ...(cursor ? ['--cursor', cursor] : []));
        assert.equal(r.code, 0, r.stderr);
        seen.push(...jsonLines(r.stdout).map((e) => e.id as string));
        cursor = /^next page: --cursor (\S+)$/m.exec(r.stderr)?.[1];
        pages++;
      } while (cursor !== undefined && pages < 10);
      assert.equal(pages, 3);
      assert.equal(seen.length, 5);
      assert.equal(new Set(seen).size, 5, 'no record on two pages');
      const all = await gatehouse('search', '--config', config, '--type', 'exchange', '--format', 'json', '--limit', '2', '--all');
      assert.equal(all.code, 0, all.stderr);
      assert.equal(all.stderr, '', 'no cursor when every page was shown');
      assert.deepEqual(jsonLines(all.stdout).map((e) => e.id), seen);
      const asc = await gatehouse('search', '--config', config, '--type', 'exchange', '--format', 'json', '--order', 'asc');
      assert.deepEqual(jsonLines(asc.stdout).map((e) => e.id), [...seen].reverse());
    });

    it('json: one entry per line with its chain hash; ocsf: one OCSF API Activity event per line', async () => {
      const json = await gatehouse('search', '--config', config, '--agent', 'intern-bot', '--format', 'json');
      assert.equal(json.code, 0, json.stderr);
      const [e] = jsonLines(json.stdout);
      assert.equal(e!.v, 1);
      assert.equal(e!.type, 'exchange');
      assert.equal(typeof e!.chain, 'string');
      assert.ok(e!.seq >= 1);
      assert.equal(e!.policy.effect, 'deny');
      assert.equal(e!.policy.rule, 'interns-off-erp');
      assert.match(e!.hash, /^[0-9a-f]{64}$/);
      const { hash, ...entry } = e!;
      const db = new DatabaseSync(join(k.gw.dir, 'state.db'), { readOnly: true });
      const row = db.prepare('SELECT text, hash FROM audit_entry WHERE id = ?').get(entry.id) as { text: string; hash: string };
      db.close();
      assert.equal(hash, row.hash);
      assert.deepEqual(entry, JSON.parse(row.text));
      assert.equal(sha256Hex(row.text), hash);

      const ocsf = await gatehouse('search', '--config', config, '--agent', 'intern-bot', '--format', 'ocsf');
      assert.equal(ocsf.code, 0, ocsf.stderr);
      const [ev] = jsonLines(ocsf.stdout);
      assert.equal(ev!.class_uid, 6003);
      assert.equal(ev!.category_uid, 6);
      assert.equal(ev!.metadata.uid, entry.id);
      assert.match(JSON.stringify(ev), /intern-bot/);
    });

    it('refuses bad flags with exit 2, naming the flag and what it expects', async () => {
      const cases: [string[], RegExp][] = [
        [['--since', 'yesterday'], /--since: "yesterday" is not an ISO 8601 date or time .* or a duration ago/],
        [['--since', '2026-02-30'], /--since: "2026-02-30" is not/],
        [['--until', '2026-11-01T10:00'], /--until: "2026-11-01T10:00" has no time zone/],
        [['--since', '2026-12-01', '--until', '2026-11-01'], /--since: 2026-12-01T00:00:00.000Z is not before --until 2026-11-01T00:00:00.000Z/],
        [['--decision', 'maybe'], /--decision: "maybe" is not one of allow, deny, require_approval, none/],
        [['--outcome', 'fine'], /--outcome: "fine" is not one of ok, error, denied/],
        [['--kind', 'widget'], /--kind: "widget" is not one of tool, prompt/],
        [['--limit', '0'], /--limit: "0" is not a whole number from 1 to 1000/],
        [['--limit', '5000'], /--limit: "5000" is not a whole number from 1 to 1000/],
        [['--cursor', 'bm9wZQ'], /--cursor: "bm9wZQ" is not a cursor an audit search returned/],
        [['--format', 'xml'], /--format: "xml" is not one of table, json, ocsf/],
        [['--agent', ''], /--agent: must not be empty/],
      ];
      for (const [flags, message] of cases) {
        const r = await gatehouse('search', '--config', config, ...flags);
        assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, message);
        assert.equal(r.stdout, '');
      }
      const missing = await gatehouse('search', '--agent', 'x');
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /--config <file>/);
    });
  });

  describe('tail', () => {
    it('-n shows the last records, oldest first', async () => {
      const r = await gatehouse('tail', '--config', config, '-n', '2', '--type', 'exchange', '--format', 'json');
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(jsonLines(r.stdout).map((e) => `${e.principal.agent}:${e.method}`), ['ci-bot:tools/call', 'ci-bot:tools/list']);
      const table = await gatehouse('tail', '--config', config, '-n', '3', '--agent', 'finance-bot');
      assert.equal(table.code, 0, table.stderr);
      const lines = table.stdout.trimEnd().split('\n');
      assert.equal(lines.length, 3, 'header and both finance calls');
      assert.match(lines[1]!, /erp__echo/);
      assert.match(lines[2]!, /erp__get-sum/);
      const bad = await gatehouse('tail', '--config', config, '-n', 'lots');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /-n\/--lines: "lots" is not a whole number/);
    });

    it('-f follows: a call made after it started shows up; SIGTERM ends it with exit 0', async () => {
      const child = spawn(process.execPath, ['bin/gatehouse.js', 'audit', 'tail', '-f', '-n', '1', '--config', config, '--format', 'json', '--agent', 'ci-bot'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        let stdout = '';
        let stderr = '';
        const waiters: (() => void)[] = [];
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          stdout += d;
          for (const w of waiters.splice(0)) w();
        });
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
        const lines = async (n: number) => {
          while (stdout.split('\n').filter(Boolean).length < n) {
            const more = new Promise<void>((resolve) => waiters.push(resolve));
            const done = await Promise.race([more.then(() => false), exited.then(() => true)]);
            assert.ok(!done, `tail exited early: ${stderr}`);
          }
          return jsonLines(stdout);
        };
        assert.deepEqual((await lines(1)).map((e) => e.method), ['tools/list'], 'the last record first');
        await call('intern-bot', 'docs__echo', { message: 'not shown: another agent' });
        await call('ci-bot', 'docs__echo', { message: 'follow me' });
        const got = await lines(2);
        assert.equal(got.length, 2, stdout);
        assert.equal(got[1]!.args.message, 'follow me');
        child.kill('SIGTERM');
        assert.equal(await exited, 0, stderr);
        assert.equal(stderr, '');
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    });
  });

  describe('verify and export', () => {
    it('verify: every chain intact, per chain entries, seq range, checkpoints, last signed seq and unsigned tail', async () => {
      const r = await gatehouse('verify', '--config', config);
      assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /^chain \S+: intact: \d+ entries \(seq 1\.\.\d+\), \d+ checkpoints? verified, last signed seq \d+, unsigned tail \d+$/m);
      assert.match(r.stdout, /^Intact: 1 chain verified\.$/m);
      const json = await gatehouse('verify', '--config', config, '--json');
      assert.equal(json.code, 0, json.stderr);
      const report = JSON.parse(json.stdout) as { ok: boolean; keys: string; chains: { chain: string; ok: boolean; entries: number; firstSeq: number; lastSeq: number; checkpoints: number; lastSignedSeq: number; unsignedTail: number }[] };
      assert.equal(report.ok, true);
      assert.equal(report.keys, 'source');
      const [c] = report.chains;
      assert.equal(c!.firstSeq, 1);
      assert.equal(c!.lastSeq, c!.entries);
      assert.ok(c!.entries >= 5);
      assert.ok(c!.checkpoints >= 1, 'audit.checkpoint.records: 2 signed some');
      assert.equal(c!.unsignedTail, c!.lastSeq - c!.lastSignedSeq);
    });

    it('verify catches an edited row, naming chain, seq, id and kind; exit 1', async () => {
      const copy = join(tmp, 'tampered.db');
      const live = new DatabaseSync(join(k.gw.dir, 'state.db'));
      live.exec(`VACUUM INTO '${copy.replaceAll("'", "''")}'`);
      live.close();
      const tamperedConfig = join(tmp, 'tampered.yaml');
      writeFileSync(tamperedConfig, `version: 1\nauth:\n  methods: [{ name: anon, type: anonymous, agent: x }]\ngateway:\n  listen: { auth: [anon] }\nstore:\n  kind: sqlite\n  path: ${copy}\n`);
      const before = await gatehouse('verify', '--config', tamperedConfig);
      assert.equal(before.code, 0, before.stdout + before.stderr);

      const db = new DatabaseSync(copy);
      const row = db.prepare("SELECT chain, seq, id FROM audit_entry WHERE text LIKE '%quarterly close%'").get() as { chain: string; seq: number; id: string };
      db.prepare("UPDATE audit_entry SET text = replace(text, 'quarterly close', 'nothing to see') WHERE id = ?").run(row.id);
      db.close();
      const r = await gatehouse('verify', '--config', tamperedConfig);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`^chain ${row.chain}: BROKEN at seq ${row.seq} \\(entry ${row.id}\\): hash_mismatch: `, 'm'));
      assert.match(r.stdout, new RegExp(`verified before the break: ${row.seq - 1} entr`));
      assert.match(r.stdout, /^BROKEN: 1 of 1 chain has a break\.$/m);

      // A careful forger fixes the row's hash too: the next entry's link gives it away.
      const db2 = new DatabaseSync(copy);
      const t = (db2.prepare('SELECT text FROM audit_entry WHERE id = ?').get(row.id) as { text: string }).text;
      db2.prepare('UPDATE audit_entry SET hash = ? WHERE id = ?').run(sha256Hex(t), row.id);
      db2.close();
      const j = await gatehouse('verify', '--config', tamperedConfig, '--json');
      assert.equal(j.code, 1);
      const b = (JSON.parse(j.stdout) as { chains: { break: { chain: string; seq: number; kind: string } }[] }).chains[0]!.break;
      assert.equal(b.chain, row.chain);
      assert.ok(['prev_mismatch', 'checkpoint_mismatch'].includes(b.kind), b.kind);
    });

    it('export writes a file that verify --file checks on its own, with or without the public key', async () => {
      const file = join(tmp, 'trail.jsonl');
      const r = await gatehouse('export', '--config', config, '--out', file);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^Exported \d+ entries to .*trail\.jsonl\.$/m);
      const lines = jsonLines(readFileSync(file, 'utf8'));
      assert.equal(lines[0]!.gatehouse, 'audit-export');
      assert.ok(lines.some((l) => l.entry !== undefined && typeof l.hash === 'string'));
      assert.ok(lines.some((l) => l.checkpoint !== undefined));

      const stdout = await gatehouse('export', '--config', config);
      assert.equal(stdout.code, 0, stdout.stderr);
      assert.equal(jsonLines(stdout.stdout)[0]!.gatehouse, 'audit-export');

      const ok = await gatehouse('verify', '--file', file);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /intact/);
      assert.match(ok.stdout, /keys inside the export: .* Pass --public-key/);

      const key = lines.find((l) => l.key !== undefined)!.key as { kid: string; publicJwk: Record<string, unknown> };
      const keyFile = join(tmp, 'audit-key.jwk');
      writeFileSync(keyFile, JSON.stringify(key.publicJwk));
      const given = await gatehouse('verify', '--file', file, '--public-key', keyFile, '--json');
      assert.equal(given.code, 0, given.stdout + given.stderr);
      assert.equal((JSON.parse(given.stdout) as { keys: string }).keys, 'given');

      const otherFile = join(tmp, 'other.jwk');
      writeFileSync(otherFile, generateAuditKey().publicJwk);
      const other = await gatehouse('verify', '--file', file, '--public-key', otherFile);
      assert.equal(other.code, 1, other.stdout);
      assert.match(other.stdout, /BROKEN at seq \d+: unknown_key: /);

      const priv = join(tmp, 'private.jwk');
      writeFileSync(priv, generateAuditKey().privateJwk);
      const refused = await gatehouse('verify', '--file', file, '--public-key', priv);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /--public-key: .* holds a private key/);
    });

    it('verify --file catches an edited export line; a file that is no export is a usage error', async () => {
      const file = join(tmp, 'trail.jsonl');
      const edited = join(tmp, 'edited.jsonl');
      writeFileSync(edited, readFileSync(file, 'utf8').replace('quarterly close', 'quarterly CLOSE'));
      const r = await gatehouse('verify', '--file', edited);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /BROKEN at seq \d+ \(entry [0-9a-f-]+\): hash_mismatch: /);

      const notExport = join(tmp, 'not-export.jsonl');
      writeFileSync(notExport, '{"hello":"world"}\n');
      const usage = await gatehouse('verify', '--file', notExport);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /is not a Gatehouse audit export/);
      const neither = await gatehouse('verify');
      assert.equal(neither.code, 2);
      assert.match(neither.stderr, /give either --config FILE .* or --file EXPORT\.jsonl/);
      const both = await gatehouse('verify', '--config', config, '--file', file);
      assert.equal(both.code, 2);
      const badConfig = await gatehouse('verify', '--config', join(tmp, 'nope.yaml'));
      assert.equal(badConfig.code, 2, 'a config that cannot be read is exit 2, never "broken"');
    });
  });
});
