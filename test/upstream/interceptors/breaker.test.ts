// The circuit breaker through the router, against a scripted upstream (the states are the point here;
// test/e2e/traffic/resilience-breaker.test.ts runs the same story against a real server).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gatewayError } from '../../../src/errors/codes.ts';
import { Router } from '../../../src/upstream/router.ts';
import { CancelledFault } from '../../../src/upstream/session.ts';
import { eventually, stdioConfig } from '../support/helpers.ts';
import { faultNamed, lookup, ScriptedTarget, snapshotOf } from './support/kit.ts';

function setup(breaker: { consecutiveFailures: number; halfOpenAfterMs: number }, retry = { attempts: 0 }) {
  const target = new ScriptedTarget('up');
  const router = new Router(lookup(target));
  const cfg = stdioConfig(['x'], { name: 'up', breaker, retry } as never);
  let snapshot = snapshotOf([cfg]);
  const call = (method = 'tools/call', opts = {}) => router.call(snapshot, 'up', method, { name: 'echo', arguments: {} }, opts);
  const stats = () => router.stats(snapshot)[0]!;
  const reload = (over: Record<string, unknown> = {}, identity = 'up-1') => {
    snapshot = snapshotOf([stdioConfig(['x'], { name: 'up', breaker, retry, ...over } as never)], { up: identity });
  };
  return { target, router, call, stats, reload };
}

async function failTimes(call: () => Promise<unknown>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await assert.rejects(call(), faultNamed('upstream_failed'));
}

/** Waits until the breaker would let a trial through (polls the figures, not the clock). */
async function untilTrialAllowed(stats: () => { breaker: { retryAfterMs?: number } }): Promise<void> {
  await eventually(() => stats().breaker.retryAfterMs === 0, 'the breaker to allow a trial call');
}

describe('circuit breaker', () => {
  it('opens after N consecutive transport failures and then fails fast without reaching the upstream', async () => {
    const { target, call, stats } = setup({ consecutiveFailures: 3, halfOpenAfterMs: 60_000 });
    target.behaviour = 'failed';
    await failTimes(call, 3);
    assert.equal(target.calls, 3);
    assert.equal(stats().breaker.state, 'open');

    target.behaviour = 'ok';
    await assert.rejects(call(), (err: unknown) => {
      assert.ok(faultNamed('upstream_circuit_open')(err));
      const e = (err as { error: { message: string; detail: Record<string, unknown> } }).error;
      assert.match(e.message, /^upstream "up" is failing: circuit open after 3 consecutive failures; retry in \d+ s$/);
      assert.equal(e.detail.upstream, 'up');
      assert.equal(typeof e.detail.retryAfterMs, 'number');
      return true;
    });
    assert.equal(target.calls, 3, 'the open breaker did not call the upstream');
    const s = stats();
    assert.deepEqual([s.failures, s.timeouts, s.shortCircuited, s.breaker.opens], [3, 0, 1, 1]);
  });

  it('counts timeouts, but not JSON-RPC errors or the caller\'s cancellation, and a success resets the count', async () => {
    const { target, call, stats } = setup({ consecutiveFailures: 2, halfOpenAfterMs: 60_000 });
    target.behaviour = 'timeout';
    await assert.rejects(call(), faultNamed('upstream_timeout'));
    target.behaviour = 'rpc-error';
    const res = await call();
    assert.ok('error' in res, 'the upstream\'s error is an answer');
    target.behaviour = 'timeout';
    await assert.rejects(call(), faultNamed('upstream_timeout'));
    assert.equal(stats().breaker.state, 'closed', 'the JSON-RPC error broke the run of failures');

    target.behaviour = 'hang';
    const ac = new AbortController();
    const pending = call('tools/call', { signal: ac.signal });
    ac.abort(new CancelledFault(gatewayError('upstream_failed', 'tools/call on upstream "up" was cancelled')));
    await assert.rejects(pending, faultNamed('upstream_failed'));
    assert.equal(stats().breaker.state, 'closed', 'a cancellation is not the upstream failing');
    assert.equal(stats().failures, 2);
    assert.equal(stats().timeouts, 2);

    target.behaviour = 'timeout';
    await assert.rejects(call(), faultNamed('upstream_timeout'));
    assert.equal(stats().breaker.state, 'open');
  });

  it('half-opens after halfOpenAfterMs: one trial passes, others fail fast, success closes it', async () => {
    const { target, call, stats } = setup({ consecutiveFailures: 2, halfOpenAfterMs: 50 });
    target.behaviour = 'failed';
    await failTimes(call, 2);
    assert.equal(stats().breaker.state, 'open');
    await untilTrialAllowed(stats);

    target.behaviour = 'hang';
    const trial = call();
    assert.equal(stats().breaker.state, 'half-open');
    await assert.rejects(call(), (err: unknown) => faultNamed('upstream_circuit_open')(err) && /half-open, a trial call is under way/.test((err as Error).message));
    assert.equal(target.calls, 3, 'only the trial reached the upstream');
    target.pending.shift()!({ jsonrpc: '2.0', id: 1, result: { content: [] } });
    await trial;
    assert.equal(stats().breaker.state, 'closed');

    target.behaviour = 'ok';
    await call();
    assert.equal(target.calls, 4);
  });

  it('re-opens when the trial fails, and when its caller abandons it', async () => {
    const { target, call, stats } = setup({ consecutiveFailures: 1, halfOpenAfterMs: 30 });
    target.behaviour = 'failed';
    await failTimes(call, 1);
    await untilTrialAllowed(stats);
    await assert.rejects(call(), faultNamed('upstream_failed'));
    assert.equal(stats().breaker.state, 'open');
    assert.equal(stats().breaker.opens, 2);
    await assert.rejects(call(), /circuit open again, the trial call did not succeed; retry in \d+ s$/);

    await untilTrialAllowed(stats);
    target.behaviour = 'hang';
    const ac = new AbortController();
    const trial = call('tools/call', { signal: ac.signal });
    ac.abort(new Error('agent left'));
    await assert.rejects(trial, /agent left/);
    assert.equal(stats().breaker.state, 'open', 'an abandoned trial proves nothing');
  });

  it('keeps its state across reloads that keep the upstream (even with new breaker settings), and starts afresh for a changed one', async () => {
    const { target, call, stats, reload } = setup({ consecutiveFailures: 2, halfOpenAfterMs: 60_000 });
    target.behaviour = 'failed';
    await failTimes(call, 2);
    reload({ timeoutMs: 12_345 });
    target.behaviour = 'ok';
    await assert.rejects(call(), faultNamed('upstream_circuit_open'));
    assert.equal(stats().breaker.state, 'open');
    assert.equal(stats().failures, 2, 'counters survive too');

    // Its own settings changed: the new breaker takes the state over, and the new delay applies.
    reload({ breaker: { consecutiveFailures: 3, halfOpenAfterMs: 20 } });
    assert.equal(stats().breaker.state, 'open');
    await assert.rejects(call(), faultNamed('upstream_circuit_open'));
    assert.equal(target.calls, 2);
    await untilTrialAllowed(stats);
    await call();
    assert.equal(stats().breaker.state, 'closed');
    assert.equal(stats().breaker.opens, 1);

    reload({ timeoutMs: 12_345 }, 'up-2');
    target.behaviour = 'failed';
    await failTimes(call, 1);
    assert.equal(stats().failures, 1, 'a changed upstream starts afresh');
  });

  it('judges calls after their retries: an attempt a retry recovered from is no failure of the upstream', async () => {
    const { target, call, stats } = setup({ consecutiveFailures: 2, halfOpenAfterMs: 60_000 }, { attempts: 1, initialDelayMs: 0, maxDelayMs: 1 } as never);
    for (let i = 0; i < 3; i++) {
      target.failNext = 1;
      await call();
    }
    const s = stats();
    assert.equal(s.breaker.state, 'closed');
    assert.deepEqual([s.failures, s.retries], [3, 3], 'each failed attempt is still counted');
  });

  it('refuses a call before any attempt once calls failed after their retries', async () => {
    const { target, call, stats } = setup({ consecutiveFailures: 2, halfOpenAfterMs: 60_000 }, { attempts: 3, initialDelayMs: 0, maxDelayMs: 1 } as never);
    target.behaviour = 'not-sent';
    await assert.rejects(call(), faultNamed('upstream_unavailable'));
    assert.equal(stats().breaker.state, 'closed');
    await assert.rejects(call(), faultNamed('upstream_unavailable'));
    assert.equal(stats().breaker.state, 'open');
    assert.equal(target.calls, 8);
    await assert.rejects(call(), faultNamed('upstream_circuit_open'));
    assert.equal(target.calls, 8);
    assert.deepEqual([stats().failures, stats().retries, stats().shortCircuited], [8, 6, 1]);
  });

  it('is absent with consecutiveFailures 0; failures are still counted', async () => {
    const { target, call, stats } = setup({ consecutiveFailures: 0, halfOpenAfterMs: 1_000 });
    target.behaviour = 'failed';
    await failTimes(call, 4);
    assert.equal(target.calls, 4);
    assert.equal(stats().breaker.state, 'off');
    assert.equal(stats().failures, 4);
  });
});

describe('circuit breaker and long-lived requests', () => {
  it('lets requests without a deadline pass by: they never count, never wait, and are never the trial', async () => {
    const { target, call, stats } = setup({ consecutiveFailures: 1, halfOpenAfterMs: 60_000 });
    target.behaviour = 'failed';
    await assert.rejects(call('subscriptions/listen', { timeoutMs: 0 }), faultNamed('upstream_failed'));
    assert.equal(stats().breaker.state, 'closed');
    await failTimes(call, 1);
    assert.equal(stats().breaker.state, 'open');
    target.behaviour = 'hang';
    const listen = call('subscriptions/listen', { timeoutMs: 0 });
    assert.equal(target.calls, 3, 'the listen stream reached the upstream');
    assert.equal(stats().breaker.state, 'open');
    target.pending.shift()!({ jsonrpc: '2.0', id: 1, result: {} });
    await listen;
  });
});
