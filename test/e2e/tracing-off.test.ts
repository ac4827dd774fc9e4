// Tracing off changes nothing on the wire: no header is added upstream, the agent's own `_meta`
// (traceparent included) passes through as before, and nothing is exported. With tracing on but
// `propagate: false`, spans are exported and the wire is still left as it was.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startGateway, type TestGateway } from '../harness/gateway.ts';
import { MODERN, type RpcMessage } from '../harness/rpc.ts';
import { startNodeScript, type RunningServer } from '../support/processes.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../observe/tracing/otlp-receiver.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/trace-echo-server.ts', import.meta.url));
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

interface Seen {
  header: string | null;
  meta: string | null;
  metaState: string | null;
}

/** tools/call with the same traceparent in the header and in `_meta` (and a tracestate in `_meta`). */
async function callWithTrace(url: string, name: string, traceparent: string): Promise<Seen> {
  const meta = { traceparent, tracestate: 'agent=1', 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': name, traceparent },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {}, _meta: meta } }),
  });
  const text = await res.body.text();
  const json = String(res.headers['content-type']).startsWith('text/event-stream') ? text.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5)).at(-1)! : text;
  const m = JSON.parse(json) as RpcMessage;
  assert.ok(m.result !== undefined, `expected a result, got ${json}`);
  return m.result.structuredContent as unknown as Seen;
}

describe('tracing off, and tracing without propagation', () => {
  let receiver: OtlpReceiver;
  let http: RunningServer;

  before(async () => {
    receiver = await startOtlpReceiver();
    http = await startNodeScript(FIXTURE, [], { PORT: '0' });
  });
  after(async () => {
    await http?.stop();
    await receiver?.close();
  });

  const upstreams = () => [
    { name: 'th', transport: 'streamable-http', url: http.url },
    { name: 'tio', transport: 'stdio', command: process.execPath, args: [FIXTURE, 'stdio'] },
  ];

  it('off: no runtime, no header added, the agent`s `_meta` passes unchanged, nothing exported', async () => {
    const gw: TestGateway = await startGateway({ telemetry: { tracing: { enabled: false, endpoint: receiver.url } }, upstreams: upstreams() });
    try {
      assert.equal(gw.running.gateway.tracing, undefined);
      for (const tool of ['th__seen', 'tio__seen']) {
        const agent = `00-${hex(16)}-${hex(8)}-01`;
        const seen = await callWithTrace(gw.url, tool, agent);
        assert.equal(seen.header, null, `${tool}: no traceparent header upstream`);
        assert.equal(seen.meta, agent, `${tool}: the agent's _meta.traceparent as it came`);
        assert.equal(seen.metaState, 'agent=1');
      }
    } finally {
      await gw.stop();
    }
    assert.equal(receiver.requests.length, 0, 'nothing was exported');
  });

  it('on with propagate: false: spans are exported, the wire is left as it was', async () => {
    const gw: TestGateway = await startGateway({ telemetry: { tracing: { enabled: true, endpoint: receiver.url, propagate: false } }, upstreams: upstreams() });
    const traceId = hex(16);
    const agent = `00-${traceId}-${hex(8)}-01`;
    try {
      const seen = await callWithTrace(gw.url, 'th__seen', agent);
      assert.equal(seen.header, null);
      assert.equal(seen.meta, agent);
    } finally {
      // Stopping flushes what is buffered.
      await gw.stop();
    }
    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    assert.ok(spans.some((s) => s.kind === 2) && spans.some((s) => s.kind === 3), 'the exchange and its attempt were exported on shutdown');
  });
});
