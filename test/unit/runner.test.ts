import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { gatewayError } from '../../src/errors/codes.ts';
import { CONTINUE, deny, respond } from '../../src/pipeline/decision.ts';
import { Exchange } from '../../src/pipeline/exchange.ts';
import type { Filter } from '../../src/pipeline/filter.ts';
import { runRequestFilters, runResponseFilters } from '../../src/pipeline/runner.ts';
import type { Snapshot } from '../../src/config/snapshot.ts';

const log = pino({ level: 'silent' });

function exchange(): Exchange {
  const origin = { era: 'modern' as const, protocolVersion: '2026-07-28', session: undefined, clientAddress: '127.0.0.1', clientCapabilities: {}, notify: undefined, ask: undefined, logLevel: undefined };
  return new Exchange({} as Snapshot, origin, 'tools/call', 1, { name: 't' }, new AbortController().signal, 10);
}

describe('pipeline runner', () => {
  it('runs filters in order and stops at the first enforced deny, recording every decision', async () => {
    const order: string[] = [];
    const filters: Filter[] = [
      { name: 'a', phase: 'authenticate', shadow: false, onRequest: () => (order.push('a'), CONTINUE) },
      { name: 'b', phase: 'authorize', shadow: false, onRequest: () => (order.push('b'), deny(gatewayError('denied', 'no'))) },
      { name: 'c', phase: 'admit', shadow: false, onRequest: () => (order.push('c'), CONTINUE) },
    ];
    const x = exchange();
    const d = await runRequestFilters(x, filters, log);
    assert.equal(d.kind, 'deny');
    assert.deepEqual(order, ['a', 'b']);
    assert.deepEqual(x.decisions?.map((r) => [r.filter, r.kind]), [['a', 'continue'], ['b', 'deny']]);
  });

  it('shadow filters decide and are recorded, but not enforced', async () => {
    const x = exchange();
    const d = await runRequestFilters(x, [{ name: 's', phase: 'authorize', shadow: true, onRequest: () => deny(gatewayError('denied', 'would deny')) }], log);
    assert.equal(d.kind, 'continue');
    assert.deepEqual(x.decisions?.map((r) => [r.filter, r.kind, r.shadow]), [['s', 'deny', true]]);
  });

  it('a throwing filter is a bug: it denies (fail closed) with an internal error, and is recorded as error', async () => {
    const x = exchange();
    const d = await runRequestFilters(x, [{ name: 'boom', phase: 'guard', shadow: false, onRequest: () => { throw new Error('bug'); } }], log);
    assert.equal(d.kind, 'deny');
    assert.equal(d.kind === 'deny' && d.error.name, 'internal_error');
    assert.equal(x.decisions?.[0]?.kind, 'error');
    assert.equal(x.decisions?.[0]?.error, 'bug');
  });

  it('respond short-circuits with a result; async filters work', async () => {
    const x = exchange();
    const d = await runRequestFilters(x, [{ name: 'r', phase: 'approve', shadow: false, onRequest: async () => respond({ cached: true }) }], log);
    assert.deepEqual(d, { kind: 'respond', result: { cached: true } });
  });

  it('response filters run in reverse order; shadow ones do not change the result', async () => {
    const order: string[] = [];
    const filters: Filter[] = [
      { name: 'first', phase: 'authenticate', shadow: false, onResponse: (_x, r) => (order.push('first'), r) },
      { name: 'shadowed', phase: 'admit', shadow: true, onResponse: () => (order.push('shadowed'), { jsonrpc: '2.0', id: 1, result: { changed: true } }) },
      { name: 'last', phase: 'guard', shadow: false, onResponse: (_x, r) => (order.push('last'), r) },
    ];
    const out = await runResponseFilters(exchange(), filters, { jsonrpc: '2.0', id: 1, result: { v: 1 } }, log);
    assert.deepEqual(order, ['last', 'shadowed', 'first']);
    assert.deepEqual(out, { jsonrpc: '2.0', id: 1, result: { v: 1 } });
  });
});
