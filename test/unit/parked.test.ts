import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParkedCall, ParkedCalls } from '../../src/relay/parked.ts';
import type { JsonRpcResponse } from '../../src/protocol/jsonrpc.ts';

describe('parked calls', () => {
  it('collects requests that arrive together, answers them, then yields the result', async () => {
    const p = new ParkedCall();
    const { promise, resolve } = Promise.withResolvers<JsonRpcResponse>();
    p.attach(promise);
    const a1 = p.ask({ jsonrpc: '2.0', id: 7, method: 'elicitation/create', params: { message: 'm' } });
    const a2 = p.ask({ jsonrpc: '2.0', id: 8, method: 'sampling/createMessage', params: {} });
    const o = await p.next();
    assert.equal(o.kind, 'input');
    assert.deepEqual(o.kind === 'input' ? o.pending.map((x) => x.key) : [], ['elicitation_1', 'sampling_2']);
    if (o.kind !== 'input') return;
    o.pending[0]!.settle({ result: { action: 'accept' } });
    assert.deepEqual(await a1, { jsonrpc: '2.0', id: 7, result: { action: 'accept' } });
    // One still open: asking again returns only what is missing.
    const again = await p.next();
    assert.deepEqual(again.kind === 'input' ? again.pending.map((x) => x.key) : [], ['sampling_2']);
    o.pending[1]!.settle({ error: { code: -1, message: 'no' } });
    assert.equal(((await a2) as { error: { message: string } }).error.message, 'no');
    resolve({ jsonrpc: '2.0', id: 1, result: { ok: true } });
    const done = await p.next();
    assert.equal(done.kind, 'done');
  });

  it('expiry abandons the call: open questions fail and the upstream call is aborted', async () => {
    const calls = new ParkedCalls(1);
    const p = new ParkedCall();
    p.attach(new Promise(() => undefined));
    const q = p.ask({ jsonrpc: '2.0', id: 1, method: 'roots/list' });
    await p.next();
    assert.ok(calls.add(p, 20));
    const other = new ParkedCall();
    assert.equal(calls.add(other, 20), false, 'bounded');
    const answer = (await q) as { error?: { message: string } };
    assert.match(answer.error?.message ?? '', /did not retry in time/);
    assert.ok(p.controller.signal.aborted);
    assert.equal(calls.take(p.id), undefined, 'gone from the table');
  });

  it('take() hands a call out once; restore() puts it back', () => {
    const calls = new ParkedCalls();
    const p = new ParkedCall();
    p.attach(new Promise(() => undefined));
    calls.add(p, 60_000);
    assert.equal(calls.take(p.id), p);
    assert.equal(calls.take(p.id), undefined);
    calls.restore(p);
    assert.equal(calls.take(p.id), p);
    p.abandon('test over');
  });
});
