// Shadow mode against a real gateway and server: a whole policy in shadow decides and records every
// call but enforces nothing (lists stay whole); a shadow rule records what it would change while the
// enforced rules decide.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ExchangeRecord } from '../../../src/pipeline/record.ts';
import { startGateway, stdioEverything, type TestGateway } from '../../harness/gateway.ts';
import { listToolNames, modernRequest } from '../../harness/rpc.ts';
import { lastRecord, names } from './helpers.ts';

async function gateway(policy: Record<string, unknown>): Promise<{ gw: TestGateway; records: ExchangeRecord[] }> {
  const gw = await startGateway({ upstreams: [stdioEverything('everything')], policy });
  const records: ExchangeRecord[] = [];
  gw.running.gateway.observers.add({ name: 'shadow-test', onComplete: (r) => void records.push(r) });
  return { gw, records };
}

const policyDecision = (r: ExchangeRecord) => r.decisions.find((d) => d.filter === 'policy');

describe('whole-policy shadow mode', () => {
  let gw: TestGateway;
  let records: ExchangeRecord[];
  before(async () => {
    ({ gw, records } = await gateway({
      shadow: true,
      default: 'deny',
      rules: [{ name: 'no-echo', effect: 'deny', message: 'Echo is going away', when: { tools: ['everything__echo'] } }],
    }));
  });
  after(() => gw?.stop());

  it('lists are not filtered, although the policy would hide everything', async () => {
    const catalog = gw.running.gateway.registry.catalog;
    assert.deepEqual((await listToolNames(gw.url)).sort(), names(catalog.tools));
    const prompts = await modernRequest(gw.url, 'prompts/list');
    assert.deepEqual(names(prompts.response?.result?.prompts), names(catalog.prompts));
    const resources = await modernRequest(gw.url, 'resources/list');
    assert.equal((resources.response?.result?.resources as unknown[]).length, catalog.resources.length);
  });

  it('calls go through in both eras; the record shows the deny, and the decision is marked shadow', async () => {
    const v2 = new Client({ name: 'shadow-v2', version: '1' }, { versionNegotiation: { mode: 'auto' } });
    await v2.connect(new StreamableHTTPClientTransport(new URL(gw.url)));
    const v1 = new V1Client({ name: 'shadow-v1', version: '1' });
    await v1.connect(new V1Transport(new URL(gw.url)));
    try {
      for (const c of [v2, v1]) {
        const r = await c.callTool({ name: 'everything__echo', arguments: { message: 'still works' } });
        assert.deepEqual(r.content, [{ type: 'text', text: 'Echo: still works' }]);
        const rec = lastRecord(records, 'tools/call', 'everything__echo');
        assert.equal(rec.outcome, 'ok');
        assert.equal(rec.error, undefined);
        assert.deepEqual(rec.policy, { effect: 'deny', rule: 'no-echo', reason: 'rule', message: 'Echo is going away', shadow: undefined });
        const d = policyDecision(rec);
        assert.ok(d, 'the policy filter ran');
        assert.equal(d.phase, 'authorize');
        assert.equal(d.kind, 'deny');
        assert.equal(d.shadow, true);
      }
      const sum = await v2.callTool({ name: 'everything__get-sum', arguments: { a: 1, b: 2 } });
      assert.match(JSON.stringify(sum.content), /3/);
      const rec = lastRecord(records, 'tools/call', 'everything__get-sum');
      assert.equal(rec.outcome, 'ok');
      assert.deepEqual(rec.policy, { effect: 'deny', rule: undefined, reason: 'default', message: 'No policy rule allows this call', shadow: undefined });
    } finally {
      await Promise.all([v2.close(), v1.close()]);
    }
  });

  it('prompts and resources too', async () => {
    const p = await modernRequest(gw.url, 'prompts/get', { name: 'everything__simple-prompt' });
    assert.ok(Array.isArray(p.response?.result?.messages), JSON.stringify(p.response));
    assert.equal(lastRecord(records, 'prompts/get', 'everything__simple-prompt').policy?.reason, 'default');
    const uri = 'demo://resource/static/document/architecture.md';
    const r = await modernRequest(gw.url, 'resources/read', { uri });
    assert.ok(Array.isArray(r.response?.result?.contents), JSON.stringify(r.response));
    assert.equal(lastRecord(records, 'resources/read', uri).policy?.effect, 'deny');
  });
});

describe('shadow rules', () => {
  let gw: TestGateway;
  let records: ExchangeRecord[];
  before(async () => {
    ({ gw, records } = await gateway({
      default: 'allow',
      rules: [
        { name: 'would-block-sum', effect: 'deny', shadow: true, message: 'Sums are next', when: { tools: ['everything__get-sum'] } },
        { name: 'block-env', effect: 'deny', when: { tools: ['everything__get-env'] } },
        { name: 'would-allow-env', effect: 'allow', shadow: true, when: { tools: ['everything__get-env'] } },
      ],
    }));
  });
  after(() => gw?.stop());

  it('a shadow deny neither hides nor refuses; the record says what it would have done', async () => {
    const tools = await listToolNames(gw.url);
    assert.ok(tools.includes('everything__get-sum'), 'listed: the shadow deny is not enforced');
    assert.ok(!tools.includes('everything__get-env'), 'the enforced deny hides');
    const r = await modernRequest(gw.url, 'tools/call', { name: 'everything__get-sum', arguments: { a: 2, b: 3 } });
    assert.match(JSON.stringify(r.response?.result?.content), /5/);
    const rec = lastRecord(records, 'tools/call', 'everything__get-sum');
    assert.equal(rec.outcome, 'ok');
    assert.deepEqual(rec.policy, {
      effect: 'allow',
      rule: undefined,
      reason: 'default',
      message: '',
      shadow: { effect: 'deny', rule: 'would-block-sum', reason: 'rule', message: 'Sums are next' },
    });
    const d = policyDecision(rec);
    assert.equal(d?.kind, 'continue');
    assert.equal(d?.shadow, false, 'the policy itself is enforced');
  });

  it('a shadow allow does not let a denied call through, and changes nothing when the enforced deny wins anyway', async () => {
    const r = await modernRequest(gw.url, 'tools/call', { name: 'everything__get-env', arguments: {} });
    assert.equal(r.response?.error?.code, -32602);
    assert.equal(r.response?.error?.message, 'Unknown tool: everything__get-env');
    const rec = lastRecord(records, 'tools/call', 'everything__get-env');
    assert.equal(rec.outcome, 'denied');
    assert.deepEqual(rec.policy, { effect: 'deny', rule: 'block-env', reason: 'rule', message: 'Denied by policy rule "block-env"', shadow: undefined });
    assert.equal(policyDecision(rec)?.kind, 'deny');
  });

  it('calls no shadow rule matches carry no shadow verdict', async () => {
    const r = await modernRequest(gw.url, 'tools/call', { name: 'everything__echo', arguments: { message: 'x' } });
    assert.ok(r.response?.result);
    assert.deepEqual(lastRecord(records, 'tools/call', 'everything__echo').policy, { effect: 'allow', rule: undefined, reason: 'default', message: '', shadow: undefined });
  });
});
