import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentRequests } from '../../src/relay/agent-requests.ts';
import type { JsonRpcRequest } from '../../src/protocol/jsonrpc.ts';

describe('server->client requests to an agent session', () => {
  it('uses gateway ids, resolves on the matching answer only, and refuses unknown ids', async () => {
    const r = new AgentRequests();
    const sent: JsonRpcRequest[] = [];
    const p = r.ask((m) => (sent.push(m), true), 'roots/list', undefined);
    assert.equal(sent[0]!.id, 'gh-1');
    assert.equal(r.answer({ jsonrpc: '2.0', id: 'gh-99', result: {} }), false);
    assert.equal(r.answer({ jsonrpc: '2.0', id: 1, result: {} }), false, 'an upstream-style numeric id does not match');
    assert.equal(r.answer({ jsonrpc: '2.0', id: 'gh-1', result: { roots: [] } }), true);
    assert.deepEqual(await p, { jsonrpc: '2.0', id: 'gh-1', result: { roots: [] } });
    assert.equal(r.answer({ jsonrpc: '2.0', id: 'gh-1', result: {} }), false, 'answered once');
    assert.equal(r.size, 0);
  });

  it('fails when it cannot be written, when the call ends, on timeout and when the session closes', async () => {
    const r = new AgentRequests();
    await assert.rejects(r.ask(() => false, 'sampling/createMessage', {}), /no open stream/);
    const ac = new AbortController();
    const p = r.ask(() => true, 'elicitation/create', {}, ac.signal);
    ac.abort();
    await assert.rejects(p, /abandoned/);
    await assert.rejects(r.ask(() => true, 'roots/list', undefined, undefined, 10), /did not answer/);
    const q = r.ask(() => true, 'roots/list', undefined);
    r.failAll('the agent session closed');
    await assert.rejects(q, /session closed/);
    assert.equal(r.size, 0);
  });
});
