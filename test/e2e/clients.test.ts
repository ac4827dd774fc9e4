// Real clients (SDK 2.x with automatic era negotiation, SDK 1.x) through the gateway to real servers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { MEMORY, startGateway, stdioEverything, type TestGateway } from '../harness/gateway.ts';

describe('clients of both eras through the gateway', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({
      gateway: { pageSize: 7 },
      upstreams: [stdioEverything('everything'), { name: 'memory', transport: 'stdio', command: process.execPath, args: [MEMORY], env: { MEMORY_FILE_PATH: '/tmp/gatehouse-test-memory.jsonl' } }],
    });
  });
  after(() => gw.stop());

  it('SDK 2.x client negotiates the 2026-07-28 era and lists every tool across pages', async () => {
    const client = new Client({ name: 'v2-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(gw.url)));
    try {
      assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
      const names: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const r = await client.listTools(cursor === undefined ? {} : { cursor });
        names.push(...r.tools.map((t) => t.name));
        cursor = r.nextCursor;
        pages++;
      } while (cursor !== undefined);
      // SDK 2.x follows the cursors itself when asked without one; it must still see every item once.
      assert.ok(pages >= 1);
      assert.ok(names.includes('everything__echo'));
      assert.ok(names.includes('memory__read_graph'));
      assert.equal(new Set(names).size, names.length, 'no duplicates across pages');
      for (const n of names) assert.match(n, /^[A-Za-z0-9_.-]{1,64}$/);

      const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'hi' } });
      assert.deepEqual(echo.content, [{ type: 'text', text: 'Echo: hi' }]);
    } finally {
      await client.close();
    }
  });

  it('structured output and outputSchema pass through unchanged', async () => {
    const client = new Client({ name: 'v2-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(gw.url)));
    try {
      const tools = [];
      let cursor: string | undefined;
      do {
        const r = await client.listTools(cursor === undefined ? {} : { cursor });
        tools.push(...r.tools);
        cursor = r.nextCursor;
      } while (cursor !== undefined);
      const def = tools.find((t) => t.name === 'everything__get-structured-content');
      assert.ok(def?.outputSchema, 'outputSchema kept');
      const r = await client.callTool({ name: 'everything__get-structured-content', arguments: { location: 'New York' } });
      assert.ok(r.structuredContent, 'structuredContent kept');
      assert.equal(typeof (r.structuredContent as { temperature?: unknown }).temperature, 'number');
    } finally {
      await client.close();
    }
  });

  it('SDK 1.x client opens a 2025-era session, calls tools, and ends it', async () => {
    const client = new V1Client({ name: 'v1-test', version: '1.0.0' });
    const transport = new V1Transport(new URL(gw.url));
    await client.connect(transport);
    assert.ok(transport.sessionId, 'the gateway issued an Mcp-Session-Id');
    const all = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const r = await client.listTools(cursor === undefined ? {} : { cursor });
      assert.ok(r.tools.length <= 7, 'pages respect gateway.pageSize');
      all.push(...r.tools);
      cursor = r.nextCursor;
      pages++;
    } while (cursor !== undefined);
    assert.ok(pages > 1, 'pageSize 7 splits the merged list');
    assert.equal(new Set(all.map((t) => t.name)).size, all.length, 'no duplicates across pages');
    assert.ok(all.some((t) => t.name === 'memory__create_entities'));
    assert.ok(all.some((t) => t.name === 'everything__echo'));
    const bad = await client.listTools({ cursor: 'not-a-cursor' }).catch((e: Error) => e);
    assert.ok(bad instanceof Error && /invalid cursor/.test(bad.message));
    const r = await client.callTool({ name: 'everything__get-sum', arguments: { a: 2, b: 3 } });
    assert.match(JSON.stringify(r.content), /5/);
    const unknown = await client.callTool({ name: 'nope__nothing', arguments: {} }).catch((e: Error) => e);
    assert.ok(unknown instanceof Error && /Unknown tool/.test(unknown.message));
    await transport.terminateSession();
    await client.close();
  });

  it('prompts and resources route to their upstream, resource templates included', async () => {
    const client = new V1Client({ name: 'v1-test', version: '1.0.0' });
    await client.connect(new V1Transport(new URL(gw.url)));
    try {
      const prompts = await client.listPrompts();
      const simple = prompts.prompts.find((p) => p.name === 'everything__simple-prompt');
      assert.ok(simple);
      const got = await client.getPrompt({ name: 'everything__simple-prompt' });
      assert.ok(got.messages.length > 0);
      const templates = await client.listResourceTemplates();
      assert.ok(templates.resourceTemplates.length > 0);
      const res = await client.listResources();
      const first = res.resources[0];
      assert.ok(first);
      const read = await client.readResource({ uri: first.uri });
      assert.equal(read.contents[0]?.uri, first.uri);
    } finally {
      await client.close();
    }
  });
});
