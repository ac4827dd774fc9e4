import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Gateway } from '../../../src/core/gateway.ts';
import { GatewayMetrics } from '../../../src/observe/metrics/gateway-metrics.ts';
import { OTHER } from '../../../src/observe/metrics/series.ts';
import { parseExposition, sumOf, valueOf } from './exposition.ts';
import { bareGateway, record, snapshotOf } from './support.ts';

const agent = (name: string) => ({ id: `anon::${name}:`, authMethod: 'anonymous' as const, authSource: 'anon', agent: name, roles: [], groups: [], scopes: [] });

describe('gateway metrics', () => {
  const gateways: Gateway[] = [];
  const make = (config: Record<string, unknown> = {}) => {
    const gw = bareGateway(config);
    gateways.push(gw);
    gw.metrics = new GatewayMetrics(gw);
    return { gw, metrics: gw.metrics, scrape: async () => parseExposition(await gw.metrics!.render()) };
  };
  after(async () => {
    for (const gw of gateways) {
      gw.metrics?.close();
      await gw.close();
    }
  });

  it('counts records by their bounded labels, with histograms of the whole and the upstream part', async () => {
    const { gw, scrape } = make();
    gw.observers.emit(record());
    gw.observers.emit(record({ durationMs: 1500, upstreamMs: 1400 }));
    gw.observers.emit(record({ method: 'tools/call', target: undefined, outcome: 'error', upstreamMs: undefined, policy: undefined, decisions: [], error: { code: -32602, message: 'Unknown tool', source: 'gateway', name: 'unknown_tool' } }));
    gw.observers.emit(record({ method: 'no/such\nmethod', target: undefined, outcome: 'error', upstreamMs: undefined, policy: undefined, decisions: [], error: { code: -32601, message: 'x', source: 'gateway', name: 'method_not_found' } }));
    gw.observers.emit(record({ method: 'prompts/get', target: { kind: 'prompt', upstream: 'fx', name: 'fx__greet' }, outcome: 'upstream_error', error: { code: -32602, message: 'bad', source: 'upstream' } }));
    const e = await scrape();
    assert.equal(e.types.get('gatehouse_requests_total'), 'counter');
    assert.equal(e.types.get('gatehouse_request_duration_seconds'), 'histogram');
    // The bare gateway has no upstreams: its catalog is empty, so even fx__echo is outside it.
    assert.equal(valueOf(e, 'gatehouse_requests_total', { method: 'tools/call', upstream: 'fx', tool: OTHER, decision: 'allow', outcome: 'ok' }), 2);
    assert.equal(valueOf(e, 'gatehouse_requests_total', { method: 'tools/call', upstream: '', tool: OTHER, decision: 'none', outcome: 'error' }), 1);
    assert.equal(valueOf(e, 'gatehouse_requests_total', { method: OTHER, upstream: '', tool: '', decision: 'none', outcome: 'error' }), 1);
    assert.equal(valueOf(e, 'gatehouse_requests_total', { method: 'prompts/get', upstream: 'fx', tool: '', decision: 'allow', outcome: 'upstream_error' }), 1);
    assert.equal(valueOf(e, 'gatehouse_request_duration_seconds_count', { method: 'tools/call', outcome: 'ok' }), 2);
    assert.equal(valueOf(e, 'gatehouse_request_duration_seconds_bucket', { method: 'tools/call', outcome: 'ok', le: '0.005' }), 1);
    assert.equal(valueOf(e, 'gatehouse_request_duration_seconds_bucket', { method: 'tools/call', outcome: 'ok', le: '2.5' }), 2);
    assert.equal(valueOf(e, 'gatehouse_request_duration_seconds_sum', { method: 'tools/call', outcome: 'ok' }), 1.503);
    assert.equal(valueOf(e, 'gatehouse_upstream_duration_seconds_count', { upstream: 'fx', method: 'tools/call' }), 2);
    assert.equal(valueOf(e, 'gatehouse_gateway_overhead_seconds_count', { method: 'tools/call' }), 2);
    assert.equal(valueOf(e, 'gatehouse_gateway_overhead_seconds_bucket', { method: 'tools/call', le: '0.001' }), 1);
    assert.equal(valueOf(e, 'gatehouse_gateway_overhead_seconds_bucket', { method: 'tools/call', le: '0.1' }), 2);
    assert.equal(valueOf(e, 'gatehouse_gateway_errors_total', { error: 'unknown_tool' }), 1);
    assert.equal(valueOf(e, 'gatehouse_gateway_errors_total', { error: 'method_not_found' }), 1);
    assert.equal(sumOf(e, 'gatehouse_gateway_errors_total'), 2, 'upstream errors are not the gateway\'s');
    assert.equal(valueOf(e, 'gatehouse_agent_calls_total', { agent: 'test-agent' }), 5);
    assert.equal(valueOf(e, 'gatehouse_exchange_bytes_total', { direction: 'in' }), 500);
    assert.equal(valueOf(e, 'gatehouse_exchange_bytes_total', { direction: 'out' }), 1000);
  });

  it('counts enforced denials by rule and shadow verdicts apart', async () => {
    const { gw, scrape } = make();
    const deny = { filter: 'policy', phase: 'authorize' as const, kind: 'deny' as const, shadow: false, micros: 1 };
    gw.observers.emit(record({ outcome: 'denied', upstreamMs: undefined, decisions: [deny], policy: { effect: 'deny', rule: 'no-add', reason: 'rule', message: 'm', shadow: undefined } }));
    gw.observers.emit(record({ outcome: 'denied', upstreamMs: undefined, decisions: [deny], policy: { effect: 'deny', rule: undefined, reason: 'default', message: 'm', shadow: undefined } }));
    gw.observers.emit(record({ policy: { effect: 'allow', rule: 'reads', reason: 'rule', message: '', shadow: { effect: 'deny', rule: 'trial', reason: 'rule', message: 'm' } } }));
    const e = await scrape();
    assert.equal(valueOf(e, 'gatehouse_policy_denials_total', { rule: 'no-add', effect: 'deny', reason: 'rule' }), 1);
    assert.equal(valueOf(e, 'gatehouse_policy_denials_total', { rule: '(default)', effect: 'deny', reason: 'default' }), 1);
    assert.equal(valueOf(e, 'gatehouse_policy_shadow_denials_total', { rule: 'trial', effect: 'deny' }), 1);
    assert.equal(valueOf(e, 'gatehouse_requests_total', { method: 'tools/call', upstream: 'fx', tool: OTHER, decision: 'deny', outcome: 'denied' }), 2);
  });

  it('gives telemetry.metrics.maxAgents agents their own label', async () => {
    const { gw, scrape } = make({ telemetry: { metrics: { maxAgents: 2 } } });
    for (const name of ['a', 'b', 'c', 'd', 'a']) gw.observers.emit(record({ principal: agent(name) }));
    const e = await scrape();
    assert.equal(valueOf(e, 'gatehouse_agent_calls_total', { agent: 'a' }), 2);
    assert.equal(valueOf(e, 'gatehouse_agent_calls_total', { agent: 'b' }), 1);
    assert.equal(valueOf(e, 'gatehouse_agent_calls_total', { agent: OTHER }), 2);
    assert.equal(valueOf(e, 'gatehouse_agent_calls_total', { agent: 'c' }), undefined);
  });

  it('follows telemetry.metrics.enabled across reloads, and shows the generation and the last reload', async () => {
    const { gw, metrics, scrape } = make();
    gw.observers.emit(record());
    await gw.reconfigure(snapshotOf({ telemetry: { metrics: { enabled: false } } }));
    assert.equal(metrics.enabled, false);
    gw.observers.emit(record());
    await gw.reconfigure(snapshotOf());
    gw.observers.emit(record());
    let e = await scrape();
    assert.equal(sumOf(e, 'gatehouse_requests_total'), 2, 'the call made while metrics were off is not counted');
    assert.equal(valueOf(e, 'gatehouse_config_generation'), 3);
    assert.equal(valueOf(e, 'gatehouse_config_last_reload_success'), 1);
    const before = valueOf(e, 'gatehouse_config_last_reload_timestamp_seconds')!;
    assert.ok(Math.abs(before - Date.now() / 1000) < 3600, 'a Unix time in seconds');

    const r = await gw.snapshots.reloadFrom(async () => {
      throw new Error('bad config');
    });
    assert.equal(r.ok, false);
    e = await scrape();
    assert.equal(valueOf(e, 'gatehouse_config_generation'), 3);
    assert.equal(valueOf(e, 'gatehouse_config_last_reload_success'), 0);
  });

  it('reads state at scrape time: sessions, in flight, observers; no audit series without an audit trail', async () => {
    const { gw, metrics, scrape } = make();
    gw.observers.add({ name: 'broken', onComplete: () => { throw new Error('boom'); } });
    gw.observers.emit(record());
    gw.begin();
    metrics.sessions = { values: () => [{}, { singleChannel: true }, {}] };
    const e = await scrape();
    gw.end();
    assert.equal(valueOf(e, 'gatehouse_sessions_open', { transport: 'streamable_http' }), 2);
    assert.equal(valueOf(e, 'gatehouse_sessions_open', { transport: 'legacy_sse' }), 1);
    assert.equal(valueOf(e, 'gatehouse_exchanges_in_flight'), 1);
    assert.equal(valueOf(e, 'gatehouse_observer_failures_total'), 1);
    assert.equal(valueOf(e, 'gatehouse_limit_counters_up', { kind: 'memory' }), 1);
    assert.equal(valueOf(e, 'gatehouse_stdio_processes'), 0);
    assert.equal(valueOf(e, 'gatehouse_cache_entries'), 0);
    assert.equal(e.samples.some((s) => s.name.startsWith('gatehouse_audit_')), false);
    assert.ok(e.samples.some((s) => s.name === 'gatehouse_process_cpu_user_seconds_total'), 'default process metrics, prefixed');
    assert.ok(e.samples.some((s) => s.name === 'gatehouse_nodejs_heap_size_used_bytes'));
  });

  it('a collector that fails is counted and logged; the other groups are still served', async () => {
    const { gw, scrape } = make();
    gw.limits.stats = () => {
      throw new Error('stats broke');
    };
    const e = await scrape();
    assert.equal(valueOf(e, 'gatehouse_metrics_collect_failures_total', { collector: 'traffic' }), 1);
    assert.equal(valueOf(e, 'gatehouse_config_generation'), 1);
  });

  it('keeps two gateways in one process apart', async () => {
    const one = make();
    const two = make();
    one.gw.observers.emit(record());
    assert.equal(sumOf(await one.scrape(), 'gatehouse_requests_total'), 1);
    assert.equal(sumOf(await two.scrape(), 'gatehouse_requests_total'), 0);
  });
});
