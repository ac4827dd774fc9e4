// The gateway in front of a 2026-07-28 upstream (the modern fixture over Streamable HTTP and over
// stdio): what the fixture says about its tools and what its tools return must reach clients of both
// eras unchanged but for the public name. Compared field by field with the fixture called directly.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { FIXTURE_META_KEY, FIXTURE_NAME, TOOL_ICON } from '../fixtures/modern-server.ts';
import { MODERN_FIXTURE, startGateway, type TestGateway } from '../harness/gateway.ts';
import { killLeftovers, upstreamPid } from '../harness/pids.ts';
import { startNodeScript, type RunningServer } from '../support/processes.ts';

type Tool = Record<string, unknown> & { name: string };
type ToolResult = Record<string, unknown>;

/** The two client generations behind one small interface. */
interface AnyClient {
  era: string;
  listTools(): Promise<Tool[]>;
  call(name: string, args: Record<string, unknown>): Promise<ToolResult>;
  close(): Promise<void>;
}

async function v2(url: string): Promise<AnyClient> {
  const c = new Client({ name: 'modern-upstream-v2', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await c.connect(new StreamableHTTPClientTransport(new URL(url)));
  return {
    era: c.getNegotiatedProtocolVersion() ?? '?',
    listTools: async () => (await c.listTools()).tools as Tool[],
    call: async (name, args) => (await c.callTool({ name, arguments: args })) as ToolResult,
    close: () => c.close(),
  };
}

async function v1(url: string): Promise<AnyClient> {
  const c = new V1Client({ name: 'modern-upstream-v1', version: '1.0.0' });
  await c.connect(new V1Transport(new URL(url)));
  return {
    era: c.getServerVersion() === undefined ? '?' : '2025 session',
    listTools: async () => (await c.listTools()).tools as Tool[],
    call: async (name, args) => (await c.callTool({ name, arguments: args })) as ToolResult,
    close: () => c.close(),
  };
}

describe('gateway -> modern upstream: definitions and results pass through unchanged', () => {
  let fixture: RunningServer;
  let gw: TestGateway;
  let direct: { tools: Map<string, Tool>; add: ToolResult; annotated: ToolResult };

  before(async () => {
    fixture = await startNodeScript(MODERN_FIXTURE, [], { PORT: '0' });
    gw = await startGateway({
      upstreams: [
        { name: 'fixture', transport: 'streamable-http', url: fixture.url },
        { name: 'fixstdio', transport: 'stdio', command: process.execPath, args: [MODERN_FIXTURE, 'stdio'] },
      ],
    });
    const c = await v2(fixture.url);
    try {
      direct = {
        tools: new Map((await c.listTools()).map((t) => [t.name, t])),
        add: await c.call('add', { a: 2, b: 40 }),
        annotated: await c.call('annotated', {}),
      };
    } finally {
      await c.close();
    }
  });
  after(async () => {
    const pid = upstreamPid(gw, 'fixstdio');
    await gw.stop();
    await fixture.stop();
    assert.ok(pid !== undefined);
    assert.deepEqual(killLeftovers([pid]), [], 'the stdio fixture went with the gateway');
  });

  it('the gateway speaks 2026-07-28 to the fixture on both transports', () => {
    for (const name of ['fixture', 'fixstdio']) {
      const h = gw.running.gateway.registry.get(name);
      assert.equal(h?.state, 'ready', name);
      assert.equal(h?.session?.era, 'modern', name);
      assert.equal(h?.session?.protocolVersion, '2026-07-28', name);
    }
  });

  for (const [label, open] of [['SDK 2.x (auto negotiation)', v2], ['SDK 1.x', v1]] as const) {
    for (const prefix of ['fixture', 'fixstdio']) {
      it(`${label}: ${prefix}__add and ${prefix}__annotated keep every field`, async () => {
        const client = await open(gw.url);
        try {
          if (label.startsWith('SDK 2')) assert.equal(client.era, '2026-07-28');
          const listed = new Map((await client.listTools()).map((t) => [t.name, t]));
          for (const tool of ['add', 'annotated']) {
            const mine = listed.get(`${prefix}__${tool}`);
            assert.ok(mine, `${prefix}__${tool} listed`);
            assert.deepEqual({ ...mine, name: tool }, direct.tools.get(tool), `${tool}: definition unchanged but for the name`);
          }
          const add = listed.get(`${prefix}__add`)!;
          assert.ok(add.outputSchema, 'outputSchema kept');
          const annotated = listed.get(`${prefix}__annotated`)!;
          assert.deepEqual(annotated.icons, [TOOL_ICON]);
          assert.deepEqual(annotated.annotations, { title: 'Annotated', readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false });
          assert.deepEqual(annotated._meta, { 'gatehouse.test/tool-meta': { level: 1, tags: ['a', 'b'] } });
          assert.equal(annotated.title, 'Annotated Tool');

          const sum = await client.call(`${prefix}__add`, { a: 2, b: 40 });
          assert.deepEqual(sum.structuredContent, { sum: 42 });
          assert.deepEqual(strip(sum), strip(direct.add), 'add: result unchanged');
          assert.equal((sum._meta as Record<string, unknown>)[FIXTURE_META_KEY], FIXTURE_NAME);

          const ann = await client.call(`${prefix}__annotated`, {});
          assert.deepEqual(strip(ann), strip(direct.annotated), 'annotated: result unchanged');
          assert.deepEqual((ann.content as Record<string, unknown>[])[0], {
            type: 'text',
            text: 'annotated result',
            annotations: { audience: ['user'], priority: 0.5 },
            _meta: { 'gatehouse.test/content-meta': true },
          });
          assert.deepEqual((ann._meta as Record<string, unknown>)['gatehouse.test/result-meta'], { nested: [1, 'two', null] });
        } finally {
          await client.close();
        }
      });
    }
  }
});

/**
 * A result without the protocol's own envelope fields (`resultType` is 2026-07-28 framing that a
 * 2025-era answer does not carry); everything the server put in stays.
 */
function strip(r: ToolResult): ToolResult {
  const { resultType: _r, ...rest } = r;
  return rest;
}
