// The harness's pure parts: statistics, response parsing, and the config it hands the gateway.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configSchema } from '../src/config/schema/root.ts';
import { gatewayConfig } from './gateway.ts';
import { parseResponseBody } from './load.ts';
import { formatTable, median, percentile, summarise } from './report.ts';
import type { Sample } from './report.ts';

describe('bench statistics', () => {
  it('takes nearest-rank percentiles without reordering the input', () => {
    const v = Float64Array.from([5, 1, 4, 2, 3]);
    assert.equal(percentile(v, 50), 3);
    assert.equal(percentile(v, 99), 5);
    assert.equal(percentile(v, 0), 1);
    assert.deepEqual([...v], [5, 1, 4, 2, 3]);
    assert.ok(Number.isNaN(percentile(new Float64Array(0), 50)));
  });

  it('takes medians of odd and even counts, ignoring missing values', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([Number.NaN, 7]), 7);
    assert.ok(Number.isNaN(median([])));
  });

  it('summarises repetitions and prints the ratio against direct', () => {
    const s = (reqPerSec: number, extra: Partial<Sample> = {}): Sample => ({
      reqPerSec, p50Ms: 1, p99Ms: 2, calls: reqPerSec * 5, errors: 0, backendCpuUsPerCall: 100, clientCpuUsPerCall: 50, ...extra,
    });
    const direct = summarise('direct', 8, [s(1000), s(1200), s(1100)]);
    const gateway = summarise('gateway', 8, [s(700, { gatewayCpuUsPerCall: 90, gatewayRssMiB: 80 }), s(800, { gatewayCpuUsPerCall: 110, gatewayRssMiB: 82 }), s(900, { gatewayCpuUsPerCall: 100, gatewayRssMiB: 81, errors: 2 })]);
    assert.equal(direct.median.reqPerSec, 1100);
    assert.equal(direct.median.gatewayCpuUsPerCall, undefined);
    assert.equal(gateway.median.gatewayCpuUsPerCall, 100);
    assert.equal(gateway.median.errors, 2);
    const table = formatTable([direct, gateway]);
    assert.match(table, /gateway\s+8\s+800\s.*\s100\s+81\.0\s+0\.73×\s+2$/m);
    assert.match(table, /direct\s+8\s+1,100\s.*—\s+—\s+—\s+0$/m);
  });
});

describe('bench response parsing', () => {
  it('reads JSON and SSE-framed responses', () => {
    assert.deepEqual(parseResponseBody('application/json', '{"jsonrpc":"2.0","id":1,"result":{"a":1}}').result, { a: 1 });
    const sse = 'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{}}\n\nevent: message\ndata: {"jsonrpc":"2.0","id":1,"result":{"b":2}}\n\n';
    assert.deepEqual(parseResponseBody('text/event-stream', sse).result, { b: 2 });
    assert.throws(() => parseResponseBody('text/event-stream', ': keep-alive\n\n'), /no JSON-RPC response/);
  });
});

describe('bench gateway config', () => {
  it('is a valid Gatehouse config in every auth mode', () => {
    for (const auth of ['none', 'api_key', 'jwt'] as const) {
      const parsed = configSchema.safeParse(gatewayConfig(4321, 'http://127.0.0.1:1234/mcp', auth, { storePath: '/tmp/x.db', issuer: 'http://127.0.0.1:9/' }));
      assert.ok(parsed.success, `${auth}: ${JSON.stringify(parsed.error?.issues)}`);
    }
  });

  it('is a valid Gatehouse config with every feature on (policy, limits, metrics, tracing)', () => {
    const cfg = gatewayConfig(4321, 'http://127.0.0.1:1234/mcp', 'api_key', { storePath: '/tmp/x.db', policyRules: 200, limits: true, metrics: true, tracing: { endpoint: 'http://127.0.0.1:4318/v1/traces', sampleRatio: 0.5 } });
    const parsed = configSchema.safeParse(cfg);
    assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
    assert.equal(parsed.data.telemetry.metrics.enabled, true);
    assert.equal(parsed.data.telemetry.tracing.enabled, true);
    assert.equal(parsed.data.admin?.listen.port, 0);
  });
});
