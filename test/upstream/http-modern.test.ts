// Streamable HTTP in the 2026-07-28 era against a server on the official SDK v2.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayFault } from '../../src/errors/codes.ts';
import type { JsonRpcNotification } from '../../src/protocol/jsonrpc.ts';
import { connectUpstream } from '../../src/upstream/connect.ts';
import type { UpstreamSession } from '../../src/upstream/session.ts';
import { startModernHttp, type RunningHttp } from './support/modern-server.ts';
import { deps, eventually, httpConfig, RecordedEvents, textOf } from './support/helpers.ts';

for (const legacy of ['reject', 'stateless'] as const) {
  describe(`modern HTTP upstream (legacy: ${legacy})`, () => {
    let server: RunningHttp;
    let s: UpstreamSession;
    const events = new RecordedEvents();
    before(async () => {
      server = await startModernHttp(legacy);
      s = await connectUpstream(httpConfig(server.url, { name: 'modern', headers: { Authorization: 'Bearer upstream-secret' } }), deps(events));
    });
    after(async () => {
      await s.close();
      await server.close();
    });

    it('picks the modern era from the server/discover probe', () => {
      assert.equal(s.era, 'modern');
      assert.equal(s.protocolVersion, '2026-07-28');
      assert.deepEqual(s.serverInfo, { name: 'modern-fixture', version: '1.2.3' });
      assert.equal(s.instructions, 'fixture instructions');
      assert.ok('tools' in s.capabilities);
      const probe = server.state.requests[0];
      assert.equal(probe?.headers['mcp-method'], 'server/discover');
      assert.equal(probe?.headers['mcp-protocol-version'], '2026-07-28');
    });

    it('sends the Mcp-* headers and the configured headers on every request', async () => {
      await s.request('tools/list', {});
      const before = server.state.requests.length;
      assert.equal(textOf(await s.request('tools/call', { name: 'echo', arguments: { message: 'hi' } })), 'Echo: hi');
      const h = server.state.requests[before]?.headers ?? {};
      assert.equal(h['mcp-protocol-version'], '2026-07-28');
      assert.equal(h['mcp-method'], 'tools/call');
      assert.equal(h['mcp-name'], 'echo');
      assert.equal(h.authorization, 'Bearer upstream-secret');
      assert.match(h.accept ?? '', /application\/json/);
      assert.match(h.accept ?? '', /text\/event-stream/);
      assert.equal(h['mcp-session-id'], undefined);
    });

    it('mirrors x-mcp-header arguments, base64-encoding what a header cannot carry', async () => {
      await s.request('tools/list', {});
      let at = server.state.requests.length;
      assert.equal(textOf(await s.request('tools/call', { name: 'regional', arguments: { region: 'us-west1', q: 'a' } })), 'us-west1:a');
      assert.equal(server.state.requests[at]?.headers['mcp-param-region'], 'us-west1');
      at = server.state.requests.length;
      assert.equal(textOf(await s.request('tools/call', { name: 'regional', arguments: { region: 'Zürich ', q: 'b' } })), 'Zürich :b');
      assert.equal(server.state.requests[at]?.headers['mcp-param-region'], `=?base64?${Buffer.from('Zürich ').toString('base64')}?=`);
    });

    it('drops tools whose x-mcp-header annotation is invalid from tools/list', async () => {
      const list = await s.request('tools/list', {});
      assert.ok('result' in list);
      const names = (list.result.tools as Array<{ name: string }>).map((t) => t.name);
      assert.ok(names.includes('regional'));
      assert.ok(!names.includes('badly-annotated'));
    });

    it('puts the gateway\'s own hop _meta on requests, keeping the rest', async () => {
      const meta = { 'io.modelcontextprotocol/clientInfo': { name: 'the-agent', version: '9' }, 'io.modelcontextprotocol/logLevel': 'debug', 'example.com/trace': 'abc' };
      const seen = JSON.parse(textOf(await s.request('tools/call', { name: 'whoami', arguments: {}, _meta: meta }))) as { envelope: Record<string, unknown>; meta: Record<string, unknown> };
      assert.deepEqual(seen.envelope['io.modelcontextprotocol/clientInfo'], { name: 'gatehouse-test', version: '0.0.0' });
      assert.equal(seen.envelope['io.modelcontextprotocol/protocolVersion'], '2026-07-28');
      assert.equal(seen.envelope['io.modelcontextprotocol/logLevel'], undefined);
      assert.equal(seen.meta['example.com/trace'], 'abc');
    });

    it('passes structuredContent and _meta through unchanged', async () => {
      const res = await s.request('tools/call', { name: 'structured', arguments: {} });
      assert.ok('result' in res);
      assert.deepEqual(res.result.structuredContent, { n: 7, tags: ['a', 'b'] });
      assert.equal((res.result._meta as Record<string, unknown>)['example.com/x'], 1);
    });

    it('routes progress from the response stream with the original token', async () => {
      const got: JsonRpcNotification[] = [];
      const res = await s.request('tools/call', { name: 'slow', arguments: { steps: 3, stepMs: 5 }, _meta: { progressToken: 'agent-7' } }, { onNotification: (n) => got.push(n) });
      assert.equal(textOf(res), 'done 3');
      assert.deepEqual(got.map((n) => [n.params?.progressToken, n.params?.progress]), [['agent-7', 1], ['agent-7', 2], ['agent-7', 3]]);
    });

    it('cancels by closing the response stream', async () => {
      const ac = new AbortController();
      const started = server.state.cancelled.length;
      const got: JsonRpcNotification[] = [];
      const call = s.request('tools/call', { name: 'slow', arguments: { steps: 200, stepMs: 20 }, _meta: { progressToken: 1 } }, { signal: ac.signal, onNotification: (n) => got.push(n) });
      await eventually(() => got.length > 0, 'the first progress notification');
      ac.abort(new Error('agent left'));
      await assert.rejects(call, /agent left/);
      await eventually(() => server.state.cancelled.length > started, 'the server to see the cancellation');
    });

    it('times out with upstream_timeout', async () => {
      await assert.rejects(
        s.request('tools/call', { name: 'slow', arguments: { steps: 100, stepMs: 20 } }, { timeoutMs: 100 }),
        (err) => err instanceof GatewayFault && err.error.name === 'upstream_timeout' && /modern/.test(err.message),
      );
    });

    it('resolves JSON-RPC errors of the upstream', async () => {
      const res = await s.request('tools/call', { name: 'no-such-tool', arguments: {} });
      assert.ok('error' in res || ('result' in res && res.result.isError === true));
    });
  });
}

describe('era memory and forcing against modern servers', () => {
  let strict: RunningHttp;
  let dual: RunningHttp;
  before(async () => {
    strict = await startModernHttp('reject');
    dual = await startModernHttp('stateless');
  });
  after(async () => {
    await strict.close();
    await dual.close();
  });

  it('re-probes when the remembered legacy era fails', async () => {
    const s = await connectUpstream(httpConfig(strict.url, { name: 'strict' }), deps(new RecordedEvents(), { knownEra: 'legacy' }));
    try {
      assert.equal(s.era, 'modern');
      assert.equal(textOf(await s.request('tools/call', { name: 'echo', arguments: { message: 'ok' } })), 'Echo: ok');
    } finally {
      await s.close();
    }
  });

  it('keeps a remembered legacy era on a dual-era server (stateless legacy, no GET stream)', async () => {
    const s = await connectUpstream(httpConfig(dual.url, { name: 'dual' }), deps(new RecordedEvents(), { knownEra: 'legacy' }));
    try {
      assert.equal(s.era, 'legacy');
      assert.equal(textOf(await s.request('tools/call', { name: 'echo', arguments: { message: 'old' } })), 'Echo: old');
    } finally {
      await s.close();
    }
  });

  it('fails a forced legacy era on a modern-only server with the server\'s reason', async () => {
    await assert.rejects(connectUpstream(httpConfig(strict.url, { name: 'strict', era: 'legacy' }), deps(new RecordedEvents())), (err) => {
      assert.ok(err instanceof GatewayFault);
      assert.match(err.message, /strict/);
      assert.match(err.message, /initialize/);
      return true;
    });
  });
});
