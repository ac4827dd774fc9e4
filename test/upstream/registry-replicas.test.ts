// The registry over compiled snapshots with replicas: a reload that changes only the number of replicas
// (or the replica URLs) keeps the upstream and its running replicas; one that changes how it connects
// replaces them all; the catalog lists a replicated upstream's tools once; start-up readiness needs
// one replica per upstream.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { compileConfig } from '../../src/config/compile.ts';
import { parseConfigText } from '../../src/config/load.ts';
import type { Snapshot } from '../../src/config/snapshot.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import { UpstreamRegistry } from '../../src/upstream/registry.ts';
import { REPLICA_SERVER, replicaPids, whoami } from './pool-support.ts';
import { eventually, pidAlive, quietLogger } from './support/helpers.ts';

function snapshot(upstream: Record<string, unknown>): Snapshot {
  const config = {
    version: 1,
    auth: { methods: [{ name: 'anon', type: 'anonymous', agent: 'test' }] },
    gateway: { listen: { auth: ['anon'] } },
    upstreams: [{ name: 'files', transport: 'stdio', command: process.execPath, args: [REPLICA_SERVER, 'stdio'], healthIntervalMs: 0, ...upstream }],
  };
  return compileConfig(parseConfigText(stringify(config), `${process.cwd()}/gatehouse.yaml`, {}));
}

describe('registry: replicated upstreams across reloads', () => {
  const registry = new UpstreamRegistry({
    log: quietLogger(),
    store: new MemoryStore(),
    clientInfo: { name: 'gatehouse-test', version: '0.0.0' },
    onNotification: () => undefined,
    onServerRequest: async (_u, req) => ({ jsonrpc: '2.0', id: req.id, result: {} }),
  });
  const seen = new Set<number>();
  const files = () => registry.get('files')!;
  const ready = () => eventually(() => files().replicas.every((r) => r.state === 'ready'), 'every replica ready', 30_000);

  before(async () => {
    await registry.apply(snapshot({ replicas: 2 }));
    await registry.settled(30_000);
    assert.equal(files().state, 'ready', 'start-up waits for one replica per upstream');
    await ready();
    for (const p of replicaPids(files())) seen.add(p);
  });
  after(async () => {
    await registry.close();
    for (const pid of seen) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  });

  it('the catalog lists the tools of a replicated upstream once', () => {
    const names = [...registry.catalog.toolIndex.keys()].sort();
    assert.deepEqual(names, ['files__slow_whoami', 'files__whoami']);
  });

  it('a reload that adds a replica keeps the upstream and the running replicas', async () => {
    const pool = files();
    const before = replicaPids(pool);
    await registry.apply(snapshot({ replicas: 3, timeoutMs: 30_000 }));
    assert.equal(files(), pool, 'the same upstream');
    await ready();
    const now = replicaPids(pool);
    for (const p of now) seen.add(p);
    assert.deepEqual(now.slice(0, 2), before);
    assert.equal(now.length, 3);
    assert.ok(now.includes(await whoami(pool)));
  });

  it('a reload that changes nothing keeps every replica', async () => {
    const before = replicaPids(files());
    await registry.apply(snapshot({ replicas: 3, timeoutMs: 30_000 }));
    assert.deepEqual(replicaPids(files()), before);
  });

  it('a reload that changes how it connects replaces every replica', async () => {
    const pool = files();
    const before = replicaPids(pool);
    await registry.apply(snapshot({ replicas: 2, env: { MARK: 'changed' } }));
    assert.notEqual(files(), pool, 'a new upstream');
    await ready();
    const now = replicaPids(files());
    for (const p of now) seen.add(p);
    assert.equal(now.length, 2);
    for (const p of before) assert.ok(!now.includes(p) && !pidAlive(p), `old replica ${p} stopped`);
  });
});
