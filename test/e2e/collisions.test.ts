// Tool-name collisions between real servers: server-everything (stdio) and the modern fixture
// (Streamable HTTP) both have `echo`, and both publish names unprefixed. Config order decides who
// keeps the name; the other gets a suffix that is the same on every start and survives new upstreams.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { stringify } from 'yaml';
import { FIXTURE_META_KEY, FIXTURE_NAME } from '../fixtures/modern-server.ts';
import { MODERN_FIXTURE, REPO, startGateway, stdioEverything, type TestGateway } from '../harness/gateway.ts';
import { killLeftovers, pidsWithEnv, waitFor } from '../harness/pids.ts';
import { startNodeScript, type RunningServer } from '../support/processes.ts';

const run = promisify(execFile);
const TAG = 'GATEHOUSE_COLLISION_TEST';

interface Collision {
  kind: string;
  name: string;
  kept: string;
  renamed: string;
  assigned: string;
}

function upstreams(fixtureUrl: string, tag: string): Record<string, unknown>[] {
  return [
    stdioEverything('everything', { passthroughNames: true, env: { [TAG]: tag } }),
    { name: 'fixture', transport: 'streamable-http', url: fixtureUrl, passthroughNames: true },
  ];
}

/** publicName -> "upstream/upstreamName" for every tool the catalog routes. */
function routes(gw: TestGateway): Map<string, string> {
  return new Map([...gw.running.gateway.registry.catalog.toolIndex.values()].map((e) => [e.publicName, `${e.upstream}/${e.upstreamName}`]));
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ name: 'collision-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

describe('name collisions between upstreams', () => {
  let fixture: RunningServer;
  let tmp: string;
  const tag = randomUUID();
  let firstSuffixed: string | undefined;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'gatehouse-collisions-'));
    fixture = await startNodeScript(MODERN_FIXTURE, [], { PORT: '0' });
  });
  after(async () => {
    await fixture.stop();
    rmSync(tmp, { recursive: true, force: true });
    assert.deepEqual(killLeftovers(pidsWithEnv(TAG, tag)), [], 'no stdio upstream outlived its gateway');
  });

  it('the first upstream in config order keeps the name; the other gets a stable suffixed one, both reach their server', async () => {
    await using gw = await startGateway({ upstreams: upstreams(fixture.url, tag) });
    const reg = gw.running.gateway.registry;
    assert.equal(reg.get('everything')?.state, 'ready');
    assert.equal(reg.get('fixture')?.state, 'ready');

    const r = routes(gw);
    assert.equal(r.get('echo'), 'everything/echo');
    const suffixed = [...r].filter(([, to]) => to === 'fixture/echo').map(([name]) => name);
    assert.equal(suffixed.length, 1);
    const name = suffixed[0]!;
    assert.match(name, /^echo-[a-z2-7]{6,}$/);
    // Unique names of either server pass through as they are.
    assert.equal(r.get('add'), 'fixture/add');
    assert.equal(r.get('get-sum'), 'everything/get-sum');

    const collisions = reg.catalog.collisions as readonly Collision[];
    assert.deepEqual(
      collisions.filter((c) => c.kind === 'tool'),
      [{ kind: 'tool', name: 'echo', kept: 'everything', renamed: 'fixture', assigned: name }],
    );

    const client = await connect(gw.url);
    try {
      const { tools } = await client.listTools();
      const listed = tools.map((t) => t.name);
      assert.ok(listed.includes('echo') && listed.includes(name));
      assert.equal(new Set(listed).size, listed.length, 'no duplicate names');

      const plain = await client.callTool({ name: 'echo', arguments: { message: 'one' } });
      assert.deepEqual(plain.content, [{ type: 'text', text: 'Echo: one' }]);
      assert.equal(plain._meta?.[FIXTURE_META_KEY], undefined, 'echo reached server-everything');

      const renamed = await client.callTool({ name, arguments: { message: 'two' } });
      assert.deepEqual(renamed.content, [{ type: 'text', text: 'Echo: two' }]);
      assert.equal(renamed._meta?.[FIXTURE_META_KEY], FIXTURE_NAME, `${name} reached the fixture`);
    } finally {
      await client.close();
    }
    firstSuffixed = name;
  });

  it('a second start gives the same names, and appending a third upstream renames nothing', async () => {
    assert.ok(firstSuffixed, 'the first test ran');
    await using gw = await startGateway({ upstreams: upstreams(fixture.url, tag) });
    const before = routes(gw);
    assert.equal(before.get(firstSuffixed), 'fixture/echo', 'same suffixed name on a fresh start');

    // The third one collides with both: it has every fixture tool, echo included.
    gw.rewrite({ upstreams: [...upstreams(fixture.url, tag), { name: 'fixture2', transport: 'stdio', command: process.execPath, args: [MODERN_FIXTURE, 'stdio'], passthroughNames: true, env: { [TAG]: tag } }] });
    const reloaded = await gw.running.reload();
    assert.deepEqual(reloaded, { ok: true });
    await waitFor(() => gw.running.gateway.registry.get('fixture2')?.state === 'ready', 'fixture2 ready');
    const afterReload = routes(gw);
    for (const [name, to] of before) assert.equal(afterReload.get(name), to, `${name} still routes to ${to}`);
    const added = [...afterReload].filter(([n]) => !before.has(n));
    assert.deepEqual(added.map(([, to]) => to).sort(), ['fixture2/add', 'fixture2/annotated', 'fixture2/echo', 'fixture2/never', 'fixture2/slow']);
    for (const [n] of added) assert.match(n, /^[a-z]+-[a-z2-7]{6,}$/, 'the newcomer gets the suffixes');

    const client = await connect(gw.url);
    try {
      const viaOld = await client.callTool({ name: firstSuffixed, arguments: { message: 'three' } });
      assert.deepEqual(viaOld.content, [{ type: 'text', text: 'Echo: three' }]);
    } finally {
      await client.close();
    }
  });

  it('`gatehouse tools --json` reports the same names and the collision', async () => {
    assert.ok(firstSuffixed, 'the first test ran');
    const file = join(tmp, 'gatehouse.yaml');
    writeFileSync(file, stringify({ version: 1, gateway: { listen: { auth: ['local'] } }, auth: { methods: [{ name: 'local', type: 'anonymous' }] }, store: { kind: 'sqlite', path: join(tmp, 'cli.db') }, log: { level: 'silent' }, upstreams: upstreams(fixture.url, tag) }));
    const { stdout } = await run(process.execPath, ['bin/gatehouse.js', 'tools', '--config', file, '--json'], { cwd: REPO, maxBuffer: 16 * 1024 * 1024 });
    const out = JSON.parse(stdout) as { tools: { name: string; upstream: string; upstreamName: string }[]; collisions: Collision[] };
    const byName = new Map(out.tools.map((t) => [t.name, `${t.upstream}/${t.upstreamName}`]));
    assert.equal(byName.get('echo'), 'everything/echo');
    assert.equal(byName.get(firstSuffixed), 'fixture/echo');
    assert.deepEqual(
      out.collisions.filter((c) => c.kind === 'tool'),
      [{ kind: 'tool', name: 'echo', kept: 'everything', renamed: 'fixture', assigned: firstSuffixed }],
    );
    assert.deepEqual(pidsWithEnv(TAG, tag), [], 'the CLI stopped the upstream it started');
  });
});
