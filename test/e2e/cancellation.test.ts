// An agent's cancellation reaches the upstream, in both forms: a 2026-07-28 agent closes its response
// stream; a 2025-era agent sends notifications/cancelled. The fixture logs what it was asked to stop.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { MODERN_FIXTURE, startGateway, type TestGateway } from '../harness/gateway.ts';
import { waitFor } from '../harness/pids.ts';
import { modernRequest } from '../harness/rpc.ts';

describe('agent cancellation reaches the upstream', () => {
  let gw: TestGateway;
  let tmp: string;
  let stderrFile: string;
  const seen = () => readFileSync(stderrFile, 'utf8');
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'gatehouse-cancel-'));
    stderrFile = join(tmp, 'fixture.stderr');
    // A shell that execs the fixture keeps one process and sends its stderr to a file the test reads.
    gw = await startGateway({
      upstreams: [{ name: 'fixture', transport: 'stdio', command: '/bin/sh', args: ['-c', 'exec "$0" "$1" stdio 2>>"$2"', process.execPath, MODERN_FIXTURE, stderrFile], timeoutMs: 60_000 }],
    });
  });
  after(async () => {
    await gw.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  async function nextStarted(before: number): Promise<string> {
    return waitFor(() => [...seen().matchAll(/started never (\S+)/g)].map((m) => m[1]!)[before], 'the call to start upstream');
  }

  it('2026-07-28: closing the response stream cancels the upstream call', async () => {
    const before = [...seen().matchAll(/started never/g)].length;
    const ac = new AbortController();
    const call = modernRequest(gw.url, 'tools/call', { name: 'fixture__never', arguments: {} }, { signal: ac.signal });
    call.catch(() => undefined);
    const id = await nextStarted(before);
    ac.abort();
    await assert.rejects(call);
    await waitFor(() => new RegExp(`cancelled never ${id}\\b`).test(seen()), 'the upstream to be told');
  });

  it('2025 era: notifications/cancelled from the agent cancels the upstream call', async () => {
    const client = new V1Client({ name: 'v1-cancel', version: '1.0.0' });
    await client.connect(new V1Transport(new URL(gw.url)));
    try {
      const before = [...seen().matchAll(/started never/g)].length;
      const ac = new AbortController();
      const call = client.callTool({ name: 'fixture__never', arguments: {} }, undefined, { signal: ac.signal });
      call.catch(() => undefined);
      const id = await nextStarted(before);
      ac.abort('user pressed stop');
      await assert.rejects(call);
      await waitFor(() => new RegExp(`cancelled never ${id}\\b`).test(seen()), 'the upstream to be told');
      // The session goes on.
      const r = await client.callTool({ name: 'fixture__echo', arguments: { message: 'still here' } });
      assert.deepEqual(r.content, [{ type: 'text', text: 'Echo: still here' }]);
    } finally {
      await client.close();
    }
  });
});
