// Shared bits of the replica pool tests: a pool over real servers, and reading which process answered.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { UpstreamConfig } from '../../src/config/schema/upstream.ts';
import type { CompiledUpstream } from '../../src/config/snapshot.ts';
import type { JsonRpcResponse } from '../../src/protocol/jsonrpc.ts';
import { UpstreamPool } from '../../src/upstream/pool.ts';
import type { CallOptions } from '../../src/upstream/session.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import { eventually, quietLogger } from './support/helpers.ts';

export const REPLICA_SERVER = fileURLToPath(new URL('../fixtures/replica-server.ts', import.meta.url));

/** The compiled form the registry hands a pool; the identity stands for the connection-shaping fields. */
export function compiled(config: UpstreamConfig, identity = `test-${config.name}`): CompiledUpstream {
  return Object.freeze({ name: config.name, config, identity, prefix: config.name, dir: process.cwd() });
}

export interface TestPool {
  readonly pool: UpstreamPool;
  /** Times the pool told the registry to rebuild the catalog. */
  changes: number;
}

export function newPool(spec: CompiledUpstream, store = new MemoryStore()): TestPool {
  const t: { pool?: UpstreamPool; changes: number } = { changes: 0 };
  t.pool = new UpstreamPool(spec, {
    log: quietLogger(),
    store,
    clientInfo: { name: 'gatehouse-test', version: '0.0.0' },
    onChange: () => t.changes++,
    onNotification: () => undefined,
    onServerRequest: async (_upstream, req) => ({ jsonrpc: '2.0', id: req.id, result: {} }),
  });
  return t as TestPool;
}

/** Waits until every replica of the pool is ready. */
export async function allReady(pool: UpstreamPool, what = pool.name): Promise<void> {
  await eventually(() => pool.replicas.length > 0 && pool.replicas.every((r) => r.state === 'ready'), `every replica of ${what} ready`, 30_000);
}

/** The pid the replica fixture reports in a tools/call result. */
export function pidOf(res: JsonRpcResponse): number {
  assert.ok('result' in res, `expected a result, got ${JSON.stringify(res)}`);
  const pid = (res.result.structuredContent as { pid?: unknown } | undefined)?.pid;
  assert.equal(typeof pid, 'number', `a pid in ${JSON.stringify(res.result)}`);
  return pid as number;
}

export function whoami(pool: { request(m: string, p: Record<string, unknown>, o: CallOptions): Promise<JsonRpcResponse> }, opts: CallOptions = {}): Promise<number> {
  return pool.request('tools/call', { name: 'whoami', arguments: {} }, opts).then(pidOf);
}

export function slowWhoami(pool: { request(m: string, p: Record<string, unknown>, o: CallOptions): Promise<JsonRpcResponse> }, ms: number, opts: CallOptions = {}): Promise<number> {
  return pool.request('tools/call', { name: 'slow_whoami', arguments: { ms } }, opts).then(pidOf);
}

/** The pid of each replica's stdio process, in replica order. */
export function replicaPids(pool: UpstreamPool): number[] {
  return pool.status().map((s) => {
    assert.ok(s.pid !== undefined, `${s.name} has a process`);
    return s.pid;
  });
}

export function count<T>(values: readonly T[]): Map<T, number> {
  const m = new Map<T, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}
