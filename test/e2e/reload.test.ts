// Config reload under traffic: an SDK client keeps calling a tool while the config file is rewritten.
// Adding an upstream, a broken file, a timeout change and removing an upstream must each do exactly
// what they say and nothing more: no failed call, no needless restart, no leftover process.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { MEMORY, startGateway, stdioEverything, type TestGateway } from '../harness/gateway.ts';
import { killLeftovers, pidAlive, upstreamPid, waitFor } from '../harness/pids.ts';
import { listToolNames } from '../harness/rpc.ts';

/** Calls everything__echo back to back until stopped (or `max` calls), recording every failure. */
class Traffic {
  calls = 0;
  readonly failures: string[] = [];
  #stop = false;
  readonly #done: Promise<void>;

  constructor(client: Client, max = 20_000) {
    this.#done = (async () => {
      while (!this.#stop && this.calls < max) {
        const n = this.calls++;
        try {
          const r = await client.callTool({ name: 'everything__echo', arguments: { message: `m${n}` } });
          const text = (r.content as { text?: string }[])[0]?.text;
          if (text !== `Echo: m${n}`) this.failures.push(`call ${n}: unexpected result ${JSON.stringify(r)}`);
        } catch (err) {
          this.failures.push(`call ${n}: ${(err as Error).message}`);
        }
      }
    })();
  }

  /** Lets at least `n` more calls finish, so that each step is measured under traffic, not before it. */
  async atLeast(n: number): Promise<void> {
    const target = this.calls + n;
    await waitFor(() => this.calls >= target || this.#stop, `${n} more calls`);
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#done;
  }
}

describe('config reload under traffic', () => {
  let gw: TestGateway;
  let client: Client;
  let traffic: Traffic;
  let tmp: string;
  const pids = new Set<number>();
  const everything = stdioEverything('everything');
  let memory: Record<string, unknown>;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'gatehouse-reload-'));
    memory = { name: 'memory', transport: 'stdio', command: process.execPath, args: [MEMORY], env: { MEMORY_FILE_PATH: join(tmp, 'memory.jsonl') } };
    gw = await startGateway({ upstreams: [everything] });
    client = new Client({ name: 'reload-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(gw.url)));
    traffic = new Traffic(client);
    await traffic.atLeast(5);
  });
  after(async () => {
    await traffic.stop();
    await client.close();
    await gw.stop();
    rmSync(tmp, { recursive: true, force: true });
    assert.deepEqual(killLeftovers(pids), [], 'no upstream process outlived the gateway');
  });

  it('(a) adding an upstream: its tools appear, no call fails, the running upstream is untouched', async () => {
    const reg = gw.running.gateway.registry;
    const handle = reg.get('everything');
    const session = handle?.session;
    const pid = upstreamPid(gw, 'everything');
    assert.ok(pid !== undefined);
    pids.add(pid);
    const generation = gw.running.gateway.snapshots.generation;

    gw.rewrite({ upstreams: [everything, memory] });
    assert.deepEqual(await gw.running.reload(), { ok: true });
    assert.equal(gw.running.gateway.snapshots.generation, generation + 1);
    await waitFor(() => reg.get('memory')?.state === 'ready', 'memory ready');
    const memPid = upstreamPid(gw, 'memory');
    assert.ok(memPid !== undefined);
    pids.add(memPid);
    await traffic.atLeast(5);

    const names = await listToolNames(gw.url);
    assert.ok(names.includes('memory__read_graph'), 'the new upstream\'s tools are listed');
    assert.ok(names.includes('everything__echo'));
    const graph = await client.callTool({ name: 'memory__read_graph', arguments: {} });
    assert.ok(Array.isArray(graph.content));
    assert.equal(reg.get('everything'), handle, 'same handle');
    assert.equal(reg.get('everything')?.session, session, 'same session: not reconnected');
    assert.deepEqual(traffic.failures, []);
  });

  it('(b) a broken file is rejected with file:line:column and the old config keeps serving', async () => {
    const snapshots = gw.running.gateway.snapshots;
    const generation = snapshots.generation;
    const before = snapshots.current;
    gw.rewrite(
      [
        'version: 1',
        'upstreams:',
        '  - name: everything',
        '    transport: stdio',
        `    command: ${JSON.stringify(process.execPath)}`,
        '    colour: blue',
        '',
      ].join('\n'),
    );
    const r = await gw.running.reload();
    assert.equal(r.ok, false);
    assert.ok(!r.ok);
    assert.match(r.error, new RegExp(`${escape(gw.configFile)}:6:5: .*colour`), r.error);
    assert.equal(snapshots.lastReload.ok, false);
    assert.equal(snapshots.lastReload.error, r.error);
    assert.equal(snapshots.generation, generation, 'nothing swapped');
    assert.equal(snapshots.current, before);

    await traffic.atLeast(5);
    assert.deepEqual(traffic.failures, []);
    const names = await listToolNames(gw.url);
    assert.ok(names.includes('memory__read_graph') && names.includes('everything__echo'), 'both upstreams still served');
  });

  it('(c) changing only timeoutMs keeps the upstream process and session', async () => {
    const reg = gw.running.gateway.registry;
    const session = reg.get('everything')?.session;
    const pid = upstreamPid(gw, 'everything');
    gw.rewrite({ upstreams: [{ ...everything, timeoutMs: 12_345 }, memory] });
    assert.deepEqual(await gw.running.reload(), { ok: true });
    assert.equal(gw.running.gateway.snapshots.lastReload.ok, true);
    assert.equal(reg.get('everything')?.spec.config.timeoutMs, 12_345, 'the new setting is in force');
    assert.equal(reg.get('everything')?.session, session, 'same session object');
    assert.equal(upstreamPid(gw, 'everything'), pid, 'same process');
    assert.ok(pid !== undefined && pidAlive(pid));
    await traffic.atLeast(5);
    assert.deepEqual(traffic.failures, []);
  });

  it('(d) removing an upstream reaps its process; the other keeps serving', async () => {
    const reg = gw.running.gateway.registry;
    const memPid = upstreamPid(gw, 'memory');
    assert.ok(memPid !== undefined && pidAlive(memPid));
    const session = reg.get('everything')?.session;
    gw.rewrite({ upstreams: [{ ...everything, timeoutMs: 12_345 }] });
    assert.deepEqual(await gw.running.reload(), { ok: true });
    assert.equal(reg.get('memory'), undefined);
    assert.equal(pidAlive(memPid), false, 'the removed upstream\'s process is gone once reload() resolves');
    const names = await listToolNames(gw.url);
    assert.ok(!names.some((n) => n.startsWith('memory__')));
    const gone = await client.callTool({ name: 'memory__read_graph', arguments: {} }).then(
      () => undefined,
      (e: { code?: number; message?: string }) => e,
    );
    assert.equal(gone?.code, -32602, 'a removed upstream\'s tool is unknown');
    assert.equal(reg.get('everything')?.session, session);
    await traffic.atLeast(5);
    await traffic.stop();
    assert.deepEqual(traffic.failures, []);
    assert.ok(traffic.calls > 20, `the loop ran throughout (${traffic.calls} calls)`);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
