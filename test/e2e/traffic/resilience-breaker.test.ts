// The circuit breaker through a whole gateway against a real server: consecutive timeouts open it,
// calls then fail fast without reaching the upstream, its state survives a config reload that keeps
// the upstream, and after halfOpenAfterMs one trial call closes it again.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startGateway, type TestGateway } from '../../harness/gateway.ts';
import { upstreamPid, waitFor } from '../../harness/pids.ts';
import { modernRequest } from '../../harness/rpc.ts';
import { resilienceUpstream } from '../../upstream/interceptors/support/kit.ts';

describe('resilience end to end: circuit breaker', () => {
  let gw: TestGateway;
  let tmp: string;
  let stderr: string;
  const seen = () => readFileSync(stderr, 'utf8');
  const started = (tool: string) => [...seen().matchAll(new RegExp(`^started ${tool} `, 'gm'))].length;
  const call = (tool: string, args: Record<string, unknown>) => modernRequest(gw.url, 'tools/call', { name: `res__${tool}`, arguments: args });
  const stats = () => gw.running.gateway.router.stats(gw.running.gateway.snapshot).find((s) => s.upstream === 'res')!;
  const upstream = (over: Record<string, unknown>) => ({
    upstreams: [resilienceUpstream(stderr, { timeoutMs: 20_000, toolTimeoutsMs: { never: 150 }, retry: { attempts: 0 }, ...over })],
  });

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'gatehouse-breaker-'));
    stderr = join(tmp, 'server.stderr');
    writeFileSync(stderr, '');
    gw = await startGateway(upstream({ breaker: { consecutiveFailures: 3, halfOpenAfterMs: 60_000 } }));
  });
  after(async () => {
    await gw.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('opens after consecutive timeouts, fails fast without the upstream, keeps its state across a reload, half-opens and closes', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await call('never', {})).response?.error?.code, -31002);
    assert.equal(stats().breaker.state, 'open');

    const slowBefore = started('slow');
    const refused = (await call('slow', { ms: 0 })).response?.error;
    assert.equal(refused?.code, -31005);
    assert.match(refused.message, /^upstream "res" is failing: circuit open after 3 consecutive failures; retry in \d+ s$/);
    assert.equal(refused.data?.upstream, 'res');
    assert.equal(typeof refused.data?.retryAfterMs, 'number');
    assert.deepEqual(refused.data?.gatehouse, { error: 'upstream_circuit_open', retryable: true });
    assert.equal(started('slow'), slowBefore, 'the open breaker kept the call from the upstream');

    // A reload that keeps the upstream (same process) keeps the breaker open; the new delay applies.
    const pid = upstreamPid(gw, 'res');
    gw.rewrite(upstream({ timeoutMs: 25_000, breaker: { consecutiveFailures: 3, halfOpenAfterMs: 300 } }));
    assert.deepEqual(await gw.running.reload(), { ok: true });
    assert.equal(upstreamPid(gw, 'res'), pid, 'the upstream kept running');
    assert.equal(stats().breaker.state, 'open');
    assert.equal(stats().breaker.opens, 1);
    assert.equal((await call('slow', { ms: 0 })).response?.error?.code, -31005);
    assert.equal(started('slow'), slowBefore);

    await waitFor(() => stats().breaker.retryAfterMs === 0, 'the breaker to let a trial call through');
    const trial = await call('slow', { ms: 0 });
    assert.equal((trial.response?.result?.content as Array<{ text: string }> | undefined)?.[0]?.text, 'slept 0ms');
    assert.equal(started('slow'), slowBefore + 1);
    const s = stats();
    assert.equal(s.breaker.state, 'closed');
    assert.deepEqual([s.failures, s.timeouts, s.shortCircuited, s.breaker.opens], [3, 3, 2, 1]);

    assert.equal((await call('echo', { message: 'back' })).response?.result?.content !== undefined, true);
  });
});
