// Graceful shutdown of the real CLI: `gatehouse serve` as a child process with a stdio upstream, an
// HTTP upstream it launches itself, and the modern fixture. On SIGTERM a call in flight completes,
// a request that arrives during the drain gets 503, the process exits 0 and takes every upstream
// process with it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { stringify } from 'yaml';
import { EVERYTHING, MODERN_FIXTURE, REPO } from '../harness/gateway.ts';
import { commandLine, descendantPids, killLeftovers, pidAlive, pidsWithEnv, waitFor } from '../harness/pids.ts';
import { heldListHead, listToolNames, modernRequest, MODERN } from '../harness/rpc.ts';
import { freePort, launchProcess, LOOPBACK_PRELOAD } from '../support/processes.ts';

const TAG = 'GATEHOUSE_SHUTDOWN_TEST';

describe('gatehouse serve: graceful shutdown on SIGTERM', () => {
  it('finishes the call in flight, refuses new requests with 503, exits 0 and reaps every upstream', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-shutdown-'));
    const tag = randomUUID();
    const fixtureStderr = join(tmp, 'fixture.stderr');
    const webPort = await freePort();
    const file = join(tmp, 'gatehouse.yaml');
    writeFileSync(
      file,
      stringify({
        version: 1,
        gateway: { listen: { host: '127.0.0.1', port: 0, path: '/mcp', auth: ['local'] }, drainSeconds: 120 },
        auth: { methods: [{ name: 'local', type: 'anonymous' }] },
        store: { kind: 'sqlite', path: join(tmp, 'state.db') },
        log: { level: 'warn' },
        upstreams: [
          { name: 'everything', transport: 'stdio', command: process.execPath, args: [EVERYTHING, 'stdio'], env: { [TAG]: tag } },
          {
            name: 'web',
            transport: 'streamable-http',
            url: `http://127.0.0.1:${webPort}/mcp`,
            launch: { command: process.execPath, args: ['--import', LOOPBACK_PRELOAD, EVERYTHING, 'streamableHttp'], env: { PORT: webPort, [TAG]: tag } },
          },
          // Its `never` holds the drain open until the test lets go, so no step below races the clock.
          { name: 'fixture', transport: 'stdio', command: '/bin/sh', args: ['-c', 'exec "$0" "$1" stdio 2>>"$2"', process.execPath, MODERN_FIXTURE, fixtureStderr], env: { [TAG]: tag } },
        ],
      }),
    );

    const gateway = launchProcess(process.execPath, ['bin/gatehouse.js', 'serve', '--config', file], { cwd: REPO });
    const upstreamPids = new Set<number>();
    let client: Client | undefined;
    let held: Socket | undefined;
    const never = new AbortController();
    try {
      const url = (await gateway.waitForOutput(/^gatehouse (http:\/\/\S+)/m, 60_000, 'stderr'))[1]!;
      const { port } = new URL(url);

      // Every upstream is up and is a child of the gateway.
      const names = await listToolNames(url);
      for (const n of ['everything__echo', 'web__echo', 'fixture__never']) assert.ok(names.includes(n), `${n} listed`);
      const children = descendantPids(gateway.pid);
      children.forEach((p) => upstreamPids.add(p));
      pidsWithEnv(TAG, tag).forEach((p) => upstreamPids.add(p));
      const lines = [...upstreamPids].map(commandLine);
      assert.equal(upstreamPids.size, 3, `three upstream processes:\n${lines.join('\n')}`);
      assert.ok(lines.some((l) => l.includes(EVERYTHING) && / stdio$/.test(l)), 'the stdio server');
      assert.ok(lines.some((l) => l.includes(EVERYTHING) && l.endsWith('streamableHttp')), 'the launched HTTP server');
      assert.ok(lines.some((l) => l.includes(MODERN_FIXTURE)), 'the fixture');
      assert.deepEqual([...upstreamPids].filter((p) => !children.includes(p)), [], 'each is the gateway\'s child');

      // A slow call, under way upstream (its first progress has arrived).
      client = new Client({ name: 'shutdown-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      const { promise: progressed, resolve: onProgress } = Promise.withResolvers<void>();
      const slow = client.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 2, steps: 4 } }, { onprogress: () => onProgress() });
      slow.catch(() => undefined);
      await progressed;

      // A call that only ends when the test aborts it: the drain cannot finish before that.
      const pending = modernRequest(url, 'tools/call', { name: 'fixture__never', arguments: {} }, { signal: never.signal });
      pending.catch(() => undefined);
      await waitFor(() => /started never/.test(readText(fixtureStderr)), 'the fixture to start `never`');

      // A request whose headers the gateway has read (it answered 100 Continue) but whose body is
      // still to come: it is on an open connection that the drain does not cut.
      const body = JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} } } });
      held = connect(Number(port), '127.0.0.1');
      const reply = collect(held);
      held.write(
        heldListHead(port, body),
      );
      await waitFor(() => /^HTTP\/1\.1 100 Continue\r\n\r\n/.test(reply.text()), '100 Continue');

      process.kill(gateway.pid, 'SIGTERM');
      // The listener closes as the drain starts: a refused connection means the gateway is draining.
      await waitFor(async () => (await tryConnect(Number(port))) === 'ECONNREFUSED', 'the listener to close');

      held.write(body);
      const res = await waitFor(() => parseResponse(reply.text().replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '')), 'the answer to the late request');
      assert.equal(res.status, 503, res.raw);
      assert.equal(res.headers['retry-after'], '1');
      const err = (JSON.parse(res.body) as { id: number; error: { code: number; data: { gatehouse: { error: string } } } });
      assert.equal(err.id, 99);
      assert.equal(err.error.code, -31504);
      assert.equal(err.error.data.gatehouse.error, 'draining');

      // The call that was in flight when SIGTERM came completes normally.
      const done = await slow;
      assert.equal(done.isError, undefined);
      assert.match(JSON.stringify(done.content), /Long running operation completed/);
      assert.equal(gateway.output().stdout, '', 'nothing on stdout');
      for (const p of upstreamPids) assert.ok(pidAlive(p), 'upstreams keep running while calls drain');

      never.abort();
      assert.equal(await gateway.exited, 0, gateway.output().stderr);
      for (const p of upstreamPids) assert.equal(pidAlive(p), false, `upstream ${p} (${lines.join(' | ')}) is gone`);
      assert.deepEqual(pidsWithEnv(TAG, tag), [], 'nothing tagged survives');
    } finally {
      never.abort();
      held?.destroy();
      await client?.close().catch(() => undefined);
      await gateway.stop();
      const left = killLeftovers([...upstreamPids, ...pidsWithEnv(TAG, tag)]);
      rmSync(tmp, { recursive: true, force: true });
      assert.deepEqual(left, [], 'no leftover processes');
    }
  });
});

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function collect(socket: Socket): { text(): string } {
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (text += chunk));
  socket.on('error', () => undefined);
  return { text: () => text };
}

/** A complete HTTP/1.1 response with a Content-Length body, or undefined while it is still arriving. */
function parseResponse(raw: string): { status: number; headers: Record<string, string>; body: string; raw: string } | undefined {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...headerLines] = raw.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of headerLines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  const length = Number(headers['content-length']);
  const body = raw.slice(end + 4);
  if (!Number.isFinite(length) || Buffer.byteLength(body) < length) return undefined;
  return { status: Number(statusLine?.split(' ')[1]), headers, body, raw };
}

function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}
