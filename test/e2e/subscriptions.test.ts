// Resource subscriptions through the gateway: a 2025-era agent uses resources/subscribe and gets
// updates on its GET stream; a 2026-07-28 agent uses subscriptions/listen and gets the acknowledgement
// first, then updates tagged with its subscription id. server-everything (stdio) sends the updates.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startGateway, stdioEverything, type TestGateway } from '../harness/gateway.ts';
import { MODERN, modernRequest } from '../harness/rpc.ts';

const SUB_ID = 'io.modelcontextprotocol/subscriptionId';

describe('resource subscriptions across eras', () => {
  let gw: TestGateway;
  let uri: string;
  before(async () => {
    gw = await startGateway({ upstreams: [stdioEverything('everything')] });
    const list = await modernRequest(gw.url, 'resources/list', {});
    const resources = (list.response?.result?.resources ?? []) as { uri: string }[];
    assert.ok(resources.length > 0, 'server-everything lists resources');
    uri = resources[0]!.uri;
    // server-everything sends updates for subscribed URIs every 5 s once this is on (per upstream session).
    const t = await modernRequest(gw.url, 'tools/call', { name: 'everything__toggle-subscriber-updates', arguments: {} });
    assert.equal(t.response?.result?.resultType, 'complete');
  });
  after(() => gw.stop());

  it('2025 era: resources/subscribe delivers notifications/resources/updated on the session stream', async () => {
    const client = new V1Client({ name: 'v1-sub', version: '1.0.0' });
    const updates: string[] = [];
    const { promise: got, resolve } = Promise.withResolvers<void>();
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
      resolve();
    });
    await client.connect(new V1Transport(new URL(gw.url)));
    try {
      assert.equal(client.getServerCapabilities()?.resources?.subscribe, true);
      await client.subscribeResource({ uri });
      await got;
      assert.equal(updates[0], uri);
      await client.unsubscribeResource({ uri });
      await assert.rejects(client.subscribeResource({ uri: 'nope://not-a-resource' }), /not found/);
    } finally {
      await client.close();
    }
  });

  it('2026-07-28: subscriptions/listen acknowledges first, then tags every update with the subscription id', async () => {
    const ac = new AbortController();
    const res = await request(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'subscriptions/listen' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 'sub-1',
        method: 'subscriptions/listen',
        params: {
          notifications: { resourceSubscriptions: [uri, 'nope://unknown'], toolsListChanged: true },
          _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} },
        },
      }),
      signal: ac.signal,
    });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/event-stream/);
    const messages: { method?: string; params?: Record<string, unknown> }[] = [];
    let buf = '';
    try {
      for await (const chunk of res.body) {
        buf += chunk.toString();
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('');
          if (data) messages.push(JSON.parse(data));
        }
        if (messages.some((m) => m.method === 'notifications/resources/updated')) break;
      }
    } finally {
      ac.abort();
    }
    const [ack, ...rest] = messages;
    assert.equal(ack?.method, 'notifications/subscriptions/acknowledged');
    assert.deepEqual(ack?.params?.notifications, { toolsListChanged: true, resourceSubscriptions: [uri] }, 'unknown URIs are left out of the acknowledgement');
    const update = rest.find((m) => m.method === 'notifications/resources/updated');
    assert.equal(update?.params?.uri, uri);
    for (const m of messages) assert.equal((m.params?._meta as Record<string, unknown>)[SUB_ID], 'sub-1');
  });
});
