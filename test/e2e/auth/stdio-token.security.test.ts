// `gatehouse stdio` with a credential required: the desktop client puts an API key in the process's
// environment (GATEHOUSE_TOKEN); every request is authenticated with it, and without it nothing is served.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as V1StdioTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { stringify } from 'yaml';
import { createKey, revokeKey } from '../../../src/identity/key-service.ts';
import { openSqliteStore } from '../../../src/store/sqlite.ts';
import { EVERYTHING, REPO } from '../../harness/gateway.ts';

const GATEHOUSE = join(REPO, 'bin/gatehouse.js');
const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };

/** Runs `gatehouse stdio`, sends one line, returns the first JSON answer and closes stdin. */
function oneExchange(config: string, env: Record<string, string>, line: unknown): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [GATEHOUSE, 'stdio', '--config', config], { cwd: REPO, env: { ...process.env, GATEHOUSE_TOKEN: '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no answer on stdout; stderr:\n${err}`));
    }, 30_000);
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      child.stdin.end();
      child.once('exit', () => resolve(JSON.parse(out.slice(0, nl)) as Record<string, any>));
    });
    child.stdin.write(`${JSON.stringify(line)}\n`);
  });
}

describe('gatehouse stdio with an API key in the environment', () => {
  let dir: string;
  let config: string;
  let key: string;
  let revoked: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-stdio-auth-'));
    config = join(dir, 'gatehouse.yaml');
    const db = join(dir, 'state.db');
    writeFileSync(
      config,
      stringify({
        version: 1,
        gateway: { stdio: { auth: ['keys'] } },
        auth: { methods: [{ name: 'keys', type: 'api_key' }] },
        store: { kind: 'sqlite', path: db },
        log: { level: 'debug' },
        upstreams: [{ name: 'everything', transport: 'stdio', command: process.execPath, args: [EVERYTHING, 'stdio'] }],
      }),
    );
    const store = openSqliteStore(db);
    key = (await createKey(store, { agent: 'desktop-alice', user: 'alice' }, Date.now())).key;
    const r = await createKey(store, { agent: 'old-desktop' }, Date.now());
    revoked = r.key;
    await revokeKey(store, r.record.id, Date.now());
    await store.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a real SDK client works with the key, and the exchanges name the agent', async () => {
    const transport = new V1StdioTransport({ command: process.execPath, args: [GATEHOUSE, 'stdio', '--config', config], env: { ...process.env, GATEHOUSE_TOKEN: key } as Record<string, string>, stderr: 'pipe' });
    let stderr = '';
    transport.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const client = new V1Client({ name: 'desktop', version: '1' });
    await client.connect(transport);
    const r = await client.callTool({ name: 'everything__echo', arguments: { message: 'from the desktop' } });
    assert.match(JSON.stringify(r.content), /from the desktop/);
    await client.close();
    assert.match(stderr, /"principal":"keys::desktop-alice:alice"/);
    assert.ok(!stderr.includes(key.split('_').at(-1)!), 'the key never appears in the log');
  });

  it('without the variable, or with a revoked key, initialize itself is refused with a clear JSON-RPC error', async () => {
    const none = await oneExchange(config, {}, INIT);
    assert.equal(none.id, 1);
    assert.equal(none.error.code, -31401);
    assert.match(none.error.message, /authentication required/);
    const bad = await oneExchange(config, { GATEHOUSE_TOKEN: revoked }, INIT);
    assert.equal(bad.error.code, -31401);
    assert.match(bad.error.message, /revoked/);
  });
});
