// `gatehouse stdio`: the real CLI launched the way a desktop client launches a local MCP server, with
// server-everything behind it. Real SDK clients of both eras, the raw wire (malformed and oversized
// lines), and shutdown on EOF and SIGTERM that leaves no process behind.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as V1StdioTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { stringify } from 'yaml';
import { EVERYTHING, REPO } from '../harness/gateway.ts';
import { killLeftovers, pidAlive, pidsWithEnv, waitFor } from '../harness/pids.ts';

const TAG = 'GATEHOUSE_STDIO_TEST';
const GATEHOUSE = join(REPO, 'bin/gatehouse.js');
const MODERN_META = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };

describe('gatehouse stdio', () => {
  let dir: string;
  let config: string;
  const tag = randomUUID();
  const seen = new Set<number>();

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-stdio-'));
    config = join(dir, 'gatehouse.yaml');
    writeFileSync(
      config,
      stringify({
        version: 1,
        gateway: { limits: { maxBodyBytes: 64 * 1024 }, drainSeconds: 60, stdio: { auth: ['desktop'] } },
        auth: { methods: [{ name: 'desktop', type: 'anonymous', agent: 'desktop' }] },
        store: { kind: 'sqlite', path: join(dir, 'state.db') },
        log: { level: 'info' },
        upstreams: [{ name: 'everything', transport: 'stdio', command: process.execPath, args: [EVERYTHING, 'stdio'], env: { [TAG]: tag } }],
      }),
    );
  });
  after(() => {
    const left = killLeftovers([...seen, ...pidsWithEnv(TAG, tag)]);
    rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(left, [], 'no leftover processes');
  });

  /** Every process carrying the tag now: gateways started by the clients and their upstreams. */
  const tagged = () => {
    const pids = pidsWithEnv(TAG, tag);
    pids.forEach((p) => seen.add(p));
    return pids;
  };

  // The gateway runs on the Node running the tests (Node 24), as `npx node bin/gatehouse.js` would.
  const serverParams = () => ({ command: process.execPath, args: [GATEHOUSE, 'stdio', '--config', config], env: { [TAG]: tag }, stderr: 'pipe' as const });

  it('SDK 2.x client negotiates 2026-07-28: lists and calls tools, gets progress, and EOF stops everything', async () => {
    const transport = new StdioClientTransport(serverParams());
    const client = new Client({ name: 'v2-stdio', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' }, capabilities: { sampling: {} } });
    client.setRequestHandler('sampling/createMessage', async () => ({ role: 'assistant', content: { type: 'text', text: 'sampled on stdio' }, model: 'test-model', stopReason: 'endTurn' }));
    await client.connect(transport);
    try {
      assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
      const gatewayPid = transport.pid;
      assert.ok(gatewayPid);
      const tools = await client.listTools();
      assert.ok(tools.tools.some((t) => t.name === 'everything__echo'));
      // The probe ran on a sibling gateway the SDK has reaped; the session's gateway and its upstream run.
      assert.ok(tagged().includes(gatewayPid));
      assert.ok(tagged().length >= 2, 'the gateway and its upstream are running');
      const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'stdio' } });
      assert.deepEqual(echo.content, [{ type: 'text', text: 'Echo: stdio' }]);
      const progress: number[] = [];
      const long = await client.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 1, steps: 3 } }, { onprogress: (p) => progress.push(p.progress) });
      assert.match(JSON.stringify(long.content), /completed/);
      assert.ok(progress.length >= 1, 'progress arrived on stdout');
      // No requests on stdout in 2026-07-28: the upstream's sampling request comes back as input_required.
      const sampled = await client.callTool({ name: 'everything__trigger-sampling-request', arguments: { prompt: 'hi', maxTokens: 20 } });
      assert.match(JSON.stringify(sampled.content), /sampled on stdio/);
    } finally {
      await client.close();
    }
    await waitFor(() => tagged().length === 0, 'the gateway and its upstream to exit');
  });

  it('SDK 1.x client opens the 2025-era session: tools, progress, cancellation; close stops everything', async () => {
    const transport = new V1StdioTransport(serverParams());
    const client = new V1Client({ name: 'v1-stdio', version: '1.0.0' }, { capabilities: { sampling: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, async () => ({ model: 'stdio-model', role: 'assistant', content: { type: 'text', text: 'sampled' } }));
    let stderr = '';
    transport.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    await client.connect(transport);
    try {
      assert.equal(client.getServerVersion()?.name, 'gatehouse');
      const tools = await client.listTools();
      assert.ok(tools.tools.some((t) => t.name === 'everything__get-sum'));
      const sum = await client.callTool({ name: 'everything__get-sum', arguments: { a: 2, b: 3 } });
      assert.match(JSON.stringify(sum.content), /5/);
      // A server->client request goes out on stdout; the agent's answer comes back on stdin.
      const sampled = await client.callTool({ name: 'everything__trigger-sampling-request', arguments: { prompt: 'hi' } });
      assert.match(JSON.stringify(sampled.content), /stdio-model/);
      const progress: number[] = [];
      await client.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 1, steps: 2 } }, undefined, { onprogress: (p) => progress.push(p.progress) });
      assert.ok(progress.length >= 1);

      const ac = new AbortController();
      const { promise: started, resolve } = Promise.withResolvers<void>();
      const call = client.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 30, steps: 30 } }, undefined, { signal: ac.signal, onprogress: () => resolve() });
      call.catch(() => undefined);
      await started;
      ac.abort();
      await assert.rejects(call);
      await waitFor(() => /"outcome":"cancelled"/.test(stderr), 'the cancelled call in the log');
      await client.ping(); // the session keeps working
    } finally {
      await client.close();
    }
    await waitFor(() => tagged().length === 0, 'the gateway and its upstream to exit');
    assert.match(stderr, /gatehouse stopped/, 'a clean stop, logged on stderr');
  });

  it('the wire: only JSON-RPC on stdout, precise errors for bad lines, exit 0 on EOF with nothing left', async () => {
    const gw = launch(config, tag);
    seen.add(gw.child.pid!);
    try {
      const send = (line: string) => gw.child.stdin.write(`${line}\n`);
      send(JSON.stringify({ jsonrpc: '2.0', id: 'd', method: 'server/discover', params: { _meta: MODERN_META } }));
      const discover = await gw.reply((m) => m.id === 'd');
      assert.deepEqual((discover.result as { supportedVersions: string[] }).supportedVersions[0], '2026-07-28');

      // initialize carrying 2026-07-28 metadata is a modern request for a removed method.
      send(JSON.stringify({ jsonrpc: '2.0', id: 'mi', method: 'initialize', params: { _meta: MODERN_META } }));
      assert.equal(((await gw.reply((m) => m.id === 'mi')).error as { code: number }).code, -32601);

      send('this is not json');
      assert.equal((await gw.reply((m) => m.id === null && (m.error as { code: number }).code === -32700)).id, null);
      send(JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'ping' }]));
      const batch = (await gw.reply((m) => m.id === null && (m.error as { code: number }).code === -32600)).error as { message: string };
      assert.match(batch.message, /batches are not supported/);
      send(JSON.stringify({ jsonrpc: '1.0', id: 'v', method: 'ping' }));
      assert.equal(((await gw.reply((m) => m.id === 'v')).error as { code: number }).code, -32600);
      send(JSON.stringify({ jsonrpc: '2.0', id: 'nometa', method: 'tools/list' }));
      assert.match(((await gw.reply((m) => m.id === 'nometa')).error as { message: string }).message, /send initialize/);
      send(JSON.stringify({ jsonrpc: '2.0', id: 'old', method: 'tools/list', params: { _meta: { ...MODERN_META, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } } }));
      const unsupported = (await gw.reply((m) => m.id === 'old')).error as { code: number; data: { supported: string[] } };
      assert.equal(unsupported.code, -32022);
      assert.ok(unsupported.data.supported.includes('2026-07-28'));

      // A line over gateway.limits.maxBodyBytes: refused without being buffered, its id recovered.
      send(JSON.stringify({ jsonrpc: '2.0', method: 'tools/call', params: { name: 'everything__echo', arguments: { message: 'x'.repeat(100 * 1024) }, _meta: MODERN_META }, id: 'big' }));
      const big = (await gw.reply((m) => m.id === 'big')).error as { code: number; message: string };
      assert.equal(big.code, -31413);
      assert.match(big.message, /maxBodyBytes/);

      // Still serving after all that.
      send(JSON.stringify({ jsonrpc: '2.0', id: 'e', method: 'tools/call', params: { name: 'everything__echo', arguments: { message: 'ok' }, _meta: MODERN_META } }));
      assert.deepEqual((await gw.reply((m) => m.id === 'e')).result, { content: [{ type: 'text', text: 'Echo: ok' }], resultType: 'complete' });
      // 2026-07-28 on stdio cancels with notifications/cancelled; nothing more is written for that id.
      send(JSON.stringify({ jsonrpc: '2.0', id: 'slow', method: 'tools/call', params: { name: 'everything__trigger-long-running-operation', arguments: { duration: 30, steps: 30 }, _meta: { ...MODERN_META, progressToken: 's' } } }));
      await gw.reply((m) => m.method === 'notifications/progress');
      send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'slow' } }));
      await waitFor(() => /"outcome":"cancelled"/.test(gw.stderr()), 'the cancellation in the log');
      send(JSON.stringify({ jsonrpc: '2.0', id: 'p', method: 'ping', params: { _meta: MODERN_META } }));
      await gw.reply((m) => m.id === 'p');

      gw.child.stdin.end();
      assert.equal(await gw.exited, 0, gw.stderr());
      assert.equal(gw.messages.filter((m) => m.id === 'slow').length, 0, 'no answer for the cancelled request');
      assert.deepEqual(gw.badLines, [], 'stdout carries JSON-RPC only');
      assert.match(gw.stderr(), /gatehouse stopped/);
      await waitFor(() => tagged().length === 0, 'the upstream to be reaped');
    } finally {
      gw.kill();
    }
  });

  it('SIGTERM lets the call in flight finish, then exits 0 and reaps the upstream', async () => {
    const gw = launch(config, tag);
    seen.add(gw.child.pid!);
    try {
      const send = (m: object) => gw.child.stdin.write(`${JSON.stringify(m)}\n`);
      // Pipelined behind initialize (no waiting for its answer): served once the handshake completes.
      send({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
      send({ jsonrpc: '2.0', id: 'early', method: 'tools/list' });
      assert.equal(((await gw.reply((m) => m.id === 0)).result as { protocolVersion: string }).protocolVersion, '2025-06-18');
      assert.ok(Array.isArray(((await gw.reply((m) => m.id === 'early')).result as { tools: unknown[] }).tools));
      send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'everything__trigger-long-running-operation', arguments: { duration: 2, steps: 4 }, _meta: { progressToken: 7 } } });
      await gw.reply((m) => m.method === 'notifications/progress');
      process.kill(gw.child.pid!, 'SIGTERM');
      const done = await gw.reply((m) => m.id === 1);
      assert.match(JSON.stringify(done.result), /completed/);
      assert.equal(await gw.exited, 0, gw.stderr());
      assert.deepEqual(gw.badLines, []);
      await waitFor(() => tagged().length === 0, 'the upstream to be reaped');
    } finally {
      gw.kill();
    }
  });
});

interface Message {
  jsonrpc: string;
  id?: string | number | null;
  method?: string;
  result?: unknown;
  error?: unknown;
}

/** The CLI with raw pipes, in its own process group so a failed test can still kill it by PID. */
function launch(config: string, tag: string) {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [GATEHOUSE, 'stdio', '--config', config], { cwd: REPO, env: { ...process.env, [TAG]: tag }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const messages: Message[] = [];
  const badLines: string[] = [];
  let err = '';
  let buf = '';
  let wake: (() => void) | undefined;
  child.stdout.on('data', (c: Buffer) => {
    buf += c.toString('utf8');
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const m = JSON.parse(line) as Message;
        if (m.jsonrpc === '2.0') messages.push(m);
        else badLines.push(line);
      } catch {
        badLines.push(line);
      }
    }
    wake?.();
  });
  child.stderr.on('data', (c: Buffer) => (err = (err + c.toString('utf8')).slice(-256 * 1024)));
  child.stdin.on('error', () => undefined);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  let exitedFlag = false;
  void exited.then(() => {
    exitedFlag = true;
    wake?.();
  });
  const claimed = new Set<Message>();
  return {
    child,
    messages,
    badLines,
    exited,
    stderr: () => err,
    /** The first message, not taken before, that `match` accepts (waiting for it if need be). */
    async reply(match: (m: Message) => boolean): Promise<Message> {
      for (;;) {
        const m = messages.find((x) => !claimed.has(x) && match(x));
        if (m !== undefined) {
          claimed.add(m);
          return m;
        }
        if (exitedFlag) throw new Error(`the gateway exited before the expected message:\n${err}`);
        await new Promise<void>((r) => (wake = r));
      }
    },
    kill() {
      if (pidAlive(child.pid!)) {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
    },
  };
}
