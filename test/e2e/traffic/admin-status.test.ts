// GET /v1/traffic on the admin plane: one document with what the limits, the breakers, the replicas
// and the response cache did, counted from real calls through the data plane.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MODERN_FIXTURE, newAdminKey, startGateway, withAdminPlane, type TestGateway } from '../../harness/gateway.ts';
import { modernRequest } from '../../harness/rpc.ts';

describe('traffic status on the admin plane', () => {
  let gw: TestGateway;
  let adminKey: string;

  const status = async (key = adminKey) => {
    const res = await fetch(`${gw.running.admin!.url}/v1/traffic`, { headers: { authorization: `Bearer ${key}` } });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  before(async () => {
    gw = await startGateway(withAdminPlane({
      // Three tokens and practically no refill: the fourth call is refused whatever the machine's speed.
      traffic: { limits: [{ name: 'agent-rate', key: ['agent'], rate: { tokens: 1, per: '1h', burst: 3 } }] },
      upstreams: [
        {
          name: 'fx',
          transport: 'stdio',
          command: process.execPath,
          args: [MODERN_FIXTURE, 'stdio'],
          replicas: 2,
          toolClasses: { echo: 'read_only' },
          cache: { tools: { echo: 60_000 }, scope: 'shared' },
        },
      ],
    }));
    // Startup waits for one replica per upstream; this test shows both.
    await gw.running.gateway.registry.settled(20_000, { everyReplica: true });
    adminKey = await newAdminKey(gw);
  });
  after(() => gw.stop());

  it('counts admitted and refused calls per limit, cache hits, and shows each replica and breaker', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await modernRequest(gw.url, 'tools/call', { name: 'fx__echo', arguments: { message: 'same' } });
      outcomes.push(r.response?.error === undefined ? 'ok' : String((r.response.error.data as any)?.gatehouse?.error));
    }
    assert.deepEqual(outcomes, ['ok', 'ok', 'ok', 'rate_limited']);

    const r = await status();
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const limit = r.body.limits['agent-rate'];
    assert.equal(limit.admitted, 3);
    assert.equal(limit.refused.rate, 1);
    assert.equal(r.body.counters.kind, 'memory');
    assert.equal(r.body.cache.misses, 1, 'the first call reached the upstream');
    assert.equal(r.body.cache.hits, 2, 'the next two were served from the cache');
    const [fx] = r.body.upstreams;
    assert.equal(fx.name, 'fx');
    assert.equal(fx.state, 'ready');
    assert.equal(fx.breaker.state, 'closed');
    assert.deepEqual(fx.replicas.map((x: { name: string; state: string }) => [x.name, x.state]), [['fx#1', 'ready'], ['fx#2', 'ready']]);
    assert.equal(fx.replicas.reduce((n: number, x: { calls: number }) => n + x.calls, 0) >= 1, true);
  });

  it('is for admins only', async () => {
    const r = await status('ghk_not-a-key');
    assert.equal(r.status, 401);
  });
});
