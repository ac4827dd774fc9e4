// The policy on the admin plane: GET /v1/policy shows what is in force, POST /v1/policy/explain judges
// a described call against the gateway's current snapshot, and what it says is what the data plane does.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKey } from '../../src/identity/key-service.ts';
import { REPO, startGateway, type TestGateway } from '../harness/gateway.ts';
import { MODERN, parseSse, type RpcMessage } from '../harness/rpc.ts';

const SEED = join(REPO, 'examples/policy-seed');
const demo = (name: string) => ({ name, transport: 'stdio', command: process.execPath, args: [join(SEED, 'servers/demo-server.mjs'), name] });

function config(withPolicy: boolean): Record<string, unknown> {
  return {
    auth: {
      methods: [
        { name: 'keys', type: 'api_key' },
        { name: 'admin-keys', type: 'api_key', kind: 'admin' },
      ],
    },
    gateway: { environment: 'prod', listen: { auth: ['keys'] } },
    admin: { listen: { host: '127.0.0.1', port: 0 }, auth: ['admin-keys'] },
    ...(withPolicy ? { policy: { default: 'deny', files: [join(SEED, 'policies/seed.yaml')] } } : {}),
    upstreams: [
      { ...demo('ops'), toolClasses: { get_logs: 'read_only', restart_service: 'high_risk_write' } },
      { ...demo('k8s'), trusted: true, toolClasses: { 'kubectl_get*': 'read_only', scale_deployment: 'low_risk_write', kubectl_exec: 'high_risk_write' } },
      { ...demo('erp'), toolClasses: { query: 'read_only' } },
    ],
  };
}

const ONCALL = { agent: 'oncall-bot', roles: ['oncall'] };

describe('policy on the admin plane', () => {
  let gw: TestGateway;
  let adminUrl: string;
  let adminKey: string;
  const keys: Record<string, string> = {};

  const admin = async (method: string, path: string, body?: unknown, key = adminKey) => {
    const res = await fetch(`${adminUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const explain = (probe: unknown) => admin('POST', '/v1/policy/explain', probe);

  /** One stateless 2026-07-28 request on the data plane. */
  const data = async (key: string, method: string, params: Record<string, unknown>): Promise<RpcMessage> => {
    const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };
    const name = typeof params.name === 'string' ? { 'mcp-name': params.name } : {};
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${key}`, 'mcp-protocol-version': MODERN, 'mcp-method': method, ...name },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: { ...params, _meta: meta } }),
    });
    const text = await res.text();
    const messages = (res.headers.get('content-type') ?? '').startsWith('text/event-stream') ? parseSse(text) : [JSON.parse(text) as RpcMessage];
    const m = messages.find((x) => x.id === 1);
    assert.ok(m, `an answer to ${method}: ${text}`);
    return m;
  };

  before(async () => {
    gw = await startGateway(config(true));
    adminUrl = gw.running.admin!.url;
    const store = gw.running.gateway.store;
    adminKey = (await createKey(store, { agent: 'ops-admin', kind: 'admin' }, Date.now())).key;
    keys.oncall = (await createKey(store, { agent: 'oncall-bot', roles: ['oncall'] }, Date.now())).key;
    keys.dev = (await createKey(store, { agent: 'dev-assistant', roles: ['developer'] }, Date.now())).key;
  });
  after(() => gw.stop());

  it('GET /v1/policy shows the policy in force, rules in order with where they are written', async () => {
    const r = await admin('GET', '/v1/policy');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.default, 'deny');
    assert.equal(r.body.shadow, false);
    assert.equal(r.body.timezone, 'UTC');
    assert.equal(r.body.environment, 'prod');
    assert.equal(typeof r.body.generation, 'number');
    assert.deepEqual(
      r.body.rules.map((x: { name: string; effect: string }) => [x.name, x.effect]),
      [
        ['oncall-operates-infra', 'allow'],
        ['no-kubectl-exec-in-prod', 'deny'],
        ['prod-infra-writes-need-approval', 'require_approval'],
        ['finance-fiscal-queries', 'allow'],
      ],
    );
    for (const x of r.body.rules) {
      assert.equal(x.shadow, false);
      assert.match(x.where, /policies\/seed\.yaml:\d+$/);
    }
    assert.equal(r.body.lastReload.ok, true);
    assert.equal(r.body.lastReload.error, null);
    assert.ok(!Number.isNaN(Date.parse(r.body.lastReload.at)));
  });

  it('explains a revealed denial, every field present, and the data plane answers the same', async () => {
    const r = await explain({ principal: ONCALL, call: { tool: 'k8s__kubectl_exec', arguments: { pod: 'p', command: ['sh'] } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const e = r.body;
    assert.equal(e.outcome, 'deny');
    assert.equal(e.decision.effect, 'deny');
    assert.equal(e.decision.rule, 'no-kubectl-exec-in-prod');
    assert.match(e.decision.where, /seed\.yaml:\d+$/);
    assert.match(e.decision.message, /kubectl exec is disabled in prod/);
    assert.equal(e.decision.shadow, null, 'absent fields are null, not missing');
    assert.equal(e.listed, true);
    assert.equal(e.enforced, true);
    assert.equal(e.defaultEffect, 'deny');
    assert.deepEqual(e.input.target, { kind: 'tool', name: 'k8s__kubectl_exec', upstream: 'k8s', upstreamName: 'kubectl_exec', class: 'high_risk_write', annotations: null });
    assert.equal(e.input.principal.user, null);
    assert.equal(e.input.environment, 'prod');
    assert.equal(e.rules.length, 4);
    const trace = Object.fromEntries(e.rules.map((x: { rule: string; result: string }) => [x.rule, x.result]));
    assert.deepEqual(trace, { 'oncall-operates-infra': 'matched', 'no-kubectl-exec-in-prod': 'matched', 'prod-infra-writes-need-approval': 'matched', 'finance-fiscal-queries': 'not matched' });

    const called = await data(keys.oncall!, 'tools/call', { name: 'k8s__kubectl_exec', arguments: { pod: 'p', command: ['sh'] } });
    assert.ok(called.error, JSON.stringify(called));
    assert.match(called.error.message, /kubectl exec is disabled in prod/);
  });

  it('explains a hidden target as not listed, and the data plane does not list it', async () => {
    const r = await explain({ principal: { agent: 'dev-assistant', roles: ['developer'] }, call: { tool: 'ops__get_logs' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.outcome, 'hidden');
    assert.equal(r.body.listed, false);
    assert.equal(r.body.decision.rule, null);
    assert.equal(r.body.decision.where, null);
    assert.equal(r.body.decision.reason, 'default');

    const devList = await data(keys.dev!, 'tools/list', {});
    const devTools = (devList.result?.tools as { name: string }[]).map((t) => t.name);
    assert.ok(!devTools.includes('ops__get_logs'), devTools.join(', '));
    const oncallList = await data(keys.oncall!, 'tools/list', {});
    assert.ok((oncallList.result?.tools as { name: string }[]).some((t) => t.name === 'ops__get_logs'));
  });

  it('takes time, environment, arguments and a trusted upstream\'s annotations from the probe', async () => {
    const fin = (time: string, table: string) => explain({ principal: { agent: 'finance-reporting' }, call: { tool: 'erp__query', arguments: { table } }, time });
    assert.equal((await fin('2026-06-15T06:00:00Z', 'fy2026_ledger')).body.outcome, 'allow');
    assert.equal((await fin('2026-06-15T05:59:00Z', 'fy2026_ledger')).body.outcome, 'hidden');
    const wrong = await fin('2026-06-15T12:00:00+02:00', 'hr_salaries');
    assert.equal(wrong.body.outcome, 'deny');
    assert.match(wrong.body.decision.message, /fiscal-year tables/);
    assert.equal(wrong.body.input.time, '2026-06-15T10:00:00.000Z');

    const staging = await explain({ principal: ONCALL, call: { tool: 'k8s__kubectl_exec' }, environment: 'staging' });
    assert.equal(staging.body.outcome, 'allow');
    const annotated = await explain({ principal: ONCALL, call: { tool: 'k8s__kubectl_get', annotations: { readOnlyHint: true } }, client: '10.0.0.7' });
    assert.deepEqual(annotated.body.input.target.annotations, { readOnlyHint: true }, 'k8s is trusted: its annotations count');
    assert.equal(annotated.body.input.client, '10.0.0.7');
    const untrusted = await explain({ principal: ONCALL, call: { tool: 'ops__get_logs', annotations: { readOnlyHint: true } } });
    assert.equal(untrusted.body.input.target.annotations, null, 'ops is not trusted: its annotations are ignored');
  });

  it('refuses bad bodies precisely: unknown fields named, no target, unplaceable names', async () => {
    const unknown = await explain({ principal: ONCALL, call: { tool: 'ops__get_logs' }, colour: 'blue' });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.code, 'invalid_body');
    assert.match(unknown.body.error.message, /colour/);
    const nested = await explain({ principal: { ...ONCALL, shoeSize: 44 }, call: { tool: 'ops__get_logs' } });
    assert.equal(nested.status, 400);
    assert.match(nested.body.error.message, /principal.*shoeSize/);
    const none = await explain({ principal: ONCALL, call: {} });
    assert.equal(none.status, 400);
    assert.match(none.body.error.message, /one of tool, prompt or resource/);
    const badTime = await explain({ principal: ONCALL, call: { tool: 'ops__get_logs' }, time: '2026-06-15 10:00' });
    assert.equal(badTime.status, 400);
    assert.match(badTime.body.error.message, /^time: /);
    const noAgent = await explain({ principal: {}, call: { tool: 'ops__get_logs' } });
    assert.equal(noAgent.status, 400);
    assert.match(noAgent.body.error.message, /principal\.agent/);
    const nowhere = await explain({ principal: ONCALL, call: { tool: 'billing__charge' } });
    assert.equal(nowhere.status, 400);
    assert.equal(nowhere.body.error.code, 'invalid_probe');
    assert.match(nowhere.body.error.message, /billing__charge.*prefix/);
  });

  it('is for admins only: an agent key is refused', async () => {
    const r = await admin('GET', '/v1/policy', undefined, keys.oncall!);
    assert.equal(r.status, 401);
    const e = await admin('POST', '/v1/policy/explain', { principal: ONCALL, call: { tool: 'ops__get_logs' } }, keys.oncall!);
    assert.equal(e.status, 401);
  });

  it('follows reloads: without a policy section both routes say so', async () => {
    gw.rewrite(config(false));
    assert.deepEqual(await gw.running.reload(), { ok: true });
    const shown = await admin('GET', '/v1/policy');
    assert.equal(shown.status, 404);
    assert.equal(shown.body.error.code, 'no_policy');
    const explained = await explain({ principal: ONCALL, call: { tool: 'ops__get_logs' } });
    assert.equal(explained.status, 409);
    assert.match(explained.body.error.message, /no policy section/);

    gw.rewrite(config(true));
    assert.deepEqual(await gw.running.reload(), { ok: true });
    const back = await admin('GET', '/v1/policy');
    assert.equal(back.status, 200);
    assert.equal(back.body.lastReload.generation, back.body.generation);
    assert.ok(back.body.generation >= 3, 'two reloads since the start');
  });
});
