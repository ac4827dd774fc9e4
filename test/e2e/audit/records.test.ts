// Every kind of exchange leaves exactly one audit entry, written before the agent got its answer:
// the store is read the moment each answer arrives, without waiting. Real gateway, real fixture
// server over stdio, raw 2026-07-28 HTTP and the SDK's 2025-era client.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { AuditEntry } from '../../../src/audit/entry.ts';
import { storeVerifySource, verifyTrail } from '../../../src/audit/verify.ts';
import { MODERN_FIXTURE, startGateway, type TestGateway } from '../../harness/gateway.ts';
import { waitFor } from '../../harness/pids.ts';
import { modernRequest } from '../../harness/rpc.ts';

const fixture = (name: string, extra: Record<string, unknown> = {}) => ({ name, transport: 'stdio', command: process.execPath, args: [MODERN_FIXTURE, 'stdio'], ...extra });

describe('audit: one durable entry per exchange', () => {
  let gw: TestGateway;
  const count = async () => (await gw.running.gateway.store.auditChains()).reduce((n, c) => n + c.count, 0);
  const last = async (): Promise<AuditEntry> => {
    const page = await gw.running.gateway.store.searchAudit({ limit: 1 });
    return JSON.parse(page.rows[0]!.text) as AuditEntry;
  };
  /** Runs one request and returns the single entry it added (read right after the answer). */
  async function one(send: () => Promise<unknown>): Promise<AuditEntry> {
    const before = await count();
    await send();
    assert.equal(await count(), before + 1, 'exactly one entry, present when the answer arrived');
    return last();
  }

  before(async () => {
    gw = await startGateway({
      gateway: { name: 'audit-test' },
      upstreams: [fixture('fx'), fixture('tight', { timeoutMs: 300 })],
      policy: {
        default: 'allow',
        rules: [
          { name: 'no-add', effect: 'deny', when: { tools: ['fx__add'] }, message: 'adding is not allowed' },
          { name: 'approve-annotated', effect: 'require_approval', when: { tools: ['fx__annotated'] } },
        ],
      },
      audit: { redact: { rules: [{ tools: ['fx__echo'], paths: ['$.message'] }] } },
    });
  });
  after(() => gw.stop());

  it('an allowed call: principal, target, redacted arguments with a digest, decision, result summary, trace id', async () => {
    const trace = randomBytes(16).toString('hex');
    const e = await one(() => modernRequest(gw.url, 'tools/call', { name: 'fx__echo', arguments: { message: 'secret text', other: 1 }, _meta: { traceparent: `00-${trace}-${'ab'.repeat(8)}-01` } }));
    assert.equal(e.type, 'exchange');
    assert.equal(e.chain, 'audit-test');
    assert.equal(e.method, 'tools/call');
    assert.equal(e.outcome, 'ok');
    assert.equal(e.principal?.agent, 'test-agent');
    assert.equal(e.target?.upstream, 'fx');
    assert.equal(e.target?.name, 'fx__echo');
    assert.equal(e.target?.upstreamName, 'echo');
    assert.match(e.target?.definitionHash ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(e.args, { message: '[redacted]', other: 1 });
    assert.match(e.argsDigest ?? '', /^hmac-sha256:[^:]+:[0-9a-f]{64}$/);
    assert.equal(e.traceId, trace);
    assert.equal(e.policy?.effect, 'allow');
    assert.equal(e.policy?.reason, 'default');
    assert.deepEqual(e.result?.contentTypes, ['text']);
    assert.ok((e.result?.size ?? 0) > 0);
    assert.ok((e.bytesIn ?? 0) > 0 && (e.bytesOut ?? 0) > 0);
    assert.equal(typeof e.durationMs, 'number');
    assert.doesNotMatch(JSON.stringify(e), /secret text/);
  });

  it('a denied call names the deciding rule', async () => {
    const e = await one(() => modernRequest(gw.url, 'tools/call', { name: 'fx__add', arguments: { a: 1, b: 2 } }));
    assert.equal(e.outcome, 'denied');
    assert.equal(e.policy?.effect, 'deny');
    assert.equal(e.policy?.rule, 'no-add');
    // A target the caller may not use is hidden: the agent got "unknown tool"; the trail knows better.
    assert.equal(e.error?.code, -32602);
  });

  it('a call awaiting approval is recorded as such', async () => {
    const e = await one(() => modernRequest(gw.url, 'tools/call', { name: 'fx__annotated', arguments: {} }));
    assert.equal(e.policy?.effect, 'require_approval');
    assert.equal(e.policy?.rule, 'approve-annotated');
    assert.equal(e.error?.code, -31101);
  });

  it('a failed call (the upstream refuses the arguments)', async () => {
    const e = await one(() => modernRequest(gw.url, 'tools/call', { name: 'fx__slow', arguments: { ms: 'soon' } }));
    assert.ok(e.outcome === 'upstream_error' || e.result?.isError === true, `failed: ${JSON.stringify(e)}`);
  });

  it('an unknown tool', async () => {
    const e = await one(() => modernRequest(gw.url, 'tools/call', { name: 'fx__nope', arguments: {} }));
    assert.equal(e.outcome, 'error');
    assert.equal(e.error?.code, -32602);
  });

  it('a timed-out call', async () => {
    const e = await one(() => modernRequest(gw.url, 'tools/call', { name: 'tight__never', arguments: {} }));
    assert.equal(e.outcome, 'timeout');
    assert.equal(e.target?.upstream, 'tight');
  });

  it('a cancelled call (the agent closes the stream)', async () => {
    const before = await count();
    const ac = new AbortController();
    const call = modernRequest(gw.url, 'tools/call', { name: 'fx__never', arguments: {} }, { signal: ac.signal });
    call.catch(() => undefined);
    // The call is in flight once the upstream saw it; abort then.
    await new Promise((r) => setTimeout(r, 300));
    ac.abort();
    await assert.rejects(call);
    await waitFor(async () => (await count()) === before + 1, 'the cancelled exchange to be recorded');
    const e = await last();
    assert.equal(e.outcome, 'cancelled');
    assert.equal(e.target?.name, 'fx__never');
  });

  it('a malformed body', async () => {
    const e = await one(async () => {
      const res = await request(gw.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{"jsonrpc":"2.0",' });
      assert.equal(res.statusCode, 400);
      await res.body.text();
    });
    assert.equal(e.outcome, 'malformed');
    assert.equal(e.error?.code, -32700);
  });

  it('2025-era session traffic: initialize, list and call each leave one entry with the session id', async () => {
    const before = await count();
    const client = new V1Client({ name: 'v1-audit', version: '1.0.0' });
    const transport = new V1Transport(new URL(gw.url));
    await client.connect(transport);
    const listed = await client.listTools();
    assert.ok(listed.tools.length > 0);
    await client.callTool({ name: 'fx__echo', arguments: { message: 'hi' } });
    const sid = transport.sessionId;
    await client.close();
    await waitFor(async () => (await count()) >= before + 3, 'the session exchanges');
    const rows = (await gw.running.gateway.store.searchAudit({ session: sid!, order: 'asc' })).rows.map((r) => JSON.parse(r.text) as AuditEntry);
    const methods = rows.map((r) => r.method);
    for (const m of ['initialize', 'tools/list', 'tools/call']) assert.equal(methods.filter((x) => x === m).length, 1, `${m} in ${methods.join(', ')}`);
    assert.ok(rows.every((r) => r.session === sid && r.era === 'legacy'));
  });

  it('the whole trail verifies, with a signed checkpoint after close', async () => {
    const report = await verifyTrail(storeVerifySource(gw.running.gateway.store));
    assert.equal(report.ok, true, JSON.stringify(report));
  });
});
