// Which in-flight call a server->client request (or log line) belongs to when the wire doesn't say.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallTable } from '../../src/upstream/transports/calls.ts';
import { ProgressTokens } from '../../src/upstream/progress-tokens.ts';

function table(): CallTable {
  return new CallTable('up', { cancelUpstream: () => undefined }, new ProgressTokens());
}
const relay = async () => ({ jsonrpc: '2.0' as const, id: 1, result: {} });
const accepts = (c: { onServerRequest?: unknown }) => c.onServerRequest !== undefined;

describe('attributing unattributed upstream messages', () => {
  it('one relaying call in flight owns it; calls without a relay do not count', () => {
    const t = table();
    t.open('tools/list', undefined, undefined, 0);
    const c = t.open('tools/call', undefined, undefined, 0);
    c.onServerRequest = relay;
    assert.equal(t.soleOwner(accepts), c);
  });

  it('several calls of one agent: the newest; of different agents: nobody', () => {
    const t = table();
    const a1 = t.open('tools/call', undefined, undefined, 0);
    const a2 = t.open('tools/call', undefined, undefined, 0);
    a1.onServerRequest = a2.onServerRequest = relay;
    a1.relayKey = a2.relayKey = 'session-a';
    assert.equal(t.soleOwner(accepts), a2);
    const b = t.open('tools/call', undefined, undefined, 0);
    b.onServerRequest = relay;
    b.relayKey = 'session-b';
    assert.equal(t.soleOwner(accepts), undefined, 'ambiguous: never guess');
    b.succeed({ jsonrpc: '2.0', id: b.id, result: {} });
    assert.equal(t.soleOwner(accepts), a2, 'settled calls drop out');
  });

  it('calls without an owner key are never merged', () => {
    const t = table();
    const x = t.open('tools/call', undefined, undefined, 0);
    const y = t.open('tools/call', undefined, undefined, 0);
    x.onServerRequest = y.onServerRequest = relay;
    assert.equal(t.soleOwner(accepts), undefined);
  });
});
