// Partial failure with real servers and real clients: one upstream that never completes its
// handshake, one killed in the middle of a call, one that never answers a call. The healthy ones
// must keep serving, the broken ones must fail fast with the gateway's own errors, and no process
// may be left behind.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { MODERN_FIXTURE, REPO, startGateway, stdioEverything } from '../harness/gateway.ts';
import { killLeftovers, pidAlive, upstreamPid, waitFor } from '../harness/pids.ts';
import { listToolNames, modernRequest } from '../harness/rpc.ts';
import { startNodeScript } from '../support/processes.ts';

const SILENT = join(REPO, 'test/e2e/support/silent-server.ts');
const MUTE = join(REPO, 'test/e2e/support/mute-lists-server.ts');
const GATED = join(REPO, 'test/e2e/support/gated-everything.ts');
const NEVER_AGAIN = { initialDelayMs: 600_000, maxDelayMs: 600_000 };

async function connectModern(url: string): Promise<Client> {
  const client = new Client({ name: 'partial-failure-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

function readPids(file: string): number[] {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

describe('partial failure', () => {
  let tmp: string;
  const spawned = new Set<number>();
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'gatehouse-partial-'));
  });
  after(() => {
    const left = killLeftovers(spawned);
    rmSync(tmp, { recursive: true, force: true });
    assert.deepEqual(left, [], 'no upstream process outlived its test');
  });

  it('an upstream that never completes its handshake is unhealthy with a reason, reaped, and stalls nothing', async () => {
    const pidFile = join(tmp, 'silent-a.pids');
    await using gw = await startGateway({
      upstreams: [
        stdioEverything('everything'),
        { name: 'silent', transport: 'stdio', command: process.execPath, args: [SILENT, pidFile], connectTimeoutMs: 1_000, restart: NEVER_AGAIN },
      ],
    });
    const silent = gw.running.gateway.registry.get('silent');
    assert.ok(silent);
    // Startup waits for each upstream to be ready or to fail once; the silent one has failed by now.
    assert.equal(silent.state, 'unhealthy');
    // Whichever deadline fires first (the connect budget or the initialize request's share of it).
    assert.match(silent.reason ?? '', /"silent"/);
    assert.match(silent.reason ?? '', /(handshake|no answer) within \d+ ms/);
    assert.equal(gw.running.gateway.registry.get('everything')?.state, 'ready');

    const pids = readPids(pidFile);
    pids.forEach((p) => spawned.add(p));
    assert.equal(pids.length, 1, 'one start, no restart yet');
    assert.equal(pidAlive(pids[0]!), false, 'the process that failed its handshake was reaped');

    const names = await listToolNames(gw.url);
    assert.ok(names.includes('everything__echo'));
    assert.ok(!names.some((n) => n.startsWith('silent__')), 'a server that never listed has no names');

    const r = await modernRequest(gw.url, 'tools/call', { name: 'silent__anything', arguments: {} });
    assert.equal(r.response?.error?.code, -32602);
    assert.match(r.response?.error?.message ?? '', /Unknown tool: silent__anything/);

    const client = await connectModern(gw.url);
    try {
      const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'still here' } });
      assert.deepEqual(echo.content, [{ type: 'text', text: 'Echo: still here' }]);
    } finally {
      await client.close();
    }
  });

  it('upstreams stuck in their handshake or first listing stall nothing, and are reaped on stop', async () => {
    const pidFile = join(tmp, 'silent-b.pids');
    const muteLog = join(tmp, 'mute.log');
    const gw = await startGateway(
      {
        upstreams: [
          stdioEverything('everything'),
          // Neither can time out during the test: anything that waited for them would hang.
          { name: 'silent', transport: 'stdio', command: process.execPath, args: [SILENT, pidFile], connectTimeoutMs: 600_000, restart: NEVER_AGAIN },
          { name: 'mute', transport: 'stdio', command: process.execPath, args: [MUTE, muteLog], connectTimeoutMs: 600_000, restart: NEVER_AGAIN },
        ],
      },
      { settleMs: 0 },
    );
    try {
      const reg = gw.running.gateway.registry;
      await waitFor(() => reg.get('everything')?.state === 'ready', 'everything ready');
      const silentPid = await waitFor(() => readPids(pidFile)[0], 'the silent server to start');
      spawned.add(silentPid);
      const mutePid = await waitFor(() => /^pid (\d+)$/m.exec(readLog(muteLog))?.[1], 'the mute server to start').then(Number);
      spawned.add(mutePid);
      await waitFor(() => /^got tools\/list$/m.test(readLog(muteLog)), 'the gateway to ask the mute server for its tools');
      assert.equal(reg.get('silent')?.state, 'connecting');
      assert.equal(reg.get('mute')?.state, 'connecting');

      const names = await listToolNames(gw.url);
      assert.ok(names.includes('everything__echo'));
      const r = await modernRequest(gw.url, 'tools/call', { name: 'nope', arguments: {} });
      assert.equal(r.response?.error?.code, -32602);
      assert.match(r.response?.error?.message ?? '', /Unknown tool: nope/);
      const ok = await modernRequest(gw.url, 'tools/call', { name: 'everything__echo', arguments: { message: 'x' } });
      assert.deepEqual(ok.response?.result?.content, [{ type: 'text', text: 'Echo: x' }]);
      assert.equal(reg.get('silent')?.state, 'connecting', 'still mid-handshake');
      assert.equal(reg.get('mute')?.state, 'connecting', 'still mid-listing');

      await gw.stop();
      assert.equal(pidAlive(silentPid), false, 'stopping the gateway reaps an upstream that is still in its handshake');
      assert.equal(pidAlive(mutePid), false, 'stopping the gateway reaps an upstream whose first listing is pending');
    } finally {
      await gw.stop();
    }
  });

  it('an upstream killed mid-call fails the call fast, is left out while down, and comes back', async () => {
    const gate = join(tmp, 'gate');
    await using gw = await startGateway({
      upstreams: [{ name: 'everything', transport: 'stdio', command: process.execPath, args: [GATED, gate], timeoutMs: 600_000, restart: { initialDelayMs: 50, maxDelayMs: 250 } }],
    });
    const reg = gw.running.gateway.registry;
    assert.equal(reg.get('everything')?.state, 'ready');
    const pid = upstreamPid(gw, 'everything');
    assert.ok(pid !== undefined, 'the stdio session exposes its pid');
    spawned.add(pid);

    const client = await connectModern(gw.url);
    try {
      const { promise: progressed, resolve: onProgress } = Promise.withResolvers<void>();
      // Far longer than the test: if the death were not noticed, the call would hang, not fail.
      const call = client.callTool(
        { name: 'everything__trigger-long-running-operation', arguments: { duration: 600, steps: 600 } },
        { onprogress: () => onProgress(), timeout: 600_000 },
      );
      const failed = call.then(
        () => assert.fail('the call succeeded although its upstream was killed'),
        (e: unknown) => e as { code?: number; message?: string; data?: { gatehouse?: { error?: string }; upstream?: string } },
      );
      await progressed; // the call is running upstream
      writeFileSync(gate, 'closed'); // restarts fail until the test opens the gate again
      process.kill(pid, 'SIGKILL');

      const err = await failed;
      assert.equal(err.code, -31003, `upstream_failed, got ${err.code}: ${err.message}`);
      assert.equal(err.data?.gatehouse?.error, 'upstream_failed');
      assert.match(err.message ?? '', /SIGKILL/);

      await waitFor(() => reg.get('everything')?.state !== 'ready', 'the upstream to be marked down');
      assert.ok(['unhealthy', 'connecting'].includes(reg.get('everything')!.state));
      await waitFor(() => reg.get('everything')?.state === 'unhealthy' && /gate closed|exited/.test(reg.get('everything')?.reason ?? ''), 'a failed restart');
      assert.equal(pidAlive(pid), false);

      // While down: its tools are left out, and calls to them fail fast, naming the upstream.
      const names = await listToolNames(gw.url);
      assert.ok(!names.some((n) => n.startsWith('everything__')), `no everything__ tools while down: ${names.join(', ')}`);
      assert.ok(gw.running.gateway.registry.catalog.unavailable.has('everything__echo'), 'the name stays reserved');
      const down = await modernRequest(gw.url, 'tools/call', { name: 'everything__echo', arguments: { message: 'x' } });
      assert.equal(down.response?.error?.code, -31001);
      assert.equal(down.response?.error?.data?.upstream, 'everything');
      assert.match(down.response?.error?.message ?? '', /upstream "everything"/);
      const sdkDown = await client.callTool({ name: 'everything__echo', arguments: { message: 'x' } }).then(
        () => undefined,
        (e: { code?: number }) => e,
      );
      assert.equal(sdkDown?.code, -31001);

      unlinkSync(gate);
      await waitFor(() => reg.get('everything')?.state === 'ready', 'the supervised restart');
      const pid2 = upstreamPid(gw, 'everything');
      assert.ok(pid2 !== undefined && pid2 !== pid, 'a new process');
      spawned.add(pid2);
      const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'back' } });
      assert.deepEqual(echo.content, [{ type: 'text', text: 'Echo: back' }]);
      assert.ok((await listToolNames(gw.url)).includes('everything__echo'));
    } finally {
      await client.close();
    }
  });

  for (const transport of ['streamable-http', 'stdio'] as const) {
    it(`a call the upstream never answers times out with -31002 and is cancelled upstream (${transport})`, async () => {
      const stderrFile = join(tmp, `fixture-${transport}.stderr`);
      await using srv = transport === 'streamable-http' ? await startNodeScript(MODERN_FIXTURE, [], { PORT: '0' }) : undefined;
      // Over stdio the fixture's stderr belongs to the gateway; a shell that execs it keeps one process.
      const upstream =
        srv !== undefined
          ? { name: 'fixture', transport, url: srv.url, timeoutMs: 1_000 }
          : { name: 'fixture', transport, command: '/bin/sh', args: ['-c', 'exec "$0" "$1" stdio 2>>"$2"', process.execPath, MODERN_FIXTURE, stderrFile], timeoutMs: 1_000 };
      await using gw = await startGateway({ upstreams: [upstream] });
      assert.equal(gw.running.gateway.registry.get('fixture')?.state, 'ready');
      const pid = upstreamPid(gw, 'fixture');
      if (pid !== undefined) spawned.add(pid);
      const stderr = async (pattern: RegExp) =>
        srv !== undefined ? (await srv.waitForOutput(pattern, 30_000, 'stderr'))[0] : await waitFor(() => readFileSync(stderrFile, 'utf8').match(pattern)?.[0], `${pattern} on the fixture's stderr`);

      const r = await modernRequest(gw.url, 'tools/call', { name: 'fixture__never', arguments: {} });
      assert.equal(r.response?.error?.code, -31002, JSON.stringify(r.response));
      assert.equal(r.response?.error?.data?.gatehouse && (r.response.error.data.gatehouse as { error: string }).error, 'upstream_timeout');
      const started = await stderr(/started never (\S+)/);
      const id = started.split(' ')[2];
      await stderr(new RegExp(`cancelled never ${id}\\b`));

      // The session survives a timed-out call.
      const ok = await modernRequest(gw.url, 'tools/call', { name: 'fixture__echo', arguments: { message: 'after' } });
      assert.deepEqual(ok.response?.result?.content, [{ type: 'text', text: 'Echo: after' }]);
    });
  }

  describe('progress from a long-running tool reaches the agent', () => {
    let gw: Awaited<ReturnType<typeof startGateway>>;
    before(async () => {
      gw = await startGateway({ upstreams: [stdioEverything('everything')] });
      const pid = upstreamPid(gw, 'everything');
      if (pid !== undefined) spawned.add(pid);
    });
    after(() => gw.stop());

    it('SDK 2.x client (2026-07-28, SSE response) gets every step', async () => {
      const client = await connectModern(gw.url);
      try {
        assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
        const seen: { progress: number; total?: number }[] = [];
        const r = await client.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 0.4, steps: 4 } }, { onprogress: (p) => seen.push(p) });
        assert.match(JSON.stringify(r.content), /Long running operation completed/);
        assert.deepEqual(seen.map((p) => [p.progress, p.total]), [[1, 4], [2, 4], [3, 4], [4, 4]]);
      } finally {
        await client.close();
      }
    });

    it('SDK 1.x client (2025-era session) gets every step', async () => {
      const client = new V1Client({ name: 'v1-progress', version: '1.0.0' });
      await client.connect(new V1Transport(new URL(gw.url)));
      try {
        const seen: number[] = [];
        const r = await client.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } }, undefined, { onprogress: (p) => seen.push(p.progress) });
        assert.match(JSON.stringify(r.content), /Long running operation completed/);
        assert.deepEqual(seen, [1, 2, 3]);
      } finally {
        await client.close();
      }
    });

    it("the agent's own progress token comes back unchanged on the response stream", async () => {
      const token = 'agent-token-Ω-7';
      const r = await modernRequest(gw.url, 'tools/call', {
        name: 'everything__trigger-long-running-operation',
        arguments: { duration: 0.3, steps: 3 },
        _meta: { progressToken: token },
      });
      assert.equal(r.status, 200);
      assert.match(r.contentType, /^text\/event-stream/);
      const progress = r.messages.filter((m) => m.method === 'notifications/progress');
      assert.deepEqual(progress.map((m) => m.params?.progressToken), [token, token, token]);
      assert.deepEqual(progress.map((m) => m.params?.progress), [1, 2, 3]);
      assert.match(JSON.stringify(r.response?.result?.content), /Long running operation completed/);
      assert.equal(r.messages.at(-1), r.response, 'the response comes last');
    });
  });
});
