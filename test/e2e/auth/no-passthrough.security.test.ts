// No token passthrough: whatever an agent authenticates with (an API key as Bearer or X-API-Key, a
// gateway-minted token, a proxy's user assertion) never reaches an upstream. Every byte the gateway
// sends a real HTTP upstream (through a recording TCP proxy) and a real stdio upstream (through a
// stdin recorder) is searched for the credential.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { createKey } from '../../../src/identity/key-service.ts';
import { EVERYTHING, REPO, startGateway, type TestGateway } from '../../harness/gateway.ts';
import { startServerEverything, type RunningServer } from '../../support/processes.ts';

/** A TCP proxy on loopback that keeps every byte sent to the target. */
async function recordingProxy(targetPort: number): Promise<{ server: Server; port: number; bytes(): Buffer }> {
  const chunks: Buffer[] = [];
  const server = createServer((c) => {
    const up = createConnection(targetPort, '127.0.0.1');
    c.on('data', (d: Buffer) => chunks.push(Buffer.from(d)));
    c.pipe(up);
    up.pipe(c);
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { server, port, bytes: () => Buffer.concat(chunks) };
}

describe('agent credentials never reach an upstream', () => {
  let gw: TestGateway;
  let http: RunningServer;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let stdinRecord: string;
  let recDir: string;
  let key: string;
  let token: string;

  before(async () => {
    http = await startServerEverything('streamableHttp');
    proxy = await recordingProxy(Number(new URL(http.url).port));
    recDir = mkdtempSync(join(tmpdir(), 'gatehouse-rec-'));
    stdinRecord = join(recDir, 'stdin.bin');
    writeFileSync(stdinRecord, '');
    gw = await startGateway({
      auth: { methods: [{ name: 'keys', type: 'api_key' }, { name: 'minted', type: 'gateway_token' }] },
      gateway: { listen: { auth: ['keys', 'minted'] } },
      upstreams: [
        { name: 'web', transport: 'streamable-http', url: `http://127.0.0.1:${proxy.port}/mcp`, headers: { authorization: 'Bearer upstream-credential-held-by-the-gateway' } },
        { name: 'local', transport: 'stdio', command: process.execPath, args: [join(REPO, 'test/fixtures/tee-stdin.mjs'), stdinRecord, process.execPath, EVERYTHING, 'stdio'] },
      ],
    });
    key = (await createKey(gw.running.gateway.store, { agent: 'agent-x' }, Date.now())).key;
    token = (await gw.running.gateway.identity.tokens.mint({ agent: 'agent-y', scopes: ['tools'] }, Date.now())).token;
  });
  after(async () => {
    await gw?.stop();
    proxy?.server.close();
    await http?.stop();
    rmSync(recDir, { recursive: true, force: true });
  });

  it('calls through both upstreams with an API key (both headers) and a gateway token; no credential byte goes upstream', async () => {
    const v1 = new V1Client({ name: 'v1', version: '1' });
    await v1.connect(new V1Transport(new URL(gw.url), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
    for (const name of ['web__echo', 'local__echo']) {
      const r = await v1.callTool({ name, arguments: { message: `via ${name}` } });
      assert.match(JSON.stringify(r.content), new RegExp(`via ${name}`));
    }
    await v1.close();

    const v2 = new Client({ name: 'v2', version: '1' }, { versionNegotiation: { mode: 'auto' } });
    await v2.connect(new StreamableHTTPClientTransport(new URL(gw.url), { requestInit: { headers: { authorization: `Bearer ${token}`, 'x-api-key': key } } }));
    for (const name of ['web__echo', 'local__echo']) await v2.callTool({ name, arguments: { message: 'again' } });
    await v2.close();

    const sentHttp = proxy.bytes().toString('latin1');
    const sentStdio = readFileSync(stdinRecord).toString('latin1');
    assert.match(sentHttp, /tools\/call/, 'the recorder saw the HTTP upstream traffic');
    assert.match(sentStdio, /tools\/call/, 'the recorder saw the stdio upstream traffic');
    assert.match(sentHttp, /upstream-credential-held-by-the-gateway/, 'the upstream gets the gateway\'s own credential');
    const secretPart = key.split('_').at(-1)!;
    const [, , signature] = token.split('.');
    for (const [where, sent] of [['http', sentHttp], ['stdio', sentStdio]] as const) {
      for (const [what, needle] of [['API key', key], ['API key secret', secretPart], ['key prefix', 'ghk_'], ['gateway token', token], ['token signature', signature!]] as const) {
        assert.ok(!sent.includes(needle), `${what} reached the ${where} upstream`);
      }
      assert.ok(!/x-api-key/i.test(sent), `an X-API-Key header reached the ${where} upstream`);
    }
  });
});
