// Tasks through the gateway: created by a tools/call, then driven (get, result, list, cancel, update)
// at the upstream that owns them, and visible only to the agent that created them.
//
// - 2025-11-25 experimental tasks: real server-everything (its `simulate-research-query` requires task
//   execution and asks for clarification through the tasks/result stream) and a real SDK 1.x client.
// - The 2026-07-28 tasks extension: no published server speaks it yet, so this file doubles as a small
//   stdio fixture that does (run with GATEHOUSE_TASKS_FIXTURE=1), driven with raw JSON-RPC.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { CallToolResultSchema, CreateTaskResultSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { startGateway, stdioEverything, type TestGateway } from '../harness/gateway.ts';
import { killLeftovers, upstreamPid, waitFor } from '../harness/pids.ts';
import { request } from 'undici';
import { listToolNames, MODERN, modernRequest, parseSse, type RpcMessage } from '../harness/rpc.ts';

const EXT = 'io.modelcontextprotocol/tasks';
const RELATED = 'io.modelcontextprotocol/related-task';
const RESEARCH = 'everything__simulate-research-query';
const WITH_EXT = { extensions: { [EXT]: {} } };

if (process.env.GATEHOUSE_TASKS_FIXTURE === '1') serveModernTasksFixture();
else {
  describe('2025-11-25 tasks through the gateway (server-everything, SDK 1.x client)', () => {
    let gw: TestGateway;
    let pid: number | undefined;
    before(async () => {
      // One task per tasks/list page, so that paging is exercised with two tasks.
      gw = await startGateway({ gateway: { pageSize: 1 }, upstreams: [stdioEverything('everything')] });
      pid = upstreamPid(gw, 'everything');
      // server-everything registers its task tools once initialized, then says its list changed.
      await waitFor(async () => (await listToolNames(gw.url)).includes(RESEARCH), `${RESEARCH} listed`);
    });
    after(async () => {
      await gw.stop();
      if (pid !== undefined) assert.deepEqual(killLeftovers([pid]), [], 'the stdio upstream went with the gateway');
    });

    async function connect(capabilities: Record<string, unknown> = {}): Promise<V1Client> {
      const c = new V1Client({ name: 'tasks-e2e', version: '1.0.0' }, { capabilities });
      await c.connect(new V1Transport(new URL(gw.url)));
      return c;
    }

    async function createResearch(c: V1Client, args: Record<string, unknown>): Promise<string> {
      const created = await c.request({ method: 'tools/call', params: { name: RESEARCH, arguments: args } }, CreateTaskResultSchema, { task: { ttl: 60_000 } });
      assert.equal(typeof created.task.taskId, 'string');
      assert.ok(['working', 'input_required'].includes(created.task.status));
      return created.task.taskId;
    }

    async function rpcError(p: Promise<unknown>): Promise<{ code: number; message: string; data: unknown }> {
      const e = await p.then(
        () => assert.fail('expected an error'),
        (err: unknown) => err,
      );
      assert.ok(e instanceof McpError, `an MCP error, got ${String(e)}`);
      return { code: e.code, message: e.message, data: e.data };
    }

    it('the gateway declares tasks because its upstream serves them', async () => {
      const c = await connect();
      try {
        const tasks = c.getServerCapabilities()?.tasks;
        assert.ok(tasks?.requests?.tools?.call !== undefined, 'task-augmented tools/call');
        assert.ok(tasks?.list !== undefined && tasks.cancel !== undefined);
      } finally {
        await c.close();
      }
    });

    it('create, poll, list, and result (with the clarification relayed); other sessions see nothing', async () => {
      const elicitations: { message: string; related: unknown }[] = [];
      const owner = await connect({ elicitation: {} });
      owner.setRequestHandler(ElicitRequestSchema, async (req) => {
        elicitations.push({ message: String(req.params.message), related: req.params._meta?.[RELATED] });
        return { action: 'accept', content: { interpretation: 'historical' } };
      });
      const other = await connect();
      try {
        const taskId = await createResearch(owner, { topic: 'gateways', ambiguous: true });

        const polled = await owner.experimental.tasks.getTask(taskId);
        assert.equal(polled.taskId, taskId);
        assert.ok(['working', 'input_required'].includes(polled.status));
        assert.equal(polled.ttl, 300_000, "the upstream's ttl passes through");

        const listed = await owner.experimental.tasks.listTasks();
        assert.deepEqual(listed.tasks.map((t) => t.taskId), [taskId]);

        // Another session gets exactly what a made-up id gets: no way to learn that the task exists.
        const unknown = await rpcError(other.experimental.tasks.getTask(`${taskId}-nope`));
        assert.equal(unknown.code, -32602);
        assert.deepEqual(await rpcError(other.experimental.tasks.getTask(taskId)), unknown);
        assert.deepEqual(await rpcError(other.experimental.tasks.getTaskResult(taskId, CallToolResultSchema)), unknown);
        assert.deepEqual((await other.experimental.tasks.listTasks()).tasks, []);

        // tasks/result blocks until the task is done; the upstream's question reaches the owner meanwhile.
        const result = await owner.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
        const text = result.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
        assert.match(text, /Research Report: gateways \(historical\)/);
        assert.deepEqual(result._meta?.[RELATED], { taskId });
        assert.equal(elicitations.length, 1);
        assert.deepEqual(elicitations[0]!.related, { taskId }, 'the elicitation names its task');

        assert.equal((await owner.experimental.tasks.getTask(taskId)).status, 'completed');
      } finally {
        await owner.close();
        await other.close();
      }
    });

    it("the upstream's question reaches the owner even while another agent's call is in flight", async () => {
      // Two agents' calls in flight on one stdio upstream: the wire cannot say whose a request is, so only
      // the task it names (`_meta[related-task]`) routes it, to the owner waiting in tasks/result.
      const owner = await connect({ elicitation: {} });
      let asked = 0;
      owner.setRequestHandler(ElicitRequestSchema, async () => (asked++, { action: 'accept', content: { interpretation: 'current' } }));
      const bystander = await connect({ elicitation: {} });
      bystander.setRequestHandler(ElicitRequestSchema, async () => assert.fail('the bystander must never see the owner\'s question'));
      const stopBystander = new AbortController();
      try {
        const taskId = await createResearch(owner, { topic: 'routing', ambiguous: true });
        const busy = bystander
          .callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 600, steps: 600 } }, undefined, { signal: stopBystander.signal, timeout: 600_000 })
          .catch((e: unknown) => e);
        const result = await owner.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
        const text = result.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
        assert.match(text, /Research Report: routing \(current\)/);
        assert.equal(asked, 1);
        stopBystander.abort();
        assert.ok((await busy) instanceof Error, 'the bystander call was still in flight until cancelled');
      } finally {
        stopBystander.abort();
        await owner.close();
        await bystander.close();
      }
    });

    it('only the owner can cancel; the cancelled task stays cancelled', async () => {
      const owner = await connect();
      const other = await connect();
      try {
        const taskId = await createResearch(owner, { topic: 'cancellation' });
        const second = await createResearch(owner, { topic: 'second' });
        const page1 = await owner.experimental.tasks.listTasks();
        assert.deepEqual(page1.tasks.map((t) => t.taskId), [taskId]);
        assert.equal(typeof page1.nextCursor, 'string');
        const page2 = await owner.experimental.tasks.listTasks(page1.nextCursor);
        assert.deepEqual(page2.tasks.map((t) => t.taskId), [second]);
        assert.equal(page2.nextCursor, undefined);
        assert.equal((await rpcError(owner.experimental.tasks.listTasks('bm90LWEtY3Vyc29y'))).code, -32602, 'a cursor the gateway did not issue');
        await owner.experimental.tasks.cancelTask(second);

        const refused = await rpcError(other.experimental.tasks.cancelTask(taskId));
        assert.equal(refused.code, -32602);
        assert.ok(['working', 'input_required'].includes((await owner.experimental.tasks.getTask(taskId)).status), 'untouched by the refused cancel');

        const cancelled = await owner.experimental.tasks.cancelTask(taskId);
        assert.equal(cancelled.taskId, taskId);
        assert.equal(cancelled.status, 'cancelled');
        assert.equal((await owner.experimental.tasks.getTask(taskId)).status, 'cancelled');
        // The upstream's own answer for a terminal task passes through.
        assert.equal((await rpcError(owner.experimental.tasks.cancelTask(taskId))).code, -32602);
      } finally {
        await owner.close();
        await other.close();
      }
    });

    it('tasks/update is not a 2025-era method', async () => {
      const c = await connect();
      try {
        const e = await rpcError(c.request({ method: 'tasks/update', params: { taskId: 'x', inputResponses: {} } }, CallToolResultSchema));
        assert.equal(e.code, -32601);
      } finally {
        await c.close();
      }
    });

    it('a 2026-07-28 agent without the tasks extension gets -32021 for a tool that requires tasks', async () => {
      const r = await modernRequest(gw.url, 'tools/call', { name: RESEARCH, arguments: { topic: 'x' } });
      assert.equal(r.response?.error?.code, -32021);
      assert.deepEqual(r.response?.error?.data?.requiredCapabilities, WITH_EXT);
    });
  });

  describe('the 2026-07-28 tasks extension through the gateway (stdio fixture, raw JSON-RPC)', () => {
    let gw: TestGateway;
    let pid: number | undefined;
    before(async () => {
      const fixture = { name: 'modern', transport: 'stdio', command: process.execPath, args: [new URL(import.meta.url).pathname], env: { GATEHOUSE_TASKS_FIXTURE: '1' } };
      gw = await startGateway({ upstreams: [fixture] });
      pid = upstreamPid(gw, 'modern');
      await waitFor(async () => (await listToolNames(gw.url)).includes('modern__slow_compute'), 'fixture tool listed');
    });
    after(async () => {
      await gw.stop();
      if (pid !== undefined) assert.deepEqual(killLeftovers([pid]), [], 'the stdio fixture went with the gateway');
    });

    /** A modern request; task methods carry `Mcp-Name: <taskId>`, as SEP-2663 asks of HTTP clients. */
    async function call(method: string, params: Record<string, unknown>, capabilities: Record<string, unknown> = WITH_EXT): Promise<RpcMessage> {
      const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': capabilities };
      const name = method === 'tools/call' ? params.name : method.startsWith('tasks/') ? params.taskId : undefined;
      const res = await request(gw.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': MODERN,
          'mcp-method': method,
          ...(typeof name === 'string' ? { 'mcp-name': name } : {}),
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: { ...params, _meta: meta } }),
      });
      const text = await res.body.text();
      const messages = String(res.headers['content-type']).startsWith('text/event-stream') ? parseSse(text) : [JSON.parse(text) as RpcMessage];
      const reply = messages.find((m) => m.id === 1 && m.method === undefined);
      assert.ok(reply !== undefined, `${method} answered (HTTP ${res.statusCode})`);
      return reply;
    }

    async function settled(taskId: string): Promise<Record<string, unknown>> {
      return waitFor(async () => {
        const r = (await call('tasks/get', { taskId })).result!;
        return ['completed', 'failed', 'cancelled'].includes(r.status as string) ? r : undefined;
      }, `task ${taskId} terminal`);
    }

    it('the gateway advertises the extension under capabilities.extensions, never a v1 tasks slot', async () => {
      const d = (await call('server/discover', {})).result!;
      const caps = d.capabilities as Record<string, Record<string, unknown>>;
      assert.ok(caps.extensions?.[EXT] !== undefined);
      assert.equal(caps.tasks, undefined);
    });

    it('create, get (result inlined when done), update, cancel: all at the upstream that owns the task', async () => {
      const created = (await call('tools/call', { name: 'modern__slow_compute', arguments: { ms: 50 } })).result!;
      assert.equal(created.resultType, 'task');
      const taskId = created.taskId as string;
      assert.equal(typeof taskId, 'string');
      assert.equal(created.ttlMs, 60_000);

      const immediate = (await call('tasks/get', { taskId })).result!;
      assert.equal(immediate.taskId, taskId, 'gettable as soon as it is created');
      const done = await settled(taskId);
      assert.equal(done.status, 'completed');
      assert.deepEqual(done.result, { content: [{ type: 'text', text: 'computed 50' }] });
      assert.equal(done.resultType, 'complete');

      const long = (await call('tools/call', { name: 'modern__slow_compute', arguments: { ms: 600_000 } })).result!;
      const update = await call('tasks/update', { taskId: long.taskId, inputResponses: { k: { action: 'accept' } } });
      assert.deepEqual(update.result, { resultType: 'complete' });
      const cancel = await call('tasks/cancel', { taskId: long.taskId });
      assert.deepEqual(cancel.result, { resultType: 'complete' });
      assert.equal((await settled(long.taskId as string)).status, 'cancelled');
    });

    it('without the extension: task methods get -32021, the tool runs synchronously', async () => {
      const created = (await call('tools/call', { name: 'modern__slow_compute', arguments: { ms: 1 } })).result!;
      for (const method of ['tasks/get', 'tasks/update', 'tasks/cancel']) {
        const r = await call(method, { taskId: created.taskId, inputResponses: {} }, {});
        assert.equal(r.error?.code, -32021, method);
        assert.deepEqual(r.error?.data?.requiredCapabilities, WITH_EXT);
      }
      const sync = (await call('tools/call', { name: 'modern__slow_compute', arguments: { ms: 1 } }, {})).result!;
      assert.equal(sync.resultType, 'complete');
      assert.equal(sync.taskId, undefined);
    });

    it('unknown task ids get -32602; tasks/result and tasks/list do not exist in the extension', async () => {
      assert.equal((await call('tasks/get', { taskId: 'no-such-task' })).error?.code, -32602);
      assert.equal((await call('tasks/cancel', { taskId: 'no-such-task' })).error?.code, -32602);
      assert.equal((await call('tasks/result', { taskId: 'no-such-task' })).error?.code, -32601);
      assert.equal((await call('tasks/list', {})).error?.code, -32601);
    });
  });
}

/**
 * A minimal 2026-07-28 stdio server with the tasks extension: `slow_compute` (task support optional)
 * creates a task when the request declares the extension and finishes it after `ms`. Task methods
 * insist on the extension in the request's client capabilities, as SEP-2663 servers do, which shows
 * that the gateway forwards the agent's declaration.
 */
function serveModernTasksFixture(): void {
  type Task = { taskId: string; status: string; createdAt: string; lastUpdatedAt: string; result?: unknown; timer?: NodeJS.Timeout };
  const tasks = new Map<string, Task>();
  const send = (m: object) => process.stdout.write(`${JSON.stringify(m)}\n`);
  const declares = (p: Record<string, unknown> | undefined) => {
    const caps = (p?._meta as Record<string, { extensions?: Record<string, unknown> }> | undefined)?.['io.modelcontextprotocol/clientCapabilities'];
    return caps?.extensions?.[EXT] !== undefined;
  };
  const view = (t: Task) => {
    const { timer: _t, result, ...rest } = t;
    return { ...rest, ttlMs: 60_000, pollIntervalMs: 50, ...(result === undefined ? {} : { result }) };
  };
  const handle = (method: string, p: Record<string, unknown> | undefined): { result: Record<string, unknown> } | { error: { code: number; message: string } } => {
    const ok = (result: Record<string, unknown>) => ({ result: { resultType: 'complete', ...result } });
    if (method === 'server/discover') {
      return ok({ supportedVersions: ['2026-07-28'], capabilities: { tools: {}, extensions: { [EXT]: {} } }, _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'tasks-fixture', version: '1.0.0' } } });
    }
    if (method === 'ping') return { result: {} };
    if (method === 'tools/list') {
      return ok({ tools: [{ name: 'slow_compute', inputSchema: { type: 'object', properties: { ms: { type: 'number' } } }, execution: { taskSupport: 'optional' } }] });
    }
    if (method === 'tools/call') {
      const ms = Number((p?.arguments as { ms?: unknown } | undefined)?.ms ?? 0);
      const value = { content: [{ type: 'text', text: `computed ${ms}` }] };
      if (!declares(p)) return ok(value);
      const now = new Date().toISOString();
      const t: Task = { taskId: randomUUID(), status: 'working', createdAt: now, lastUpdatedAt: now };
      t.timer = setTimeout(() => Object.assign(t, { status: 'completed', result: value, lastUpdatedAt: new Date().toISOString() }), ms);
      tasks.set(t.taskId, t);
      const { result: _r, ...created } = view(t);
      return { result: { ...created, resultType: 'task' } };
    }
    if (method === 'tasks/get' || method === 'tasks/update' || method === 'tasks/cancel') {
      if (!declares(p)) return { error: { code: -32021, message: `${method} needs the ${EXT} extension` } };
      const t = tasks.get(String(p?.taskId));
      if (t === undefined) return { error: { code: -32602, message: 'Task not found' } };
      if (method === 'tasks/get') return ok(view(t));
      if (method === 'tasks/cancel' && t.status === 'working') {
        clearTimeout(t.timer);
        Object.assign(t, { status: 'cancelled', lastUpdatedAt: new Date().toISOString() });
      }
      return ok({});
    }
    return { error: { code: -32601, message: `Method not found: ${method}` } };
  };
  createInterface({ input: process.stdin }).on('line', (line) => {
    let m: { id?: string | number; method?: string; params?: Record<string, unknown> };
    try {
      m = JSON.parse(line) as typeof m;
    } catch {
      return;
    }
    if (m.id === undefined || m.method === undefined) return;
    send({ jsonrpc: '2.0', id: m.id, ...handle(m.method, m.params) });
  });
  process.stdin.on('end', () => process.exit(0));
}
