// A tool of an upstream that is down: a caller who may use it learns it is unavailable (and from which
// upstream, so it can retry); a caller who may not gets the very answer a name that does not exist
// gets, so an outage never reveals what is hidden or where it lives.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO } from '../../harness/gateway.ts';
import { killLeftovers, pidAlive, upstreamPid, waitFor } from '../../harness/pids.ts';
import { assertSameAnswer, bearer, keyedGateway, legacySession, modernRaw, type KeyedGateway } from './helpers.ts';

const GATED = join(REPO, 'test/e2e/support/gated-everything.ts');

describe('policy and an upstream that is down', () => {
  let tmp: string;
  let gate: string;
  let k: KeyedGateway;
  const spawned = new Set<number>();

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'gatehouse-policy-down-'));
    gate = join(tmp, 'gate');
    k = await keyedGateway(
      {
        upstreams: [{ name: 'everything', transport: 'stdio', command: process.execPath, args: [GATED, gate], restart: { initialDelayMs: 50, maxDelayMs: 250 } }],
        policy: {
          rules: [
            { name: 'ops-all', effect: 'allow', when: { roles: ['ops'] } },
            { name: 'beta-echo', effect: 'allow', when: { agents: ['beta'], tools: ['everything__echo'] } },
          ],
        },
      },
      { alpha: { roles: ['ops'] }, beta: {} },
    );
    const reg = k.gw.running.gateway.registry;
    assert.equal(reg.get('everything')?.state, 'ready');
    const pid = upstreamPid(k.gw, 'everything');
    assert.ok(pid !== undefined);
    spawned.add(pid);
    writeFileSync(gate, 'closed'); // restarts fail until the test opens the gate again
    process.kill(pid, 'SIGKILL');
    await waitFor(() => reg.get('everything')?.state === 'unhealthy' && /gate closed|exited/.test(reg.get('everything')?.reason ?? ''), 'the upstream to be down');
    assert.equal(pidAlive(pid), false);
    assert.ok(reg.catalog.unavailable.has('everything__echo') && reg.catalog.unavailable.has('everything__get-sum'), 'the names stay reserved');
  });
  after(async () => {
    if (existsSync(gate)) unlinkSync(gate);
    await k?.gw.stop();
    rmSync(tmp, { recursive: true, force: true });
    assert.deepEqual(killLeftovers(spawned), [], 'no upstream process outlived the test');
  });

  it('a caller who may use the tool is told it is unavailable, naming the upstream', async () => {
    for (const key of [k.keys.alpha!, k.keys.beta!]) {
      const r = await modernRaw(k.gw.url, bearer(key), 'tools/call', { name: 'everything__echo', arguments: { message: 'x' } });
      assert.equal(r.status, 200);
      assert.equal(r.message?.error?.code, -31001);
      assert.match(r.message?.error?.message ?? '', /^tool "everything__echo" is unavailable: upstream "everything" is (unhealthy|connecting)/);
      assert.equal(r.message?.error?.data?.upstream, 'everything');
    }
    const p = await modernRaw(k.gw.url, bearer(k.keys.alpha!), 'prompts/get', { name: 'everything__simple-prompt' });
    assert.equal(p.message?.error?.code, -31001);
  });

  it('a caller who may not use it gets the unknown-name answer, in both eras, with no upstream named', async () => {
    const beta = bearer(k.keys.beta!);
    const cases: [string, string, string, Record<string, unknown>][] = [
      ['tools/call', 'everything__get-sum', 'everything__get-suX', { arguments: { a: 1, b: 2 } }],
      ['prompts/get', 'everything__simple-prompt', 'everything__simple-prompX', {}],
    ];
    const legacy = await legacySession(k.gw.url, beta);
    try {
      for (const [method, hidden, missing, extra] of cases) {
        const modernHidden = await modernRaw(k.gw.url, beta, method, { name: hidden, ...extra });
        assertSameAnswer(modernHidden, hidden, await modernRaw(k.gw.url, beta, method, { name: missing, ...extra }), missing, `${method} ${hidden} (2026-07-28)`);
        const legacyHidden = await legacy.call(method, { name: hidden, ...extra });
        assertSameAnswer(legacyHidden, hidden, await legacy.call(method, { name: missing, ...extra }), missing, `${method} ${hidden} (2025-11-25)`);
        for (const r of [modernHidden, legacyHidden]) {
          assert.match(r.message?.error?.message ?? '', /^Unknown (tool|prompt): /);
          assert.ok(!/unavailable|unhealthy|"upstream"/.test(r.text), `nothing about the outage: ${r.text}`);
        }
      }
    } finally {
      await legacy.close();
    }
    const rec = k.records.findLast((r) => r.method === 'tools/call' && r.target?.name === 'everything__get-sum');
    assert.equal(rec?.outcome, 'denied');
    assert.equal(rec?.policy?.reason, 'default');
  });

  it('once the upstream is back, the caller who may use it is served again', async () => {
    const reg = k.gw.running.gateway.registry;
    unlinkSync(gate);
    await waitFor(() => reg.get('everything')?.state === 'ready', 'the supervised restart');
    const pid = upstreamPid(k.gw, 'everything');
    if (pid !== undefined) spawned.add(pid);
    const r = await modernRaw(k.gw.url, bearer(k.keys.beta!), 'tools/call', { name: 'everything__echo', arguments: { message: 'back' } });
    assert.deepEqual(r.message?.result?.content, [{ type: 'text', text: 'Echo: back' }]);
    const hidden = await modernRaw(k.gw.url, bearer(k.keys.beta!), 'tools/call', { name: 'everything__get-sum', arguments: { a: 1, b: 2 } });
    assert.equal(hidden.message?.error?.message, 'Unknown tool: everything__get-sum');
  });
});
