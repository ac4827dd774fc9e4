// A 2025-era agent with a GET stream hears about catalog changes (an upstream added by a reload).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { MEMORY, startGateway, stdioEverything } from '../harness/gateway.ts';

describe('list_changed to 2025-era agents', () => {
  it('announces tools/list_changed on the GET stream when a reload adds an upstream', async () => {
    await using gw = await startGateway({ upstreams: [stdioEverything()] });
    const client = new V1Client({ name: 'listener', version: '1.0.0' });
    const heard = new Promise<void>((resolve) => client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()));
    await client.connect(new V1Transport(new URL(gw.url)));
    try {
      // The SDK opens the GET stream right after initialize; wait until the gateway holds it.
      const edge = gw.running.dataPlane.edge;
      while (![...edge.sessions.values()].some((s) => s.stream !== undefined)) await new Promise((r) => setTimeout(r, 20));
      gw.rewrite({ upstreams: [stdioEverything(), { name: 'memory', transport: 'stdio', command: process.execPath, args: [MEMORY], env: { MEMORY_FILE_PATH: `${gw.dir}/m.jsonl` } }] });
      const r = await gw.running.reload();
      assert.deepEqual(r, { ok: true });
      await heard;
      const tools = await client.listTools();
      assert.ok(tools.tools.some((t) => t.name === 'memory__read_graph'));
    } finally {
      await client.close();
    }
  });
});
