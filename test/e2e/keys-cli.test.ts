// `gatehouse keys` as a user runs it: real processes against a SQLite store in a temp folder, and the
// keys it prints checked by the api_key method reading the same database from this process.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseApiKey } from '../../src/identity/api-key-format.ts';
import type { AuthEnv, AuthResult, Credentials } from '../../src/identity/method.ts';
import { createApiKeyMethod } from '../../src/identity/methods/api-key.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { SqliteStore } from '../../src/store/sqlite.ts';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-keys-cli-'));
const config = join(dir, 'gatehouse.yaml');
const dbFile = join(dir, 'data', 'gatehouse.db');
const entry = join(dir, 'gatehouse-keys.mjs');

writeFileSync(
  config,
  `version: 1
gateway:
  listen:
    host: 127.0.0.1
    port: 0
    auth: [keys]
admin:
  listen:
    port: 0
  auth: [admin-keys]
auth:
  methods:
    - name: keys
      type: api_key
    - name: admin-keys
      type: api_key
      kind: admin
store:
  kind: sqlite
  path: ./data/gatehouse.db
`,
);
// src/cli/index.ts does not register `keys` itself yet: this entry does what it will do.
writeFileSync(
  entry,
  `import { Command } from ${JSON.stringify(import.meta.resolve('commander'))};
import { registerKeysCommand } from ${JSON.stringify(new URL('../../src/cli/keys.ts', import.meta.url).href)};
const program = new Command('gatehouse');
registerKeysCommand(program);
await program.parseAsync(process.argv);
`,
);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function gatehouse(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    // process.execPath is the Node 24 that runs this test (npx node --test).
    const child = execFile(process.execPath, [entry, 'keys', ...args], { cwd: dir, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

function creds(key: string): Credentials {
  return { bearer: key, apiKey: undefined, peerCertificate: undefined, peerAuthorized: false, peerError: undefined, userAssertion: undefined, clientAddress: '127.0.0.1' };
}

let store: SqliteStore;
let env: AuthEnv;
const agentMethod = createApiKeyMethod({ name: 'keys', type: 'api_key', kind: 'agent' });
const adminMethod = createApiKeyMethod({ name: 'admin-keys', type: 'api_key', kind: 'admin' });
const secrets: string[] = [];

function remember(key: string): string {
  const parsed = parseApiKey(key.trim());
  assert.ok(parsed, `not a key: ${JSON.stringify(key)}`);
  secrets.push(parsed.secret, key.trim());
  return key.trim();
}

async function auth(key: string, method = agentMethod): Promise<AuthResult> {
  return method.authenticate(creds(key), env);
}

before(async () => {
  // The first CLI run creates the database; this process then opens it as the gateway would.
  const r = await gatehouse('list', '-c', config);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '(none)\n');
  store = openSqliteStore(dbFile);
  env = { store, tokens: { verify: async () => ({ kind: 'skip' }) }, audiences: () => [], now: () => Date.now() };
});

after(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('gatehouse keys', () => {
  let agentKey = '';
  let agentId = '';

  it('creates a key, prints it once on stdout and the warning on stderr', async () => {
    const r = await gatehouse('create', '-c', config, '--agent', 'ci-bot', '--name', 'ci prod', '--tenant', 'acme', '--user', 'alice', '--role', 'deployer', '--role', 'reader', '--scope', 'tools:call', '--expires', '30d');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ghk_[0-9A-Za-z]{12}_[0-9A-Za-z]{49}\n$/);
    agentKey = remember(r.stdout);
    agentId = parseApiKey(agentKey)!.id;
    assert.match(r.stderr, new RegExp(`Created agent key ghk_${agentId} for agent "ci-bot", expires \\d{4}-`));
    assert.match(r.stderr, /Store it now: it cannot be shown again/);
    assert.ok(!r.stderr.includes(agentKey));

    const ok = await auth(agentKey);
    assert.equal(ok.kind, 'ok', JSON.stringify(ok));
    const p = (ok as Extract<AuthResult, { kind: 'ok' }>).principal;
    assert.deepEqual([p.agent, p.user, p.tenant, p.roles, p.scopes, p.credentialId], ['ci-bot', 'alice', 'acme', ['deployer', 'reader'], ['tools:call'], agentId]);
    assert.ok(p.expiresAt !== undefined && p.expiresAt > Date.now() + 29 * 86_400_000);
  });

  it('creates admin keys (--json) and quiet keys', async () => {
    const r = await gatehouse('create', '-c', config, '--agent', 'ops-alice', '--admin', '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { key: string; id: string; kind: string; state: string; hash?: unknown };
    remember(out.key);
    assert.equal(out.kind, 'admin');
    assert.equal(out.state, 'active');
    assert.equal(out.hash, undefined);
    assert.equal(parseApiKey(out.key)?.id, out.id);
    const admin = await auth(out.key, adminMethod);
    assert.equal(admin.kind, 'ok');
    assert.ok((admin as Extract<AuthResult, { kind: 'ok' }>).principal.roles.includes('gatehouse-admin'));
    assert.equal((await auth(out.key)).kind, 'fail');

    const q = await gatehouse('create', '-c', config, '--agent', 'quiet-bot', '--quiet');
    assert.equal(q.code, 0, q.stderr);
    assert.equal(q.stderr, '');
    remember(q.stdout);
  });

  it('lists keys without their secrets, with last use recorded', async () => {
    await new Promise((r) => setImmediate(r)); // the last-use write is not awaited by the request
    const r = await gatehouse('list', '-c', config);
    assert.equal(r.code, 0, r.stderr);
    const [header, ...lines] = r.stdout.trimEnd().split('\n');
    assert.match(header!, /^ID\s+KIND\s+AGENT\s+TENANT\s+NAME\s+CREATED\s+EXPIRES\s+LAST USED\s+STATE$/);
    assert.equal(lines.length, 3);
    const mine = lines.find((l) => l.startsWith(`ghk_${agentId} `));
    assert.ok(mine);
    assert.match(mine, /agent\s+ci-bot\s+acme\s+ci prod\s+\d{4}-\d\d-\d\d \d\d:\d\dZ\s+\d{4}-\d\d-\d\d \d\d:\d\dZ\s+\d{4}-\d\d-\d\d \d\d:\d\dZ\s+active$/);

    const json = await gatehouse('list', '-c', config, '--json');
    const views = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(views.map((v) => v.agent), ['quiet-bot', 'ops-alice', 'ci-bot']);
    assert.ok(views.every((v) => !('hash' in v)));
    assert.equal(typeof views[2]!.lastUsedAt, 'string');

    const admins = await gatehouse('list', '-c', config, '--admin', '--json');
    assert.deepEqual((JSON.parse(admins.stdout) as Array<{ agent: string }>).map((v) => v.agent), ['ops-alice']);
    for (const s of secrets) assert.ok(!r.stdout.includes(s) && !json.stdout.includes(s) && !admins.stdout.includes(s));
  });

  it('revokes a key (with or without ghk_), which is refused at once', async () => {
    const r = await gatehouse('revoke', `ghk_${agentId}`, '-c', config);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `Revoked API key ghk_${agentId} of agent "ci-bot".\n`);
    const refused = await auth(agentKey);
    assert.deepEqual(refused, { kind: 'fail', failure: { reason: 'invalid_token', message: `API key ghk_${agentId} has been revoked` } });

    const again = await gatehouse('revoke', agentId, '-c', config);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /^gatehouse: API key ghk_\w+ was already revoked/);

    const list = await gatehouse('list', '-c', config, '--json');
    assert.ok(!(JSON.parse(list.stdout) as Array<{ id: string }>).some((v) => v.id === agentId));
    const all = await gatehouse('list', '-c', config, '--all', '--json');
    assert.equal((JSON.parse(all.stdout) as Array<{ id: string; state: string }>).find((v) => v.id === agentId)?.state, 'revoked');
  });

  it('rotates with a grace period (both keys work) and with none (the old one stops)', async () => {
    const created = await gatehouse('create', '-c', config, '--agent', 'rotating', '--quiet');
    const oldKey = remember(created.stdout);
    const oldId = parseApiKey(oldKey)!.id;

    const t1 = Date.now();
    const r = await gatehouse('rotate', oldId, '-c', config, '--grace', '1h');
    const t2 = Date.now();
    assert.equal(r.code, 0, r.stderr);
    const newKey = remember(r.stdout);
    assert.match(r.stderr, new RegExp(`Rotated ghk_${oldId} to ghk_\\w{12}; the old key keeps working until \\d{4}-`));
    assert.equal((await auth(oldKey)).kind, 'ok');
    assert.equal((await auth(newKey)).kind, 'ok');
    const expires = (await store.getApiKey(oldId))?.expiresAt;
    assert.ok(expires !== undefined);
    assert.ok(Date.parse(expires) >= t1 + 3_600_000 && Date.parse(expires) <= t2 + 3_600_000, expires);

    const r2 = await gatehouse('rotate', `ghk_${parseApiKey(newKey)!.id}`, '-c', config, '--grace', '0', '--json');
    assert.equal(r2.code, 0, r2.stderr);
    const out = JSON.parse(r2.stdout) as { key: string; rotatedFrom: string; previous: { state: string } };
    remember(out.key);
    assert.equal(out.rotatedFrom, parseApiKey(newKey)!.id);
    assert.equal(out.previous.state, 'revoked');
    assert.equal((await auth(newKey)).kind, 'fail');
    assert.equal((await auth(out.key)).kind, 'ok');
  });

  it('refuses bad input with a plain message and exit status 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['create', '-c', config, '--agent', 'ci bot'], /agent "ci bot" contains whitespace/],
      [['create', '-c', config, '--agent', 'a', '--expires', 'soon'], /--expires: "soon" is neither a lifetime/],
      [['create', '-c', config, '--agent', 'a', '--expires', '2001-01-01'], /is not in the future/],
      [['create', '-c', config, '--agent', 'a', '--role', 'x', '--role', 'x'], /role "x" is given twice/],
      [['revoke', 'ghk_ZZZZZZZZZZZZ', '-c', config], /no API key ghk_ZZZZZZZZZZZZ/],
      [['revoke', 'nonsense', '-c', config], /"nonsense" is not an API key id/],
      [['rotate', agentId, '-c', config, '--grace', '5x'], /--grace: "5x" is not a positive duration/],
      [['rotate', agentId, '-c', config], /is revoked: only an active key can be rotated/],
    ];
    for (const [args, pattern] of cases) {
      const r = await gatehouse(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(r.stdout, '');
    }
    const missing = await gatehouse('create', '-c', config);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /--agent/);
  });

  it('never writes a secret into the database files', async () => {
    await store.close();
    const bytes = ['', '-wal', '-shm'].map((s) => `${dbFile}${s}`).filter(existsSync).map((f) => readFileSync(f).toString('latin1'));
    assert.ok(bytes.length >= 1);
    assert.ok(secrets.length >= 10);
    for (const s of secrets) for (const b of bytes) assert.ok(!b.includes(s), 'a secret is in the database file');
    // The ids are there: the check above looks at the right bytes.
    assert.ok(bytes.some((b) => b.includes(agentId)));
  });
});
