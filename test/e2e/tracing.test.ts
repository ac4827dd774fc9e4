// OpenTelemetry tracing end to end: an agent sends a `traceparent`, the gateway exports its spans to an
// OTLP/HTTP receiver in this test, and real upstreams (Streamable HTTP in both eras, HTTP+SSE, stdio)
// report the trace context they received. One trace must run agent → gateway → tool server.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startGateway, type TestGateway } from '../harness/gateway.ts';
import { MODERN, type RpcMessage } from '../harness/rpc.ts';
import { startNodeScript, type RunningServer } from '../support/processes.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../observe/tracing/otlp-receiver.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/trace-echo-server.ts', import.meta.url));
const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;

interface Seen {
  header: string | null;
  stateHeader: string | null;
  meta: string | null;
  metaState: string | null;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** A 2026-07-28 tools/call, with a `traceparent` header and/or `_meta`. */
async function callTool(url: string, name: string, args: Record<string, unknown>, carry: { header?: string; state?: string; meta?: Record<string, unknown> } = {}): Promise<RpcMessage> {
  const meta = { ...carry.meta, 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };
  const res = await request(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': MODERN,
      'mcp-method': 'tools/call',
      'mcp-name': name,
      ...(carry.header === undefined ? {} : { traceparent: carry.header }),
      ...(carry.state === undefined ? {} : { tracestate: carry.state }),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args, _meta: meta } }),
  });
  const text = await res.body.text();
  const type = String(res.headers['content-type']);
  const json = type.startsWith('text/event-stream') ? text.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5)).at(-1)! : text;
  return JSON.parse(json) as RpcMessage;
}

function seenOf(m: RpcMessage): Seen {
  assert.ok(m.result !== undefined, `expected a result, got ${JSON.stringify(m)}`);
  return m.result.structuredContent as unknown as Seen;
}

/** The span id a traceparent names as its parent, after checking its trace. */
function parentIn(traceparent: string | null, traceId: string): string {
  assert.ok(traceparent !== null, 'the upstream received a traceparent');
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(traceparent);
  assert.ok(m !== null, `a version-00 traceparent, got ${traceparent}`);
  assert.equal(m[1], traceId, 'the upstream joined the same trace');
  return m[2]!;
}

describe('tracing: agent → gateway → tool server', () => {
  let receiver: OtlpReceiver;
  let http: RunningServer;
  let sse: RunningServer;
  let gw: TestGateway;

  const flush = () => gw.running.gateway.tracing!.flush();
  const spansOf = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);
  const one = (spans: ReceivedSpan[], pick: (s: ReceivedSpan) => boolean, what: string): ReceivedSpan => {
    const found = spans.filter(pick);
    assert.equal(found.length, 1, `one ${what}, got ${found.map((s) => s.name).join(', ') || 'none'}`);
    return found[0]!;
  };

  before(async () => {
    receiver = await startOtlpReceiver();
    http = await startNodeScript(FIXTURE, [], { PORT: '0' });
    sse = await startNodeScript(FIXTURE, ['sse'], { PORT: '0' });
    gw = await startGateway({
      telemetry: { tracing: { enabled: true, endpoint: receiver.url, headers: { 'x-collector-key': 'k-123' }, serviceName: 'gatehouse-e2e' } },
      policy: { default: 'allow', rules: [{ name: 'no-flaky-stdio', effect: 'deny', reveal: true, message: 'not this one', when: { tools: ['tio__flaky'] } }] },
      traffic: { limits: [{ name: 'agent-rate', key: ['agent'], rate: { tokens: 1000, per: '1s', burst: 1000 } }] },
      upstreams: [
        {
          name: 'th',
          transport: 'streamable-http',
          url: http.url,
          // Two replicas (one server, reached by two URLs): attempts name the replica they went to.
          replicaUrls: [`${http.url}?replica=2`],
          toolTimeoutsMs: { flaky: 300 },
          toolClasses: { flaky: 'read_only' },
          retry: { attempts: 1, initialDelayMs: 10, maxDelayMs: 20 },
        },
        // flaky is a write tool here (no class given): its deadline ends the call, nothing retries it.
        { name: 'tl', transport: 'streamable-http', url: http.url, era: 'legacy', toolTimeoutsMs: { flaky: 300 } },
        { name: 'ts', transport: 'sse', url: sse.url },
        { name: 'tio', transport: 'stdio', command: process.execPath, args: [FIXTURE, 'stdio'] },
      ],
    });
  });
  after(async () => {
    await gw?.stop();
    await http?.stop();
    await sse?.stop();
    await receiver?.close();
  });

  it('a call over Streamable HTTP: the spans share the agent trace, hang under its span, and the upstream is a child of the attempt', async () => {
    const traceId = hex(16);
    const agentSpan = hex(8);
    const seen = seenOf(await callTool(gw.url, 'th__seen', {}, { header: `00-${traceId}-${agentSpan}-01` }));
    await flush();
    const spans = spansOf(traceId);
    const exchange = one(spans, (s) => s.kind === SERVER, 'exchange span');
    assert.equal(exchange.name, 'tools/call th__seen');
    assert.equal(exchange.parentSpanId, agentSpan, "the exchange span's parent is the agent's span");
    assert.equal(exchange.service, 'gatehouse-e2e');
    assert.equal(exchange.attributes['mcp.method.name'], 'tools/call');
    assert.equal(exchange.attributes['gen_ai.tool.name'], 'th__seen');
    assert.equal(exchange.attributes['gatehouse.outcome'], 'ok');
    assert.equal(exchange.attributes['gatehouse.decision'], 'continue');
    assert.equal(exchange.attributes['gatehouse.upstream'], 'th');
    assert.equal(exchange.status.code, 0);

    // Phase spans: the edge's authentication, then the pipeline's filters, each a child of the exchange.
    const auth = one(spans, (s) => s.attributes['gatehouse.phase'] === 'authenticate', 'authenticate span');
    const authorize = one(spans, (s) => s.attributes['gatehouse.phase'] === 'authorize', 'authorize span');
    const admit = one(spans, (s) => s.attributes['gatehouse.phase'] === 'admit', 'admit span');
    for (const s of [auth, authorize, admit]) {
      assert.equal(s.parentSpanId, exchange.spanId, `${s.name} is a child of the exchange`);
      assert.equal(s.attributes['gatehouse.decision'], 'continue');
    }
    assert.ok(auth.startNs >= exchange.startNs && authorize.endNs <= exchange.endNs, 'phase spans lie within the exchange');

    const handler = one(spans, (s) => s.name === 'handle tools/call', 'handler span');
    assert.equal(handler.parentSpanId, exchange.spanId);
    const attempt = one(spans, (s) => s.kind === CLIENT, 'attempt span');
    assert.equal(attempt.name, 'upstream th tools/call');
    assert.equal(attempt.parentSpanId, handler.spanId);
    assert.equal(attempt.attributes['gatehouse.attempt'], 1);
    assert.equal(attempt.attributes['gatehouse.outcome'], 'ok');
    assert.match(String(attempt.attributes['gatehouse.replica']), /^th#[12]$/);
    assert.equal(attempt.attributes['gen_ai.tool.name'], 'seen', "the upstream's own tool name");

    // The upstream saw the attempt span as its parent, in the header and in `_meta` alike.
    assert.equal(parentIn(seen.header, traceId), attempt.spanId);
    assert.equal(seen.meta, seen.header);
    // No arguments, results or credentials in any attribute.
    for (const s of spans) for (const v of Object.values(s.attributes)) assert.ok(!String(v).includes('k-123'));
    assert.ok(receiver.requests.some((h) => h['x-collector-key'] === 'k-123'), 'the configured headers reach the collector');
  });

  it('a 2025-era Streamable HTTP session and an HTTP+SSE upstream get the header and `_meta` too', async () => {
    for (const tool of ['tl__seen', 'ts__seen']) {
      const traceId = hex(16);
      const seen = seenOf(await callTool(gw.url, tool, {}, { header: `00-${traceId}-${hex(8)}-01` }));
      await flush();
      const attempt = one(spansOf(traceId), (s) => s.kind === CLIENT, `${tool} attempt span`);
      assert.equal(parentIn(seen.header, traceId), attempt.spanId, `${tool}: header`);
      assert.equal(parentIn(seen.meta, traceId), attempt.spanId, `${tool}: _meta`);
    }
  });

  it('stdio: the agent`s `_meta.traceparent` is taken, and replaced upstream by the attempt`s', async () => {
    const traceId = hex(16);
    const agentSpan = hex(8);
    const seen = seenOf(await callTool(gw.url, 'tio__seen', {}, { meta: { traceparent: `00-${traceId}-${agentSpan}-01`, tracestate: 'vendor=abc' } }));
    await flush();
    const spans = spansOf(traceId);
    const exchange = one(spans, (s) => s.kind === SERVER, 'exchange span');
    assert.equal(exchange.parentSpanId, agentSpan);
    const attempt = one(spans, (s) => s.kind === CLIENT, 'attempt span');
    assert.equal(seen.header, null, 'stdio has no headers');
    assert.equal(parentIn(seen.meta, traceId), attempt.spanId);
    assert.equal(seen.metaState, 'vendor=abc', "the agent's tracestate travels with the trace");
  });

  it('the `tracestate` header travels with the `traceparent` header', async () => {
    const traceId = hex(16);
    const seen = seenOf(await callTool(gw.url, 'tio__seen', {}, { header: `00-${traceId}-${hex(8)}-01`, state: 'vendor=hdr' }));
    assert.equal(seen.metaState, 'vendor=hdr');
  });

  it('a read-only call retried after a deadline has two attempt spans; the upstream answer came under the second', async () => {
    const traceId = hex(16);
    const seen = seenOf(await callTool(gw.url, 'th__flaky', { key: hex(4) }, { header: `00-${traceId}-${hex(8)}-01` }));
    await flush();
    const spans = spansOf(traceId);
    const attempts = spans.filter((s) => s.kind === CLIENT).sort((a, b) => Number(a.attributes['gatehouse.attempt']) - Number(b.attributes['gatehouse.attempt']));
    assert.deepEqual(attempts.map((s) => s.attributes['gatehouse.attempt']), [1, 2]);
    const [first, second] = attempts as [ReceivedSpan, ReceivedSpan];
    assert.equal(first.attributes['gatehouse.outcome'], 'upstream_timeout');
    assert.equal(first.status.code, ERROR);
    assert.equal(second.attributes['gatehouse.outcome'], 'ok');
    assert.equal(first.parentSpanId, second.parentSpanId, 'both attempts are children of the handler');
    assert.notEqual(first.spanId, second.spanId);
    assert.notEqual(first.attributes['gatehouse.replica'], second.attributes['gatehouse.replica'], 'the retry went to the other replica');
    assert.equal(parentIn(seen.header, traceId), second.spanId);
    const exchange = one(spans, (s) => s.kind === SERVER, 'exchange span');
    assert.equal(exchange.attributes['gatehouse.outcome'], 'ok');
  });

  it('without a traceparent from the agent a trace starts at the gateway, and the upstream joins it', async () => {
    const before = new Set(receiver.spans.map((s) => s.traceId));
    const seen = seenOf(await callTool(gw.url, 'th__seen', {}));
    await flush();
    const traceId = seen.header?.split('-')[1];
    assert.ok(traceId !== undefined && !before.has(traceId));
    const exchange = one(spansOf(traceId), (s) => s.kind === SERVER, 'exchange span');
    assert.equal(exchange.parentSpanId, '', 'a root span');
    const attempt = one(spansOf(traceId), (s) => s.kind === CLIENT, 'attempt span');
    assert.equal(parentIn(seen.header, traceId), attempt.spanId);
  });

  it('a denial is traced as a decision, not as a failure of the gateway', async () => {
    const traceId = hex(16);
    const res = await callTool(gw.url, 'tio__flaky', { key: 'x' }, { header: `00-${traceId}-${hex(8)}-01` });
    assert.ok(res.error !== undefined);
    await flush();
    const spans = spansOf(traceId);
    const exchange = one(spans, (s) => s.kind === SERVER, 'exchange span');
    assert.equal(exchange.attributes['gatehouse.outcome'], 'denied');
    assert.equal(exchange.attributes['gatehouse.decision'], 'deny');
    assert.equal(exchange.attributes['gatehouse.policy.effect'], 'deny');
    assert.equal(exchange.attributes['gatehouse.policy.rule'], 'no-flaky-stdio');
    assert.equal(exchange.status.code, 0, 'status unset: the gateway did its job');
    assert.equal(spans.filter((s) => s.kind === CLIENT).length, 0, 'nothing went upstream');
    const authorize = one(spans, (s) => s.attributes['gatehouse.phase'] === 'authorize', 'authorize span');
    assert.equal(authorize.attributes['gatehouse.decision'], 'deny');
  });

  it('a failure (an upstream deadline) sets ERROR on the exchange and on its attempt', async () => {
    const traceId = hex(16);
    const res = await callTool(gw.url, 'tl__flaky', { key: hex(4) }, { header: `00-${traceId}-${hex(8)}-01` });
    assert.equal((res.error?.data?.gatehouse as { error?: string } | undefined)?.error, 'upstream_timeout');
    await flush();
    const spans = spansOf(traceId);
    const exchange = one(spans, (s) => s.kind === SERVER, 'exchange span');
    assert.equal(exchange.attributes['gatehouse.outcome'], 'timeout');
    assert.equal(exchange.attributes['error.type'], 'upstream_timeout');
    assert.equal(exchange.status.code, ERROR);
    const attempt = one(spans, (s) => s.kind === CLIENT, 'attempt span');
    assert.equal(attempt.attributes['gatehouse.outcome'], 'upstream_timeout');
    assert.equal(attempt.status.code, ERROR);
  });

  it('an unsampled traceparent is followed: nothing exported, the upstream still gets a context (unsampled)', async () => {
    const traceId = hex(16);
    const seen = seenOf(await callTool(gw.url, 'th__seen', {}, { header: `00-${traceId}-${hex(8)}-00` }));
    await flush();
    assert.equal(spansOf(traceId).length, 0);
    assert.match(seen.header ?? '', new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
  });
});
