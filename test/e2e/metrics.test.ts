// Prometheus metrics on the admin listener, scraped after a scripted set of exchanges through a real
// gateway in front of a real stdio MCP server: allowed calls, a denial by a policy rule, a refusal by
// a limit, unknown tool names, an upstream error. Counts and labels are checked exactly.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MODERN_FIXTURE, newAdminKey, startGateway, withAdminPlane, type TestGateway } from '../harness/gateway.ts';
import { modernRequest } from '../harness/rpc.ts';
import { parseExposition, select, sumOf, valueOf, type Exposition } from '../observe/metrics/exposition.ts';
import { legacySession } from './policy/helpers.ts';

function config(metrics: Record<string, unknown> = {}): Record<string, unknown> {
  return withAdminPlane({
    telemetry: { metrics },
    policy: { default: 'allow', rules: [{ name: 'no-add', effect: 'deny', reveal: true, when: { tools: ['fx__add'] } }] },
    // Two tokens and practically no refill: the third echo is refused whatever the machine's speed.
    traffic: { limits: [{ name: 'echo-burst', match: { tools: ['fx__echo'] }, rate: { tokens: 1, per: '1h', burst: 2 } }] },
    upstreams: [{ name: 'fx', transport: 'stdio', command: process.execPath, args: [MODERN_FIXTURE, 'stdio'] }],
  });
}

describe('Prometheus metrics on the admin listener', () => {
  let gw: TestGateway;
  let adminKey: string;

  const scrape = async (path = '/metrics', key: string | null = adminKey, method = 'GET') => {
    const res = await fetch(`${gw.running.admin!.url}${path}`, { method, headers: key === null ? {} : { authorization: `Bearer ${key}` } });
    const text = await res.text();
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, e: res.status === 200 ? parseExposition(text) : undefined };
  };
  const metricsReads = async () => {
    const res = await fetch(`${gw.running.admin!.url}/v1/audit/records?type=admin&limit=500`, { headers: { authorization: `Bearer ${adminKey}` } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { records: { admin?: { action: string } }[] };
    return body.records.filter((r) => r.admin?.action === 'metrics.read').length;
  };
  const call = (name: string, args?: Record<string, unknown>) => modernRequest(gw.url, 'tools/call', args === undefined ? { name } : { name, arguments: args });
  const errorName = (r: Awaited<ReturnType<typeof call>>) => (r.response?.error === undefined ? 'ok' : String((r.response.error.data as { gatehouse?: { error?: string } } | undefined)?.gatehouse?.error ?? 'upstream'));

  before(async () => {
    gw = await startGateway(config());
    adminKey = await newAdminKey(gw);
  });
  after(() => gw?.stop());

  it('counts a scripted set of exchanges with exact labels', async () => {
    const outcomes = [
      errorName(await call('fx__echo', { message: 'a' })),
      errorName(await call('fx__echo', { message: 'b' })),
      errorName(await call('fx__echo', { message: 'c' })),
      errorName(await call('fx__add', { a: 1, b: 2 })),
      errorName(await call('fx__nope', {})),
      errorName(await call('garbage "quoted" {name}', {})),
      errorName(await modernRequest(gw.url, 'prompts/get', { name: 'fx__greet', arguments: {} })),
      errorName(await modernRequest(gw.url, 'tools/list')),
    ];
    assert.deepEqual(outcomes, ['ok', 'ok', 'rate_limited', 'denied', 'unknown_tool', 'unknown_tool', 'upstream', 'ok']);

    const r = await scrape();
    assert.equal(r.status, 200, r.text);
    assert.equal(r.contentType, 'text/plain; version=0.0.4; charset=utf-8');
    const e = r.e!;
    const requests = (labels: Record<string, string>) => valueOf(e, 'gatehouse_requests_total', labels);
    assert.equal(requests({ method: 'tools/call', upstream: 'fx', tool: 'fx__echo', decision: 'allow', outcome: 'ok' }), 2);
    assert.equal(requests({ method: 'tools/call', upstream: 'fx', tool: 'fx__echo', decision: 'allow', outcome: 'denied' }), 1, 'refused by the limit after policy allowed it');
    assert.equal(requests({ method: 'tools/call', upstream: 'fx', tool: 'fx__add', decision: 'deny', outcome: 'denied' }), 1);
    assert.equal(requests({ method: 'tools/call', upstream: '', tool: '_other', decision: 'none', outcome: 'error' }), 2, 'unknown names fold into _other');
    assert.equal(requests({ method: 'prompts/get', upstream: 'fx', tool: '', decision: 'allow', outcome: 'upstream_error' }), 1);
    assert.equal(requests({ method: 'tools/list', upstream: '', tool: '', decision: 'none', outcome: 'ok' }), 1);
    assert.equal(sumOf(e, 'gatehouse_requests_total'), 8);
    assert.deepEqual([...new Set(select(e, 'gatehouse_requests_total').map((s) => s.labels.tool))].sort(), ['', '_other', 'fx__add', 'fx__echo']);
    assert.equal(r.text.includes('garbage'), false, 'no label carries what an agent made up');

    assert.equal(valueOf(e, 'gatehouse_policy_denials_total', { rule: 'no-add', effect: 'deny', reason: 'rule' }), 1);
    assert.equal(sumOf(e, 'gatehouse_policy_denials_total'), 1);
    assert.equal(valueOf(e, 'gatehouse_limit_refusals_total', { limit: 'echo-burst', reason: 'rate' }), 1);
    assert.equal(valueOf(e, 'gatehouse_limit_refusals_total', { limit: 'echo-burst', reason: 'quota' }), 0);
    assert.equal(valueOf(e, 'gatehouse_limit_admitted_total', { limit: 'echo-burst' }), 2);
    assert.equal(valueOf(e, 'gatehouse_gateway_errors_total', { error: 'rate_limited' }), 1);
    assert.equal(valueOf(e, 'gatehouse_gateway_errors_total', { error: 'denied' }), 1);
    assert.equal(valueOf(e, 'gatehouse_gateway_errors_total', { error: 'unknown_tool' }), 2);
    assert.equal(sumOf(e, 'gatehouse_gateway_errors_total'), 4);
    assert.equal(valueOf(e, 'gatehouse_agent_calls_total', { agent: 'test-agent' }), 8);

    assert.equal(valueOf(e, 'gatehouse_request_duration_seconds_count', { method: 'tools/call', outcome: 'ok' }), 2);
    assert.equal(valueOf(e, 'gatehouse_request_duration_seconds_bucket', { method: 'tools/call', outcome: 'ok', le: '+Inf' }), 2);
    assert.equal(valueOf(e, 'gatehouse_upstream_duration_seconds_count', { upstream: 'fx', method: 'tools/call' }), 2, 'only the calls that reached the server');
    assert.equal(valueOf(e, 'gatehouse_upstream_duration_seconds_count', { upstream: 'fx', method: 'prompts/get' }), 1);
    assert.equal(valueOf(e, 'gatehouse_gateway_overhead_seconds_count', { method: 'tools/call' }), 2);
    const whole = valueOf(e, 'gatehouse_request_duration_seconds_sum', { method: 'tools/call', outcome: 'ok' })!;
    const upstream = valueOf(e, 'gatehouse_upstream_duration_seconds_sum', { upstream: 'fx', method: 'tools/call' })!;
    const overhead = valueOf(e, 'gatehouse_gateway_overhead_seconds_sum', { method: 'tools/call' })!;
    assert.ok(Math.abs(whole - upstream - overhead) < 1e-9, 'overhead is the exchange minus its upstream part');

    assert.equal(valueOf(e, 'gatehouse_upstream_up', { upstream: 'fx', replica: 'fx' }), 1);
    assert.equal(valueOf(e, 'gatehouse_upstream_calls_total', { upstream: 'fx', replica: 'fx' }), 3);
    assert.equal(valueOf(e, 'gatehouse_upstream_restarts_total', { upstream: 'fx', replica: 'fx' }), 0);
    assert.equal(valueOf(e, 'gatehouse_stdio_processes'), 1);
    assert.equal(valueOf(e, 'gatehouse_upstream_breaker_state', { upstream: 'fx' }), 0);
    assert.equal(valueOf(e, 'gatehouse_config_generation'), 1);
    assert.equal(valueOf(e, 'gatehouse_config_last_reload_success'), 1);
    assert.equal(valueOf(e, 'gatehouse_limit_counters_up', { kind: 'memory' }), 1);
    assert.equal(valueOf(e, 'gatehouse_audit_accepting'), 1);
    assert.equal(valueOf(e, 'gatehouse_audit_dropped_total'), 0);
    assert.ok(valueOf(e, 'gatehouse_audit_committed_total')! >= 8, 'every exchange is durable before its answer');
    assert.equal(valueOf(e, 'gatehouse_observer_failures_total'), 0);
    assert.ok(e.samples.some((s) => s.name === 'gatehouse_process_resident_memory_bytes'));
  });

  it('asks for admin credentials by default, and audits each authenticated scrape', async () => {
    assert.equal((await scrape('/metrics', null)).status, 401);
    assert.equal((await scrape('/metrics', 'ghk_not-a-key')).status, 401);
    assert.equal((await scrape('/metrics', adminKey, 'POST')).status, 405);
    const reads = await metricsReads();
    assert.equal((await scrape()).status, 200);
    assert.equal(await metricsReads(), reads + 1);
  });

  it('counts an open 2025-era session', async () => {
    const s = await legacySession(gw.url, {});
    assert.equal(valueOf((await scrape()).e!, 'gatehouse_sessions_open', { transport: 'streamable_http' }), 1);
    await s.close();
    assert.equal(valueOf((await scrape()).e!, 'gatehouse_sessions_open', { transport: 'streamable_http' }), 0);
  });

  it('follows reloads: public path without credentials or audit entries, the generation, a rejected reload', async () => {
    gw.rewrite(config({ public: true, path: '/prom' }));
    assert.deepEqual(await gw.running.reload(), { ok: true });
    const reads = await metricsReads();
    const pub = await scrape('/prom', null);
    assert.equal(pub.status, 200, pub.text);
    const e: Exposition = pub.e!;
    assert.equal(valueOf(e, 'gatehouse_config_generation'), 2);
    assert.equal(valueOf(e, 'gatehouse_config_last_reload_success'), 1);
    assert.ok(valueOf(e, 'gatehouse_agent_calls_total', { agent: 'test-agent' })! >= 8, 'counts survive the reload');
    assert.equal((await scrape('/prom', null, 'POST')).status, 405);
    assert.equal(await metricsReads(), reads, 'public scrapes leave no audit entry');
    assert.equal((await scrape('/metrics')).status, 404, 'the old path is gone');
    assert.equal((await scrape('/v1/traffic', null)).status, 401, 'public covers the metrics path only');

    gw.rewrite('version: 1\nnot_a_section: true\n');
    const bad = await gw.running.reload();
    assert.equal(bad.ok, false);
    const rejected = (await scrape('/prom', null)).e!;
    assert.equal(valueOf(rejected, 'gatehouse_config_generation'), 2, 'the previous configuration keeps serving');
    assert.equal(valueOf(rejected, 'gatehouse_config_last_reload_success'), 0);

    gw.rewrite(config({ enabled: false }));
    assert.deepEqual(await gw.running.reload(), { ok: true });
    assert.equal((await scrape('/metrics')).status, 404, 'metrics turned off are not served');
  });
});
