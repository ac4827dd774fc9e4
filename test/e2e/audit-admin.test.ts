// The audit trail on the admin plane, against a real gateway whose agents made real calls to
// server-everything: search and read records (native and OCSF), the trail's status, verification and
// the NDJSON export, which verifies on its own. Bad parameters are 400s naming the parameter.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileVerifySource } from '../../src/audit/export.ts';
import { verifyTrail } from '../../src/audit/verify.ts';
import { createKey } from '../../src/identity/key-service.ts';
import { startGateway, stdioEverything, type TestGateway } from '../harness/gateway.ts';
import { bearer, modernRaw } from './policy/helpers.ts';

function config(audit: Record<string, unknown>): Record<string, unknown> {
  return {
    auth: { methods: [{ name: 'keys', type: 'api_key' }, { name: 'admin-keys', type: 'api_key', kind: 'admin' }] },
    gateway: { listen: { auth: ['keys'] } },
    admin: { listen: { host: '127.0.0.1', port: 0 }, auth: ['admin-keys'] },
    audit,
    policy: { default: 'allow', rules: [{ name: 'no-sums-for-interns', effect: 'deny', reveal: true, when: { agents: ['intern-bot'], tools: ['erp__get-sum'] } }] },
    upstreams: [{ ...stdioEverything('erp'), toolClasses: { echo: 'read_only', 'get-sum': 'high_risk_write' } }],
  };
}

type Json = Record<string, any>;

describe('audit on the admin plane', () => {
  let gw: TestGateway;
  let adminKey: string;
  let agentKey: string;
  let tmp: string;

  const get = async (path: string, key = adminKey): Promise<{ status: number; type: string; body: Json }> => {
    const res = await fetch(`${gw.running.admin!.url}${path}`, { headers: bearer(key) });
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as Json };
  };
  const post = async (path: string, body: unknown): Promise<{ status: number; body: Json }> => {
    const res = await fetch(`${gw.running.admin!.url}${path}`, { method: 'POST', headers: { ...bearer(adminKey), 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Json };
  };

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'gatehouse-audit-admin-'));
    gw = await startGateway(config({ checkpoint: { records: 2 } }));
    const store = gw.running.gateway.store;
    adminKey = (await createKey(store, { agent: 'auditor', kind: 'admin' }, Date.now())).key;
    agentKey = (await createKey(store, { agent: 'finance-bot', user: 'alice', tenant: 'acme' }, Date.now())).key;
    const intern = (await createKey(store, { agent: 'intern-bot', user: 'bob' }, Date.now())).key;
    const call = (key: string, name: string, args: Record<string, unknown>) => modernRaw(gw.url, bearer(key), 'tools/call', { name, arguments: args });
    await call(agentKey, 'erp__echo', { message: 'ledger check' });
    await call(agentKey, 'erp__get-sum', { a: 1, b: 2 });
    assert.ok((await call(intern, 'erp__get-sum', { a: 1, b: 2 })).message?.error);
  });
  after(async () => {
    await gw?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('GET /v1/audit/records: entries with their hash, newest first, filtered', async () => {
    const all = await get('/v1/audit/records?type=exchange');
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.equal(all.body.next, undefined);
    const records = all.body.records as Json[];
    assert.deepEqual(records.map((r) => `${r.principal.agent}:${r.target.name}`), ['intern-bot:erp__get-sum', 'finance-bot:erp__get-sum', 'finance-bot:erp__echo']);
    for (const r of records) {
      assert.match(r.hash, /^[0-9a-f]{64}$/);
      assert.equal(r.v, 1);
      assert.equal(typeof r.seq, 'number');
    }
    const denied = await get('/v1/audit/records?decision=deny&class=high_risk_write&upstream=erp');
    assert.equal(denied.status, 200);
    assert.deepEqual(denied.body.records.map((r: Json) => [r.principal.agent, r.policy.rule, r.outcome]), [['intern-bot', 'no-sums-for-interns', 'denied']]);
    const alice = await get(`/v1/audit/records?user=alice&target=erp__echo&from=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}&to=${new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)}`);
    assert.deepEqual(alice.body.records.map((r: Json) => r.args), [{ message: 'ledger check' }]);
    const text = await get('/v1/audit/records?text=LEDGER&kind=tool&method=tools%2Fcall&outcome=ok&tenant=acme');
    assert.equal(text.body.records.length, 1);
  });

  it('pages with limit and cursor; order=asc reverses', async () => {
    const ids: string[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      const r = await get(`/v1/audit/records?type=exchange&limit=1${next ? `&cursor=${next}` : ''}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      ids.push(...r.body.records.map((x: Json) => x.id));
      next = r.body.next;
      pages++;
    } while (next !== undefined && pages < 10);
    assert.equal(pages, 3);
    assert.equal(new Set(ids).size, 3);
    const asc = await get('/v1/audit/records?type=exchange&order=asc');
    assert.deepEqual(asc.body.records.map((x: Json) => x.id), [...ids].reverse());
  });

  it('format=ocsf gives OCSF API Activity events; GET /v1/audit/records/{id} reads one', async () => {
    const ocsf = await get('/v1/audit/records?agent=intern-bot&format=ocsf');
    assert.equal(ocsf.status, 200);
    const [ev] = ocsf.body.records as Json[];
    assert.equal(ev!.class_uid, 6003);
    const id = ev!.metadata.uid as string;
    const one = await get(`/v1/audit/records/${id}`);
    assert.equal(one.status, 200);
    assert.equal(one.body.record.id, id);
    assert.equal(one.body.record.policy.effect, 'deny');
    assert.equal((await get(`/v1/audit/records/${id}?format=ocsf`)).body.record.class_uid, 6003);
    const missing = await get('/v1/audit/records/0190aaaa-0000-7000-8000-000000000000');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'audit_record_not_found');
  });

  it('GET /v1/audit/status is the running trail\'s status', async () => {
    const r = await get('/v1/audit/status');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.chain, gw.running.gateway.audit!.chain);
    assert.equal(r.body.accepting, true);
    assert.ok(r.body.committer.seq >= 3);
  });

  it('POST /v1/audit/verify verifies every chain (or those named)', async () => {
    const r = await post('/v1/audit/verify', {});
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.ok, true);
    assert.equal(r.body.chains.length, 1);
    assert.ok(r.body.chains[0].checkpoints >= 1);
    const named = await post('/v1/audit/verify', { chains: ['no-such-chain'] });
    assert.equal(named.status, 200);
    assert.equal(named.body.ok, false);
    assert.equal(named.body.chains[0].break.kind, 'no_such_chain');
    const bad = await post('/v1/audit/verify', { chains: 'all' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /^chains: /);
  });

  it('GET /v1/audit/export streams NDJSON that verifies on its own', async () => {
    const res = await fetch(`${gw.running.admin!.url}/v1/audit/export`, { headers: bearer(adminKey) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    const text = await res.text();
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Json);
    assert.equal(lines[0]!.gatehouse, 'audit-export');
    assert.ok(lines.filter((l) => l.entry !== undefined).length >= 3);
    const file = join(tmp, 'export.jsonl');
    writeFileSync(file, text);
    const report = await verifyTrail(fileVerifySource(file));
    assert.equal(report.ok, true, JSON.stringify(report));
    const chain = gw.running.gateway.audit!.chain;
    const one = await fetch(`${gw.running.admin!.url}/v1/audit/export?chain=${chain}`, { headers: bearer(adminKey) });
    assert.equal(one.status, 200);
    assert.ok((await one.text()).includes(`"chain":"${chain}"`));
  });

  it('refuses bad parameters with 400 naming the parameter and what it expects', async () => {
    const cases: [string, RegExp][] = [
      ['/v1/audit/records?from=yesterday', /^from: "yesterday" is not an ISO 8601 date or time/],
      ['/v1/audit/records?to=2026-11-01T10:00', /^to: "2026-11-01T10:00" has no time zone/],
      ['/v1/audit/records?from=2026-12-01&to=2026-11-01', /^from: .* is not before to /],
      ['/v1/audit/records?agnt=x', /^agnt: is not a parameter of this route \(known: from, to, /],
      ['/v1/audit/records?agent=a&agent=b', /^agent: is given more than once$/],
      ['/v1/audit/records?limit=0', /^limit: "0" is not a whole number from 1 to 1000$/],
      ['/v1/audit/records?limit=ten', /^limit: "ten" is not a whole number/],
      ['/v1/audit/records?decision=maybe', /^decision: "maybe" is not one of allow, deny, require_approval, none$/],
      ['/v1/audit/records?order=sideways', /^order: "sideways" is not one of desc, asc$/],
      ['/v1/audit/records?cursor=junk', /^cursor: "junk" is not a cursor an audit search returned/],
      ['/v1/audit/records?agent=', /^agent: must not be empty$/],
      ['/v1/audit/records?format=xml', /^format: "xml" is not one of native, ocsf$/],
      ['/v1/audit/records/x?limit=1', /^limit: is not a parameter of this route \(known: format\)$/],
      ['/v1/audit/export?since=1h', /^since: is not a parameter of this route \(known: chain/],
    ];
    for (const [path, message] of cases) {
      const r = await get(path);
      assert.equal(r.status, 400, `${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, 'invalid_query', path);
      assert.match(r.body.error.message, message, path);
    }
  });

  it('needs an admin credential', async () => {
    const none = await fetch(`${gw.running.admin!.url}/v1/audit/records`);
    assert.equal(none.status, 401);
    await none.text();
    const agent = await get('/v1/audit/records', agentKey);
    assert.equal(agent.status, 401, 'an agent key is no admin key');
  });

  it('every admin request is itself an entry (who, which action, what status), refusals included', async () => {
    assert.equal((await get('/v1/audit/status')).status, 200);
    const refused = await fetch(`${gw.running.admin!.url}/v1/audit/status`, { headers: bearer('ghk_bogus_key') });
    assert.equal(refused.status, 401);
    await refused.text();
    const admin = (await get('/v1/audit/records?type=admin&limit=1000')).body.records as Json[];
    const status = admin.find((e) => e.admin?.action === 'audit.status' && e.admin?.status === 200);
    assert.ok(status, 'the status request is recorded');
    assert.equal(status.principal.agent, 'auditor');
    assert.equal(status.outcome, 'ok');
    const denied = admin.find((e) => e.admin?.action === 'authenticate' && e.admin?.status === 401);
    assert.ok(denied, 'the refused request is recorded');
    assert.equal(denied.outcome, 'denied');
  });

  it('with audit disabled, status says so clearly; stored records stay searchable', async () => {
    await using off = await startGateway({ ...config({ enabled: false }), upstreams: [] });
    const key = (await createKey(off.running.gateway.store, { agent: 'auditor', kind: 'admin' }, Date.now())).key;
    const status = await fetch(`${off.running.admin!.url}/v1/audit/status`, { headers: bearer(key) });
    assert.equal(status.status, 404);
    const body = (await status.json()) as Json;
    assert.equal(body.error.code, 'audit_disabled');
    assert.match(body.error.message, /audit\.enabled: false/);
    const records = await fetch(`${off.running.admin!.url}/v1/audit/records`, { headers: bearer(key) });
    assert.equal(records.status, 200);
    assert.deepEqual(((await records.json()) as Json).records, []);
  });
});
