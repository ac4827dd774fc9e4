// The tracing interceptor in the router's chain, with a stand-in tracer: one span per attempt (inside
// retry), the attempt's context on the wire (`_meta` replaced, never the agent's object modified, and
// CallOptions.trace for HTTP headers), nothing at all when the tracer has no exchange to hang under.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { gatewayError } from '../../../src/errors/codes.ts';
import type { JsonRpcResponse } from '../../../src/protocol/jsonrpc.ts';
import type { TraceHeaders } from '../../../src/protocol/trace-context.ts';
import type { UpstreamCallRequest, UpstreamTarget } from '../../../src/upstream/interceptors/interceptor.ts';
import { withTraceMeta, type AttemptSpan, type AttemptTracer } from '../../../src/upstream/interceptors/tracing.ts';
import { Router } from '../../../src/upstream/router.ts';
import { NotSentFault, type CallOptions } from '../../../src/upstream/session.ts';
import { lookup, snapshotOf } from '../../upstream/interceptors/support/kit.ts';
import { stdioConfig } from '../../upstream/support/helpers.ts';

interface Sent {
  params: Record<string, unknown> | undefined;
  trace: TraceHeaders | undefined;
}

/** Records what each attempt carried; fails the first `failFirst` attempts as never sent. */
class RecordingTarget implements UpstreamTarget {
  readonly name = 'up';
  readonly sent: Sent[] = [];
  failFirst = 0;

  async request(_method: string, params: Record<string, unknown> | undefined, opts: CallOptions): Promise<JsonRpcResponse> {
    this.sent.push({ params, trace: opts.trace });
    opts.replica = `up#${this.sent.length}`;
    if (this.sent.length <= this.failFirst) throw new NotSentFault(gatewayError('upstream_unavailable', 'upstream "up": no ready replica'));
    return { jsonrpc: '2.0', id: 1, result: {} };
  }
}

interface Ended {
  attempt: number;
  ok: boolean;
  replica: string | undefined;
}

class StandInTracer implements AttemptTracer {
  readonly ended: Ended[] = [];
  active = true;
  propagate = true;

  start(upstream: string, req: UpstreamCallRequest, attempt: number): AttemptSpan | undefined {
    if (!this.active) return undefined;
    const carrier: TraceHeaders | undefined = this.propagate ? { traceparent: `00-${'a'.repeat(32)}-${String(attempt).padStart(16, '0')}-01`, tracestate: undefined } : undefined;
    const ended = this.ended;
    assert.equal(upstream, 'up');
    assert.equal(req.method, 'tools/call');
    return {
      carrier,
      end(res, err, replica) {
        ended.push({ attempt, ok: res !== undefined && err === undefined, replica });
      },
    };
  }
}

function route(tracer: StandInTracer, retryAttempts = 2) {
  const target = new RecordingTarget();
  const router = new Router(lookup(target), pino({ level: 'silent' }), tracer);
  const snapshot = snapshotOf([stdioConfig(['x'], { name: 'up', retry: { attempts: retryAttempts, initialDelayMs: 1, maxDelayMs: 2, idempotentTools: [] } } as never)]);
  return { target, call: (params: Record<string, unknown>, opts: CallOptions = {}) => router.call(snapshot, 'up', 'tools/call', params, opts) };
}

describe('tracing interceptor', () => {
  it('one span per attempt, numbered, each attempt carrying its own context; the agent`s params untouched', async () => {
    const tracer = new StandInTracer();
    const { target, call } = route(tracer);
    target.failFirst = 1;
    const agentMeta = { traceparent: `00-${'b'.repeat(32)}-${'c'.repeat(16)}-01`, tracestate: 'agent=1', progressToken: 7 };
    const params = { name: 'echo', arguments: { message: 'hi' }, _meta: agentMeta };
    const opts: CallOptions = {};
    await call(params, opts);
    assert.deepEqual(tracer.ended, [
      { attempt: 1, ok: false, replica: 'up#1' },
      { attempt: 2, ok: true, replica: 'up#2' },
    ]);
    assert.equal(target.sent.length, 2);
    for (const [i, s] of target.sent.entries()) {
      const expected = `00-${'a'.repeat(32)}-${String(i + 1).padStart(16, '0')}-01`;
      assert.deepEqual(s.params?._meta, { traceparent: expected, progressToken: 7 }, "the attempt's context replaces the agent's, other keys stay");
      assert.equal(s.trace?.traceparent, expected);
      assert.deepEqual(s.params?.arguments, { message: 'hi' });
    }
    assert.equal(params._meta, agentMeta);
    assert.equal(agentMeta.traceparent, `00-${'b'.repeat(32)}-${'c'.repeat(16)}-01`, "the agent's object is not modified");
  });

  it('outside a traced exchange, or with propagation off, the call goes out as it came', async () => {
    const tracer = new StandInTracer();
    const { target, call } = route(tracer);
    tracer.active = false;
    const params = { name: 'echo', _meta: { traceparent: 'agent' } };
    await call(params);
    assert.equal(target.sent[0]!.params, params);
    assert.equal(target.sent[0]!.trace, undefined);
    assert.deepEqual(tracer.ended, []);

    tracer.active = true;
    tracer.propagate = false;
    await call(params);
    assert.equal(target.sent[1]!.params, params, 'spans are made, the wire is left alone');
    assert.equal(target.sent[1]!.trace, undefined);
    assert.equal(tracer.ended.length, 1);
  });

  it('without retries a call is one attempt, still traced', async () => {
    const tracer = new StandInTracer();
    const { call } = route(tracer, 0);
    await call({ name: 'echo' });
    assert.deepEqual(tracer.ended.map((e) => e.attempt), [1]);
  });

  it('withTraceMeta: adds `_meta` when there is none, drops a stale tracestate, keeps a malformed `_meta` as it came', () => {
    const carrier = { traceparent: 'tp', tracestate: undefined };
    assert.deepEqual(withTraceMeta(undefined, carrier), { _meta: { traceparent: 'tp' } });
    assert.deepEqual(withTraceMeta({ a: 1 }, carrier), { a: 1, _meta: { traceparent: 'tp' } });
    assert.deepEqual(withTraceMeta({ _meta: { tracestate: 'old=1' } }, carrier), { _meta: { traceparent: 'tp' } });
    assert.deepEqual(withTraceMeta({ _meta: {} }, { traceparent: 'tp', tracestate: 'gw=2' }), { _meta: { traceparent: 'tp', tracestate: 'gw=2' } });
    const odd = { _meta: 'not an object' };
    assert.equal(withTraceMeta(odd, carrier), odd);
  });
});
