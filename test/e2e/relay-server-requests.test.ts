// Server->client requests through the gateway: server-everything (a 2025-era stdio server) asks for
// elicitation and sampling mid-call; SDK clients of both eras answer. A 2025-era agent gets the
// request relayed on its session; a 2026-07-28 agent gets `input_required` and retries.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { startGateway, stdioEverything, type TestGateway } from '../harness/gateway.ts';
import { modernRequest } from '../harness/rpc.ts';

const ELICIT = 'everything__trigger-elicitation-request';
const SAMPLE = 'everything__trigger-sampling-request';

function text(r: unknown): string {
  return (((r as { content?: unknown }).content ?? []) as { type: string; text?: string }[]).map((c) => c.text ?? '').join('\n');
}

describe('server->client requests relayed across eras', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({ upstreams: [stdioEverything('everything')] });
  });
  after(() => gw.stop());

  it('2025-era agent (SDK 1.x): elicitation and sampling reach the agent and its answers reach the upstream', async () => {
    const client = new V1Client({ name: 'v1-relay', version: '1.0.0' }, { capabilities: { elicitation: {}, sampling: {} } });
    const seen: string[] = [];
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      seen.push(`elicit:${req.params.message}`);
      return { action: 'accept', content: { name: 'Ada Lovelace', check: true, email: 'ada@example.org' } };
    });
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
      seen.push(`sample:${JSON.stringify(req.params.messages[0]?.content)}`);
      return { role: 'assistant', content: { type: 'text', text: 'sampled by v1' }, model: 'test-model', stopReason: 'endTurn' };
    });
    await client.connect(new V1Transport(new URL(gw.url)));
    try {
      const e = await client.callTool({ name: ELICIT, arguments: {} });
      assert.ok(!e.isError, text(e));
      assert.match(text(e), /Ada Lovelace/);
      const s = await client.callTool({ name: SAMPLE, arguments: { prompt: 'hello from v1', maxTokens: 20 } });
      assert.match(text(s), /sampled by v1/);
      assert.equal(seen.length, 2);
      assert.match(seen[1]!, /hello from v1/);
    } finally {
      await client.close();
    }
  });

  it('2026-07-28 agent (SDK 2.x): the same requests arrive as input_required and the retry completes the call', async () => {
    const client = new Client({ name: 'v2-relay', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' }, capabilities: { elicitation: {}, sampling: {} } });
    const seen: string[] = [];
    client.setRequestHandler('elicitation/create', async () => {
      seen.push('elicit');
      return { action: 'accept', content: { name: 'Grace Hopper', check: true } };
    });
    client.setRequestHandler('sampling/createMessage', async () => {
      seen.push('sample');
      return { role: 'assistant', content: { type: 'text', text: 'sampled by v2' }, model: 'test-model', stopReason: 'endTurn' };
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(gw.url)));
    try {
      assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
      const e = await client.callTool({ name: ELICIT, arguments: {} });
      assert.match(text(e), /Grace Hopper/);
      const s = await client.callTool({ name: SAMPLE, arguments: { prompt: 'hello from v2', maxTokens: 20 } });
      assert.match(text(s), /sampled by v2/);
      assert.deepEqual(seen, ['elicit', 'sample']);
    } finally {
      await client.close();
    }
  });

  it('2026-07-28 wire: input_required carries a sealed requestState; tampered, replayed and foreign states are refused', async () => {
    const caps = { elicitation: {} };
    const first = await modernRequest(gw.url, 'tools/call', { name: ELICIT, arguments: {} }, { capabilities: caps });
    const r1 = first.response?.result as Record<string, unknown>;
    assert.equal(r1.resultType, 'input_required');
    const requests = r1.inputRequests as Record<string, { method: string; params: Record<string, unknown> }>;
    const [key, req] = Object.entries(requests)[0]!;
    assert.equal(req.method, 'elicitation/create');
    const state = r1.requestState as string;
    assert.match(state, /^gh1\./);

    // One flipped character: refused, and the parked call still waits for the genuine retry.
    const flipped = state.slice(0, -3) + (state.at(-3) === 'A' ? 'B' : 'A') + state.slice(-2);
    const bad = await modernRequest(gw.url, 'tools/call', { name: ELICIT, arguments: {}, requestState: flipped, inputResponses: { [key]: { action: 'decline' } } }, { capabilities: caps });
    assert.equal(bad.response?.error?.code, -32602);
    assert.match(bad.response?.error?.message ?? '', /integrity/);

    // The state is bound to the request: the same state on another tool is refused.
    const other = await modernRequest(gw.url, 'tools/call', { name: 'everything__echo', arguments: { message: 'x' }, requestState: state, inputResponses: {} }, { capabilities: caps });
    assert.equal(other.response?.error?.code, -32602);
    assert.match(other.response?.error?.message ?? '', /different request/);

    const ok = await modernRequest(gw.url, 'tools/call', { name: ELICIT, arguments: {}, requestState: state, inputResponses: { [key]: { action: 'decline' } } }, { capabilities: caps });
    const r2 = ok.response?.result as Record<string, unknown>;
    assert.equal(r2.resultType, 'complete');
    assert.match(text(r2), /decline/i);

    // Used once: the same state again finds nothing waiting.
    const replay = await modernRequest(gw.url, 'tools/call', { name: ELICIT, arguments: {}, requestState: state, inputResponses: { [key]: { action: 'decline' } } }, { capabilities: caps });
    assert.equal(replay.response?.error?.code, -32602);
  });

  it('an agent that did not declare the capability is never asked; the upstream gets a refusal', async () => {
    const res = await modernRequest(gw.url, 'tools/call', { name: SAMPLE, arguments: { prompt: 'p', maxTokens: 5 } }, { capabilities: {} });
    const r = res.response?.result as Record<string, unknown> | undefined;
    assert.ok(r === undefined || r.resultType !== 'input_required', 'no input_required for an undeclared capability');
  });
});
