// When the audit trail cannot keep up, the configured choice applies and nothing goes unrecorded:
// a real PostgreSQL store stopped under a running gateway (fail closed: answers wait, then new calls
// are refused and the loss is recorded; spill: records go to local disk and are replayed), and a real
// webhook receiver that is down (spill: records wait in the store; fail closed: calls are refused
// until it catches up). The trail verifies afterwards every time.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AuditEntry } from '../../../src/audit/entry.ts';
import { storeVerifySource, verifyTrail } from '../../../src/audit/verify.ts';
import type { Store } from '../../../src/store/store.ts';
import { MODERN_FIXTURE, startGateway, type TestGateway } from '../../harness/gateway.ts';
import { waitFor } from '../../harness/pids.ts';
import { modernRequest, type RpcReply } from '../../harness/rpc.ts';
import { Receiver } from '../../integration/audit-sinks/receiver.ts';
import { freshDatabase, postgresSkipReason, startPostgres, type TestPostgres } from '../../support/postgres.ts';

const fixture = { name: 'fx', transport: 'stdio', command: process.execPath, args: [MODERN_FIXTURE, 'stdio'] };
const echo = (url: string, message: string): Promise<RpcReply> => modernRequest(url, 'tools/call', { name: 'fx__echo', arguments: { message } });

async function entries(store: Store): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for (const c of await store.auditChains()) {
    for (let after = 0; ; ) {
      const rows = await store.readAudit(c.chain, after, 1000);
      if (rows.length === 0) break;
      out.push(...rows.map((r) => JSON.parse(r.text) as AuditEntry));
      after = rows[rows.length - 1]!.seq;
    }
  }
  return out;
}

async function assertVerifies(store: Store): Promise<void> {
  const report = await verifyTrail(storeVerifySource(store));
  assert.equal(report.ok, true, JSON.stringify(report, null, 2));
}

const skip = postgresSkipReason();

describe('audit: the PostgreSQL store goes down under a running gateway', { skip }, () => {
  let pg: TestPostgres;
  before(async () => {
    pg = await startPostgres();
  });
  after(() => pg?.stop());

  it('fail_closed: answers wait for the store, then new calls are refused; the loss is recorded once it is back', async () => {
    const gw = await startGateway({ store: { kind: 'postgres', url: await freshDatabase(pg.url) }, audit: { buffer: 3, overflow: 'fail_closed' }, upstreams: [fixture] });
    try {
      assert.ok((await echo(gw.url, 'before')).response?.result);
      await pg.halt('immediate');
      let answered = 0;
      const waiting = ['w1', 'w2', 'w3'].map((m) => echo(gw.url, m).then((r) => (answered++, r)));
      const audit = gw.running.gateway.audit!;
      await waitFor(() => audit.status().committer.buffered >= 3, 'three records held in the buffer');
      assert.equal(answered, 0, 'no answer is released before its record is durable');
      const refused = await echo(gw.url, 'refused');
      assert.equal(refused.status, 503);
      assert.equal(refused.response?.error?.code, -31505);
      await pg.resume();
      const done = await Promise.all(waiting);
      assert.ok(done.every((r) => r.response?.result !== undefined), 'the held calls complete once the store is back');
      await waitFor(async () => (await entries(gw.running.gateway.store)).some((e) => e.type === 'gap'), 'the gap entry');
      const all = await entries(gw.running.gateway.store);
      const gap = all.find((e) => e.type === 'gap')!;
      assert.equal(gap.gap?.reason, 'buffer_full');
      assert.ok((gap.gap?.lost ?? 0) >= 1);
      assert.equal(all.filter((e) => e.method === 'tools/call' && e.outcome === 'ok').length, 4, JSON.stringify(all.map((e) => [e.seq, e.type, e.method, e.outcome])));
      assert.ok((await echo(gw.url, 'after')).response?.result, 'calls are accepted again');
      await assertVerifies(gw.running.gateway.store);
    } finally {
      await gw.stop();
    }
  });

  it('spill: answers are released from local disk while the store is down, and the spill is replayed in order', async () => {
    const gw = await startGateway({ store: { kind: 'postgres', url: await freshDatabase(pg.url) }, audit: { overflow: 'spill' }, upstreams: [fixture] });
    const spillDir = join(gw.dir, 'data', 'audit-spill');
    try {
      assert.ok((await echo(gw.url, 'before')).response?.result);
      await pg.halt('immediate');
      for (let i = 0; i < 5; i++) assert.ok((await echo(gw.url, `down-${i}`)).response?.result, 'answered while the store is down');
      assert.ok(existsSync(spillDir) && readdirSync(spillDir).length > 0, 'records wait on local disk');
      await pg.resume();
      const audit = gw.running.gateway.audit!;
      await waitFor(() => audit.status().committer.mode === 'direct', 'the spill to be replayed');
      assert.deepEqual(readdirSync(spillDir), []);
      const calls = (await entries(gw.running.gateway.store)).filter((e) => e.method === 'tools/call');
      assert.equal(calls.length, 6);
      assert.ok(audit.status().committer.spilled >= 5);
      await assertVerifies(gw.running.gateway.store);
    } finally {
      await gw.stop();
    }
  });
});

describe('audit: a webhook sink is down', () => {
  let hook: Receiver;
  let down = true;
  before(async () => {
    hook = new Receiver();
    hook.answer = () => (down ? { status: 503, body: '{"error":"maintenance"}' } : { status: 200, body: '{}' });
    await hook.start();
  });
  after(() => hook.stop());

  const delivered = () => hook.accepted.flatMap((r) => JSON.parse(r.body) as { seq: number; type: string }[]);
  const sink = (overflow: string) => ({ name: 'siem', kind: 'webhook', url: hook.url('/audit'), maxLag: 3, overflow, batch: 50, retry: { initialDelayMs: 20, maxDelayMs: 100 } });

  async function run(overflow: 'spill' | 'fail_closed', check: (gw: TestGateway, refused: RpcReply | undefined) => Promise<void>): Promise<void> {
    down = true;
    hook.accepted.length = 0;
    const gw = await startGateway({ audit: { sinks: [sink(overflow)] }, upstreams: [fixture] });
    try {
      let refused: RpcReply | undefined;
      for (let i = 0; i < 30 && refused === undefined; i++) {
        const r = await echo(gw.url, `m${i}`);
        if (r.response?.error !== undefined) refused = r;
        await waitFor(() => gw.running.gateway.audit!.status().sinks.streams[0]!.head >= i + 1 || undefined, 'the sink to see the head');
        if (overflow === 'spill' && i >= 8) break;
      }
      await check(gw, refused);
      down = false;
      const store = gw.running.gateway.store;
      await waitFor(async () => delivered().length >= (await entries(store)).length || undefined, 'every record to be delivered');
      const seqs = delivered().map((d) => d.seq);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in chain order');
      assert.equal(new Set(seqs).size, seqs.length, 'each once');
      assert.ok(delivered().some((d) => d.type === 'gap'), 'the sink receives the gap entry too');
      assert.ok((await echo(gw.url, 'after')).response?.result);
      await assertVerifies(store);
    } finally {
      await gw.stop();
    }
  }

  it('spill: calls go on, records wait in the store, the sink falling behind is recorded, everything arrives once back', async () => {
    await run('spill', async (gw, refused) => {
      assert.equal(refused, undefined, 'no call refused');
      const all = await entries(gw.running.gateway.store);
      await waitFor(async () => (await entries(gw.running.gateway.store)).some((e) => e.type === 'gap' && e.gap?.reason === 'sink_behind'), 'the sink_behind entry');
      assert.ok(all.length >= 9);
    });
  });

  it('fail_closed: once the sink is behind, new calls are refused (and recorded) until it catches up', async () => {
    await run('fail_closed', async (gw, refused) => {
      assert.ok(refused !== undefined, 'a call was refused');
      assert.equal(refused.status, 503);
      assert.equal(refused.response?.error?.code, -31505);
      const all = await entries(gw.running.gateway.store);
      assert.ok(all.some((e) => e.outcome === 'error' && e.error?.name === 'audit_unavailable'), 'the refusal is in the trail');
      assert.ok(all.some((e) => e.type === 'gap' && e.gap?.reason === 'sink_behind'));
    });
  });
});
