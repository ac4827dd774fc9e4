import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Client, SSEClientTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { LOOPBACK_PRELOAD, freePort, startNodeScript, startServerEverything } from './processes.ts';
import { listeningSockets } from '../../bench/procfs.ts';

const run = promisify(execFile);

/** Local addresses (hex, as in /proc/net/tcp) of sockets listening on `port`. */
function listeningAddresses(port: number): string[] {
  return listeningSockets(port).map((sock) => sock.address);
}

function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

describe('scripts/loopback.mjs', () => {
  it('moves listens on all interfaces onto 127.0.0.1 and leaves unix sockets alone', async () => {
    const script = `
      import http from 'node:http'; import net from 'node:net';
      const addr = (s) => new Promise((r) => s.on('listening', () => { const a = s.address(); s.close(); r(a); }));
      const out = [];
      let s = http.createServer(); s.listen(0); out.push((await addr(s)).address);
      s = http.createServer(); s.listen(0, '0.0.0.0', () => {}); out.push((await addr(s)).address);
      s = http.createServer(); s.listen({ port: 0, host: '::', ipv6Only: true }); out.push((await addr(s)).address);
      s = http.createServer(); s.listen('0', 5, () => {}); out.push((await addr(s)).address);
      s = http.createServer(); s.listen(() => {}); out.push((await addr(s)).address);
      const sock = process.argv[1] + '.sock';
      s = net.createServer(); s.listen(sock); out.push(await addr(s) === sock ? 'path-kept' : 'path-changed');
      console.log(JSON.stringify(out));`;
    const { stdout } = await run(process.execPath, ['--import', LOOPBACK_PRELOAD, '--input-type=module', '-e', script, `/tmp/gatehouse-loopback-${process.pid}`]);
    assert.deepEqual(JSON.parse(stdout), ['127.0.0.1', '127.0.0.1', '127.0.0.1', '127.0.0.1', '127.0.0.1', 'path-kept']);
  });
});

describe('freePort', () => {
  it('returns a port that can be bound', async () => {
    const port = await freePort();
    assert.ok(port > 0 && port < 65536);
  });
});

describe('startServerEverything', () => {
  it('serves streamable HTTP on 127.0.0.1 only, and stops by pid', async () => {
    const srv = await startServerEverything('streamableHttp');
    try {
      const port = Number(new URL(srv.url).port);
      assert.equal(new URL(srv.url).pathname, '/mcp');
      assert.deepEqual(listeningAddresses(port), ['0100007F']);
      const client = new Client({ name: 'test', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(srv.url)));
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'echo'));
      const result = await client.callTool({ name: 'echo', arguments: { message: 'hi' } });
      assert.deepEqual(result.content, [{ type: 'text', text: 'Echo: hi' }]);
      await client.close();
    } finally {
      await srv.stop();
    }
    assert.ok(isGone(srv.pid));
  });

  it('serves the legacy SSE transport at /sse', async () => {
    await using srv = await startServerEverything('sse');
    assert.equal(new URL(srv.url).pathname, '/sse');
    assert.deepEqual(listeningAddresses(Number(new URL(srv.url).port)), ['0100007F']);
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(new SSEClientTransport(new URL(srv.url)));
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === 'echo'));
    await client.close();
  });
});

describe('startNodeScript', () => {
  it('waits for the announced URL and reports output', async () => {
    await using srv = await startNodeScript('test/fixtures/echo-backend.ts', [], { PORT: '0' });
    assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    assert.match(srv.output().stdout, /^listening /);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      request(srv.url, { agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).on('error', reject).end();
    });
    assert.ok(status !== undefined && status >= 400, `GET on the MCP endpoint should be refused, got ${status}`);
  });

  it('fails with the script\'s stderr when it exits before announcing', async () => {
    await assert.rejects(startNodeScript('test/fixtures/modern-server.ts', ['bogus']), /unknown mode 'bogus'/);
  });

  it('stops a process that ignores SIGTERM', async () => {
    const srv = await startNodeScript('--input-type=module', ['-e', "process.on('SIGTERM', () => {}); console.log('listening http://x/'); setInterval(() => {}, 1000);"]);
    await srv.stop();
    assert.equal(await srv.exited, 'SIGKILL');
    assert.ok(isGone(srv.pid));
  });
});
