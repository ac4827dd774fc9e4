// Deadlines and retries through a whole gateway, seen by a 2026-07-28 agent: per-tool timeouts that
// cancel the upstream work, progress that keeps a call alive up to the hard maximum, read-only tools
// retried after a timeout and write tools not. The upstream reports on stderr (to a file the test
// reads) what it started and what it was told to cancel.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startGateway, type TestGateway } from '../../harness/gateway.ts';
import { waitFor } from '../../harness/pids.ts';
import { modernRequest, type RpcMessage } from '../../harness/rpc.ts';
import { resilienceUpstream } from '../../upstream/interceptors/support/kit.ts';

function startedIds(log: string, tool: string): string[] {
  return [...log.matchAll(new RegExp(`^started ${tool} (\\S+)$`, 'gm'))].map((m) => m[1]!);
}

function errorOf(m: RpcMessage | undefined): { code: number; message: string; data: Record<string, unknown> } {
  assert.ok(m?.error !== undefined, `expected an error, got ${JSON.stringify(m)}`);
  return { code: m.error.code, message: m.error.message, data: m.error.data ?? {} };
}

function textOf(m: RpcMessage | undefined): string {
  assert.ok(m?.result !== undefined, `expected a result, got ${JSON.stringify(m)}`);
  return (m.result.content as Array<{ text: string }>)[0]!.text;
}

describe('resilience end to end: deadlines and retries', () => {
  let gw: TestGateway;
  let tmp: string;
  let stderr: string;
  const seen = () => readFileSync(stderr, 'utf8');
  const call = (tool: string, args: Record<string, unknown>, meta?: Record<string, unknown>) =>
    modernRequest(gw.url, 'tools/call', { name: `res__${tool}`, arguments: args, ...(meta === undefined ? {} : { _meta: meta }) });
  const stats = () => gw.running.gateway.router.stats(gw.running.gateway.snapshot).find((s) => s.upstream === 'res')!;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'gatehouse-resilience-'));
    stderr = join(tmp, 'server.stderr');
    writeFileSync(stderr, '');
    gw = await startGateway({
      upstreams: [
        resilienceUpstream(stderr, {
          timeoutMs: 3_000,
          toolTimeoutsMs: { never: 300, slow_first: 300, sleepy_progress: 800 },
          progressResetsTimeout: true,
          maxTimeoutMs: 3_000,
          toolClasses: { slow_first: 'read_only' },
          retry: { attempts: 2, initialDelayMs: 10, maxDelayMs: 50 },
          breaker: { consecutiveFailures: 0 },
        }),
      ],
    });
  });
  after(async () => {
    await gw.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('a per-tool timeout answers upstream_timeout naming the deadline, cancels the upstream work, and a write tool is not retried', async () => {
    const before = startedIds(seen(), 'never').length;
    const e = errorOf((await call('never', {})).response);
    assert.equal(e.code, -31002);
    assert.equal(e.data.deadline, 'toolTimeoutsMs "never"');
    assert.equal(e.data.timeoutMs, 300);
    assert.deepEqual(e.data.gatehouse, { error: 'upstream_timeout', retryable: true });
    const ids = startedIds(seen(), 'never').slice(before);
    assert.equal(ids.length, 1, 'the write tool reached the upstream once');
    await waitFor(() => seen().includes(`cancelled never ${ids[0]}\n`), 'the upstream to be told to cancel');
  });

  it('progress keeps a call alive past its deadline, and reaches an agent that asked for it', async () => {
    const r = await call('sleepy_progress', { ms: 2_000, every: 30 }, { progressToken: 'mine' });
    assert.match(textOf(r.response), /^worked 2000ms/);
    const progress = r.messages.filter((m) => m.method === 'notifications/progress');
    assert.ok(progress.length > 0);
    assert.ok(progress.every((m) => m.params?.progressToken === 'mine'));
  });

  it('the hard maximum ends the call however often progress comes', async () => {
    const before = startedIds(seen(), 'sleepy_progress').length;
    const e = errorOf((await call('sleepy_progress', { ms: 60_000, every: 30 })).response);
    assert.equal(e.code, -31002);
    assert.equal(e.data.deadline, 'maxTimeoutMs');
    assert.match(e.message, /hard maximum of 3000 ms/);
    const id = startedIds(seen(), 'sleepy_progress')[before];
    await waitFor(() => seen().includes(`cancelled sleepy_progress ${id}\n`), 'the upstream to be told to cancel');
  });

  it('a read-only tool that timed out is retried, and the retry is counted', async () => {
    const retries = stats().retries;
    const r = await call('slow_first', { key: 'e2e', ms: 60_000 });
    assert.equal(textOf(r.response), 'call 2 for e2e');
    const [first] = startedIds(seen(), 'slow_first');
    await waitFor(() => seen().includes(`cancelled slow_first ${first}\n`), 'the first attempt to be cancelled upstream');
    const s = stats();
    assert.equal(s.retries, retries + 1);
    assert.ok(s.timeouts >= 1);
    assert.equal(s.breaker.state, 'off');
  });
});
