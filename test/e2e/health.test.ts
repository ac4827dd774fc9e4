// /healthz and /readyz on both listeners of a real gateway: no credentials, no Host or Origin check,
// no audit entry; a required upstream that cannot start makes it not ready, an optional one does not;
// a drain flips readiness to 503 while /healthz stays 200 (seen on a connection the drain keeps open);
// a PostgreSQL store that goes down makes it not ready until it is back.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { MODERN_FIXTURE, startGateway, type TestGateway } from '../harness/gateway.ts';
import { waitFor } from '../harness/pids.ts';
import { heldListHead, MODERN, modernRequest } from '../harness/rpc.ts';
import { freshDatabase, postgresSkipReason, startPostgres, type TestPostgres } from '../support/postgres.ts';

const fixture = (name: string, extra: Record<string, unknown> = {}) => ({ name, transport: 'stdio', command: process.execPath, args: [MODERN_FIXTURE, 'stdio'], ...extra });
// Spawning it fails at once, every time: an upstream that cannot start.
const broken = (name: string, extra: Record<string, unknown> = {}) => ({ name, transport: 'stdio', command: '/nonexistent/gatehouse-health-test', restart: { initialDelayMs: 100, maxDelayMs: 1_000 }, ...extra });

interface Probe {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: any;
}

async function probe(base: string, path: string, opts: { method?: 'GET' | 'HEAD' | 'POST' | 'DELETE'; headers?: Record<string, string> } = {}): Promise<Probe> {
  const res = await request(`${base}${path}`, { method: opts.method ?? 'GET', headers: opts.headers ?? {} });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, body: text.length > 0 ? JSON.parse(text) : undefined };
}

const originOf = (url: string) => new URL(url).origin;

describe('health probes with authentication required and the audit trail on', () => {
  let gw: TestGateway;
  let data: string;
  let admin: string;

  before(async () => {
    gw = await startGateway({
      auth: {
        methods: [
          { name: 'agent-keys', type: 'api_key', kind: 'agent' },
          { name: 'admin-keys', type: 'api_key', kind: 'admin' },
        ],
      },
      gateway: { listen: { auth: ['agent-keys'] } },
      admin: { listen: { host: '127.0.0.1', port: 0 }, auth: ['admin-keys'] },
      upstreams: [fixture('core', { required: true }), broken('extra')],
    });
    data = originOf(gw.url);
    admin = gw.running.admin!.url;
  });
  after(() => gw.stop());

  it('answers /healthz and /readyz on both listeners without credentials', async () => {
    for (const base of [data, admin]) {
      const h = await probe(base, '/healthz');
      assert.equal(h.status, 200, `${base} ${h.text}`);
      assert.deepEqual(h.body, { status: 'ok' });
      assert.equal(h.headers['content-type'], 'application/json');
      assert.equal(h.headers['cache-control'], 'no-store');

      const r = await probe(base, '/readyz');
      assert.equal(r.status, 200, `${base} ${r.text}`);
      assert.equal(r.body.ready, true);
      assert.deepEqual(r.body.checks.upstreams, { ok: true, required: [{ name: 'core', state: 'ready' }], optional: { total: 1, ready: 0 } }, 'the optional upstream that cannot start does not count');
      assert.deepEqual(r.body.checks.store, { ok: true });
      assert.deepEqual(r.body.checks.audit, { ok: true, enabled: true });
      assert.deepEqual(r.body.checks.draining, { ok: true });
      assert.equal(r.body.checks.config.ok, true);
      assert.equal(r.body.checks.config.generation, 1);
      assert.equal(r.body.checks.config.lastReload.ok, true);
    }
    // The same listeners refuse everything else without credentials.
    assert.equal((await probe(data, '/mcp', { method: 'POST', headers: { 'content-type': 'application/json' } })).status, 401);
    assert.equal((await probe(admin, '/v1/whoami')).status, 401);
  });

  it('takes HEAD, refuses other methods with 405 and Allow', async () => {
    for (const base of [data, admin]) {
      for (const path of ['/healthz', '/readyz']) {
        const head = await probe(base, path, { method: 'HEAD' });
        assert.equal(head.status, 200);
        assert.equal(head.text, '');
        assert.ok(Number(head.headers['content-length']) > 0, 'HEAD gives the length GET would');
        for (const method of ['POST', 'DELETE'] as const) {
          const r = await probe(base, path, { method });
          assert.equal(r.status, 405, `${method} ${base}${path}`);
          assert.equal(r.headers.allow, 'GET, HEAD');
          assert.deepEqual(r.body, { error: { code: 'method_not_allowed', message: `${path} takes GET or HEAD` } });
        }
      }
    }
  });

  it('answers whatever Host and Origin a probe sends (a kubelet names the pod IP)', async () => {
    const headers = { host: '10.1.2.3:8080', origin: 'https://elsewhere.example' };
    for (const base of [data, admin]) {
      assert.equal((await probe(base, '/healthz', { headers })).status, 200);
      assert.equal((await probe(base, '/readyz', { headers })).status, 200);
    }
    // Only the probes: the MCP endpoint still refuses that Host.
    assert.equal((await probe(data, '/mcp', { method: 'POST', headers })).status, 403);
  });

  it('leaves no audit entry per probe', async () => {
    const g = gw.running.gateway;
    const chain = g.audit!.chain;
    // A recorded request: its answer goes out once its entry is durable, so the head is settled after it.
    const refused = async () => assert.equal((await probe(data, '/mcp', { method: 'POST', headers: { 'content-type': 'application/json' } })).status, 401);
    await refused();
    const before = (await g.store.auditHead(chain))?.seq ?? 0;
    for (let i = 0; i < 10; i++) {
      for (const base of [data, admin]) {
        await probe(base, '/healthz');
        await probe(base, '/readyz');
        await probe(base, '/readyz', { method: 'POST' });
      }
    }
    await refused();
    assert.equal((await g.store.auditHead(chain))?.seq, before + 1, 'only the refused MCP request was recorded');
  });
});

describe('readiness with a required upstream that cannot start', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({
      auth: { methods: [{ name: 'anon', type: 'anonymous', agent: 'a' }, { name: 'admin-keys', type: 'api_key', kind: 'admin' }] },
      gateway: { listen: { auth: ['anon'] } },
      admin: { listen: { host: '127.0.0.1', port: 0 }, auth: ['admin-keys'] },
      upstreams: [fixture('core', { required: true }), broken('db', { required: true }), broken('extra')],
    });
  });
  after(() => gw.stop());

  it('is 503 naming it; the admin listener says why, the data plane does not', async () => {
    const dbOf = (r: Probe) => (r.body.checks.upstreams.required as { name: string; reason?: string }[]).find((u) => u.name === 'db')!;
    const d = await probe(originOf(gw.url), '/readyz');
    assert.equal(d.status, 503, d.text);
    assert.equal(d.body.ready, false);
    assert.equal(d.body.checks.upstreams.ok, false);
    const [core, db] = d.body.checks.upstreams.required as { name: string; state: string; reason?: string }[];
    assert.equal(db?.name, 'db');
    assert.notEqual(db?.state, 'ready');
    assert.equal(db?.reason, undefined, 'no free text on the data plane');
    assert.deepEqual(core, { name: 'core', state: 'ready' });
    assert.deepEqual(d.body.checks.upstreams.optional, { total: 1, ready: 0 });
    // Everything else is fine: the upstream alone holds readiness back.
    for (const check of ['config', 'store', 'audit', 'draining']) assert.equal(d.body.checks[check].ok, true, check);

    const a = await waitFor(async () => {
      const r = await probe(gw.running.admin!.url, '/readyz');
      return dbOf(r).reason !== undefined && r;
    }, 'the admin view to give the reason');
    assert.equal(a.status, 503);
    assert.match(dbOf(a).reason!, /ENOENT|nonexistent/);
    assert.equal((await probe(originOf(gw.url), '/healthz')).status, 200, 'alive all the same');
  });
});

/** Reads HTTP/1.1 responses off a raw socket, in order (each has a Content-Length, as the gateway's do). */
function responses(socket: Socket): () => { status: number; headers: Record<string, string>; body: string }[] {
  let buf = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (buf += chunk));
  return () => {
    const out: { status: number; headers: Record<string, string>; body: string }[] = [];
    let rest = buf;
    for (;;) {
      const end = rest.indexOf('\r\n\r\n');
      if (end < 0) return out;
      const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      const length = Number(headers['content-length'] ?? 0);
      if (rest.length < end + 4 + length) return out;
      out.push({ status: Number(statusLine!.split(' ')[1]), headers, body: rest.slice(end + 4, end + 4 + length) });
      rest = rest.slice(end + 4 + length);
    }
  };
}

describe('readiness during a drain', () => {
  it('flips /readyz to 503 while /healthz stays 200, on a connection the drain keeps open', async () => {
    const gw = await startGateway({ gateway: { drainSeconds: 120 }, upstreams: [fixture('fx', { required: true })] });
    const never = new AbortController();
    let socket: Socket | undefined;
    try {
      const { port } = new URL(gw.url);
      socket = connect(Number(port), '127.0.0.1');
      const read = responses(socket);
      const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;

      socket.write(get('/readyz'));
      const [ready] = await waitFor(() => read().length === 1 && read(), 'the first readiness answer');
      assert.equal(ready!.status, 200, ready!.body);

      // A call that only ends when the test aborts it holds the drain open.
      const pending = modernRequest(gw.url, 'tools/call', { name: 'fx__never', arguments: {} }, { signal: never.signal });
      pending.catch(() => undefined);
      await waitFor(() => gw.running.gateway.inflight > 0, 'the call to be in flight');

      // A request whose headers are read and whose body is still to come keeps this connection open
      // through the drain (idle connections are closed as it starts).
      const body = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} } } });
      socket.write(
        heldListHead(port, body),
      );
      await waitFor(() => read().some((r) => r.status === 100), '100 Continue');

      const stopping = gw.running.stop();
      await waitFor(() => gw.running.gateway.draining, 'the drain to start');
      // The body, then two probes pipelined behind it on the same connection.
      socket.write(body + get('/readyz') + get('/healthz'));
      const all = await waitFor(() => read().length === 5 && read(), 'the three answers');
      const [, , late, notReady, alive] = all;
      assert.equal(late!.status, 503, 'the late MCP request is refused');
      assert.equal(JSON.parse(late!.body).error.data.gatehouse.error, 'draining');
      assert.equal(notReady!.status, 503, notReady!.body);
      const r = JSON.parse(notReady!.body);
      assert.equal(r.ready, false);
      assert.deepEqual(r.checks.draining, { ok: false });
      assert.equal(r.checks.upstreams.ok, true, 'draining alone holds readiness back');
      assert.equal(alive!.status, 200, 'alive while it drains');
      assert.deepEqual(JSON.parse(alive!.body), { status: 'ok' });

      never.abort();
      await stopping;
    } finally {
      never.abort();
      socket?.destroy();
      await gw.stop();
    }
  });
});

describe('the drain delay', () => {
  it('says not ready on new connections while it goes on serving calls, then drains', async () => {
    const gw = await startGateway({ gateway: { drainDelaySeconds: 5 }, upstreams: [fixture('fx', { required: true })] });
    try {
      assert.equal((await fetch(new URL('/readyz', gw.url))).status, 200);
      const stopping = gw.running.stop();
      await waitFor(() => gw.running.gateway.leaving, 'the shutdown to begin');
      const probe = await fetch(new URL('/readyz', gw.url));
      assert.equal(probe.status, 503, 'not ready as soon as the shutdown begins');
      assert.deepEqual(((await probe.json()) as { checks: { draining: unknown } }).checks.draining, { ok: false });
      assert.equal(gw.running.gateway.draining, false, 'not draining yet');
      const call = await modernRequest(gw.url, 'tools/call', { name: 'fx__echo', arguments: { message: 'still here' } });
      assert.ok(call.response?.result, `a call during the delay is served: ${JSON.stringify(call.response)}`);
      await stopping;
    } finally {
      await gw.stop();
    }
  });
});

const skip = postgresSkipReason();

describe('readiness when the PostgreSQL store goes down', { skip }, () => {
  let pg: TestPostgres;
  before(async () => {
    pg = await startPostgres();
  });
  after(() => pg?.stop());

  it('is 503 while the store does not answer and 200 again once it is back', async () => {
    // No audit trail: the store check alone is what changes.
    const gw = await startGateway({
      store: { kind: 'postgres', url: await freshDatabase(pg.url), connectTimeoutMs: 2_000 },
      audit: { enabled: false },
      auth: { methods: [{ name: 'anon', type: 'anonymous', agent: 'a' }, { name: 'admin-keys', type: 'api_key', kind: 'admin' }] },
      gateway: { listen: { auth: ['anon'] } },
      admin: { listen: { host: '127.0.0.1', port: 0 }, auth: ['admin-keys'] },
      upstreams: [fixture('fx', { required: true })],
    });
    try {
      const data = originOf(gw.url);
      const admin = gw.running.admin!.url;
      assert.equal((await probe(data, '/readyz')).status, 200);

      await pg.halt('fast');
      const down = await waitFor(async () => {
        const r = await probe(admin, '/readyz');
        return r.status === 503 && r;
      }, 'readiness to see the store down');
      assert.equal(down.body.checks.store.ok, false);
      assert.match(down.body.checks.store.error, new RegExp(`cannot answer a ping in store 127\\.0\\.0\\.1:${pg.port}/`));
      assert.deepEqual(down.body.checks.audit, { ok: true, enabled: false });
      assert.equal(down.body.checks.upstreams.ok, true, 'the store alone holds readiness back');
      const d = await probe(data, '/readyz');
      assert.equal(d.status, 503);
      assert.deepEqual(d.body.checks.store, { ok: false }, 'no free text on the data plane');
      assert.equal((await probe(data, '/healthz')).status, 200, 'alive all the same');

      await pg.resume();
      await waitFor(async () => (await probe(data, '/readyz')).status === 200, 'readiness once the store is back');
      assert.deepEqual((await probe(admin, '/readyz')).body.checks.store, { ok: true });
    } finally {
      await gw.stop();
    }
  });
});
