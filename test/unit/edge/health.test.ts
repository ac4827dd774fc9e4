// Readiness as a value (fake gateway state, real and fake stores), the shared store pinger, the probe
// paths, and the config refusing an endpoint path that a probe would shadow.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileConfig } from '../../../src/config/compile.ts';
import { ConfigError } from '../../../src/config/errors.ts';
import { parseConfigText } from '../../../src/config/load.ts';
import type { ReloadStatus } from '../../../src/config/snapshot-store.ts';
import { gatewayError, type GatewayError } from '../../../src/errors/codes.ts';
import { probeOf, probePathConflicts } from '../../../src/edge/health.ts';
import { readiness, StorePinger, type ReadinessSource, type UpstreamView } from '../../../src/edge/readiness.ts';
import { MemoryStore } from '../../../src/store/memory.ts';
import { StoreError } from '../../../src/store/store.ts';
import type { UpstreamState } from '../../../src/upstream/handle.ts';

const up = (name: string, state: UpstreamState, required: boolean, reason?: string): UpstreamView => ({ name, state, reason, spec: { config: { required } } });

function source(over: Partial<{ store: ReadinessSource['store']; upstreams: UpstreamView[]; refusal: GatewayError; audit: boolean; draining: boolean; leaving: boolean; lastReload: ReloadStatus }> = {}): ReadinessSource {
  return {
    snapshots: { current: {}, generation: 3, lastReload: over.lastReload ?? { ok: true, at: new Date('2026-11-02T10:00:00.000Z'), generation: 3 } },
    // A fresh store per source: the pinger cache is per store.
    store: over.store ?? new MemoryStore(),
    audit: over.audit === false ? undefined : { refusal: () => over.refusal },
    registry: { handles: () => over.upstreams ?? [] },
    draining: over.draining ?? false,
    leaving: over.leaving ?? false,
  };
}

const full = { detail: true };
// The pinger calls the store on the next microtask (so that a ping that throws is a failed check).
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('readiness', () => {
  it('is ready with every check passing, and counts optional upstreams without requiring them', async () => {
    const r = await readiness(source({ upstreams: [up('b', 'ready', true), up('a', 'ready', true), up('opt', 'unhealthy', false, 'exited with code 1'), up('opt2', 'ready', false)] }), full);
    assert.equal(r.ready, true);
    assert.deepEqual(r.checks, {
      config: { ok: true, generation: 3, lastReload: { ok: true, at: '2026-11-02T10:00:00.000Z', generation: 3 } },
      store: { ok: true },
      audit: { ok: true, enabled: true },
      upstreams: { ok: true, required: [{ name: 'a', state: 'ready' }, { name: 'b', state: 'ready' }], optional: { total: 2, ready: 1 } },
      draining: { ok: true },
    });
  });

  it('is not ready while a required upstream is connecting or unhealthy, naming it and why', async () => {
    for (const state of ['connecting', 'unhealthy', 'stopped'] as const) {
      const r = await readiness(source({ upstreams: [up('db', state, true, 'spawn /nope ENOENT'), up('web', 'ready', true)] }), full);
      assert.equal(r.ready, false, state);
      assert.equal(r.checks.upstreams.ok, false);
      assert.deepEqual(r.checks.upstreams.required, [{ name: 'db', state, reason: 'spawn /nope ENOENT' }, { name: 'web', state: 'ready' }]);
    }
  });

  it('is not ready while draining, while the audit trail refuses, or when the store does not answer', async () => {
    const draining = await readiness(source({ draining: true }), full);
    assert.equal(draining.ready, false);
    assert.deepEqual(draining.checks.draining, { ok: false });
    const leaving = await readiness(source({ leaving: true }), full);
    assert.equal(leaving.ready, false, 'the drain delay: still serving, already not ready');

    const refusing = await readiness(source({ refusal: gatewayError('audit_unavailable', 'the audit trail is not keeping up') }), full);
    assert.equal(refusing.ready, false);
    assert.deepEqual(refusing.checks.audit, { ok: false, enabled: true, error: 'the audit trail is not keeping up' });

    // The memory store with a ping that fails the way a networked store's does.
    const store = new MemoryStore();
    store.ping = () => Promise.reject(new StoreError('io', 'cannot answer a ping in store db:5432/gh: connect ECONNREFUSED'));
    const down = await readiness(source({ store }), full);
    assert.equal(down.ready, false);
    assert.deepEqual(down.checks.store, { ok: false, error: 'cannot answer a ping in store db:5432/gh: connect ECONNREFUSED' });

    const closed = new MemoryStore();
    await closed.close();
    const r = await readiness(source({ store: closed }), full);
    assert.equal(r.ready, false);
    assert.match(r.checks.store.error ?? '', /closed/);
  });

  it('stays ready after a failed reload (the previous snapshot serves), and says so', async () => {
    const r = await readiness(source({ lastReload: { ok: false, at: new Date('2026-11-02T11:00:00.000Z'), generation: 3, error: 'gatehouse.yaml:4:3: bad' } }), full);
    assert.equal(r.ready, true);
    assert.deepEqual(r.checks.config.lastReload, { ok: false, at: '2026-11-02T11:00:00.000Z', generation: 3, error: 'gatehouse.yaml:4:3: bad' });
  });

  it('reports an audit trail that is off as enabled: false and ok', async () => {
    assert.deepEqual((await readiness(source({ audit: false }), full)).checks.audit, { ok: true, enabled: false });
  });

  it('withholds every free-text detail when asked to (the data plane view)', async () => {
    const store = new MemoryStore();
    store.ping = () => Promise.reject(new Error('10.0.0.5:5432 refused'));
    const r = await readiness(
      source({
        store,
        upstreams: [up('db', 'unhealthy', true, 'stderr: /srv/secret/path missing')],
        refusal: gatewayError('audit_unavailable', 'store unavailable'),
        lastReload: { ok: false, at: new Date('2026-11-02T11:00:00.000Z'), generation: 3, error: '/etc/gatehouse/gatehouse.yaml:1:1: bad' },
      }),
      { detail: false },
    );
    assert.equal(r.ready, false);
    assert.deepEqual(r.checks.store, { ok: false });
    assert.deepEqual(r.checks.audit, { ok: false, enabled: true });
    assert.deepEqual(r.checks.upstreams.required, [{ name: 'db', state: 'unhealthy' }]);
    assert.deepEqual(r.checks.config.lastReload, { ok: false, at: '2026-11-02T11:00:00.000Z', generation: 3 });
    assert.doesNotMatch(JSON.stringify(r), /10\.0\.0\.5|secret|etc\/gatehouse/);
  });
});

describe('StorePinger', () => {
  function counting(): { store: { ping(): Promise<void> }; calls: () => number; settle: (err?: Error) => void } {
    let calls = 0;
    let pending: PromiseWithResolvers<void> | undefined;
    return {
      store: {
        ping() {
          calls++;
          pending = Promise.withResolvers<void>();
          return pending.promise;
        },
      },
      calls: () => calls,
      settle: (err) => (err === undefined ? pending?.resolve() : pending?.reject(err)),
    };
  }

  it('shares one ping among concurrent checks and reuses its answer until the TTL passes', async () => {
    let now = 0;
    const s = counting();
    const p = new StorePinger(s.store, { ttlMs: 1_000, now: () => now });
    const checks = [p.check(), p.check(), p.check()];
    await tick();
    assert.equal(s.calls(), 1, 'one ping in flight for three probes');
    s.settle();
    assert.deepEqual(await Promise.all(checks), [{ ok: true }, { ok: true }, { ok: true }]);
    now = 999;
    assert.deepEqual(await p.check(), { ok: true });
    assert.equal(s.calls(), 1, 'answered from the cache within the TTL');
    now = 1_000;
    const next = p.check();
    await tick();
    assert.equal(s.calls(), 2, 'a new ping once the answer is a TTL old');
    s.settle(new Error('gone'));
    assert.deepEqual(await next, { ok: false, error: 'gone' });
    now = 1_500;
    assert.deepEqual(await p.check(), { ok: false, error: 'gone' }, 'failures are cached too');
    assert.equal(s.calls(), 2);
  });

  it('reports a ping that never answers as a failure after its timeout, and one that throws', async () => {
    const hanging = new StorePinger({ ping: () => new Promise<void>(() => undefined) }, { timeoutMs: 20 });
    assert.deepEqual(await hanging.check(), { ok: false, error: 'the store did not answer a ping within 20 ms' });
    const throwing = new StorePinger({
      ping: () => {
        throw new Error('sync failure');
      },
    });
    assert.deepEqual(await throwing.check(), { ok: false, error: 'sync failure' });
  });
});

describe('probe paths', () => {
  it('matches exactly, with or without a query', () => {
    assert.equal(probeOf('/healthz'), '/healthz');
    assert.equal(probeOf('/readyz?verbose=1'), '/readyz');
    for (const other of ['/healthz/', '/HEALTHZ', '/readyzz', '/mcp', '/', undefined]) assert.equal(probeOf(other), undefined, String(other));
  });

  it('finds endpoint paths a probe would shadow', () => {
    const legacySse = { enabled: true, ssePath: '/sse', messagesPath: '/messages' };
    assert.deepEqual(probePathConflicts({ listen: { path: '/mcp' }, legacySse }), []);
    assert.deepEqual(probePathConflicts({ listen: { path: '/readyz' }, legacySse: { ...legacySse, enabled: false, ssePath: '/healthz' } }).map((c) => c.path), [['listen', 'path']]);
    assert.deepEqual(probePathConflicts({ listen: { path: '/mcp' }, legacySse: { ...legacySse, messagesPath: '/healthz' } }).map((c) => c.path), [['legacySse', 'messagesPath']]);
  });

  it('makes compile refuse an MCP endpoint or legacy path at a probe path, naming the line', () => {
    const problems = (gateway: string): string[] => {
      const text = `version: 1
auth: { methods: [{ name: anon, type: anonymous, agent: a }] }
gateway:
${gateway}
`;
      try {
        compileConfig(parseConfigText(text, '/cfg/gatehouse.yaml', {}));
        return [];
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        return err.problems.map((p) => `${p.line}:${p.column}: ${p.message}`);
      }
    };
    assert.deepEqual(problems('  listen: { auth: [anon], path: /healthz }'), [
      "4:33: /healthz is the gateway's own probe path (/healthz, /readyz); choose another MCP endpoint path",
    ]);
    assert.deepEqual(problems('  listen: { auth: [anon] }\n  legacySse: { ssePath: /readyz }'), [
      "5:25: /readyz is the gateway's own probe path (/healthz, /readyz); choose another ssePath",
    ]);
    assert.deepEqual(problems('  listen: { auth: [anon] }\n  legacySse: { enabled: false, ssePath: /readyz }'), []);
  });
});
