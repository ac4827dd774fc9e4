// Policy and reload, with the gateway watching its files: an edit that breaks the policy is refused
// (file:line:column) and the old policy keeps deciding; a valid edit swaps the whole policy at once;
// an edit of a file named in `policy.files` reloads like an edit of the config; a call in flight keeps
// the decision of the snapshot it arrived with.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { ReloadStatus } from '../../../src/config/snapshot-store.ts';
import type { ExchangeRecord } from '../../../src/pipeline/record.ts';
import { startGateway, stdioEverything, type TestGateway } from '../../harness/gateway.ts';
import { waitFor } from '../../harness/pids.ts';
import { modernRequest } from '../../harness/rpc.ts';
import { lastRecord } from './helpers.ts';

const SUM = { name: 'sum', effect: 'allow', when: { tools: ['everything__get-sum'] } };
const LONG = { name: 'long-ops', effect: 'allow', when: { tools: ['everything__trigger-long-running-operation'] } };
const NO_ECHO = { name: 'no-echo', effect: 'deny', reveal: true, message: 'Echo is closed', when: { tools: ['everything__echo'] } };

describe('policy reload', () => {
  let tmp: string;
  let teamFile: string;
  let gw: TestGateway;
  const records: ExchangeRecord[] = [];
  const config = (rules: Record<string, unknown>[]) => ({ upstreams: [stdioEverything('everything')], policy: { default: 'deny', files: [teamFile], rules } });

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'gatehouse-policy-reload-'));
    teamFile = join(tmp, 'team.yaml');
    writeFileSync(teamFile, 'rules:\n  - name: team-echo\n    effect: allow\n    when: { tools: [everything__echo] }\n');
    gw = await startGateway(config([SUM]), { watch: true });
    gw.running.gateway.observers.add({ name: 'reload-test', onComplete: (r) => void records.push(r) });
  });
  after(async () => {
    await gw?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** Makes an edit and waits for the reload the watcher starts for it. */
  async function edited(change: () => void): Promise<ReloadStatus> {
    const snapshots = gw.running.gateway.snapshots;
    const prev = snapshots.lastReload;
    change();
    return waitFor(() => snapshots.lastReload !== prev && snapshots.lastReload, 'the watcher to reload after the edit');
  }

  const call = (name: string, args: Record<string, unknown> = {}) => modernRequest(gw.url, 'tools/call', { name, arguments: args });

  async function assertInitialPolicy(): Promise<void> {
    const echo = await call('everything__echo', { message: 'hi' });
    assert.deepEqual(echo.response?.result?.content, [{ type: 'text', text: 'Echo: hi' }]);
    assert.equal(lastRecord(records, 'tools/call', 'everything__echo').policy?.rule, 'team-echo');
    const sum = await call('everything__get-sum', { a: 1, b: 1 });
    assert.ok(sum.response?.result, JSON.stringify(sum.response));
    const env = await call('everything__get-env');
    assert.equal(env.response?.error?.message, 'Unknown tool: everything__get-env');
  }

  it('serves the initial policy (inline rules and the policy file)', async () => {
    await assertInitialPolicy();
  });

  it('a config edit with a broken condition is refused with file:line:column; the old policy keeps deciding', async () => {
    const snapshots = gw.running.gateway.snapshots;
    const generation = snapshots.generation;
    const current = snapshots.current;
    const status = await edited(() => gw.rewrite(config([{ ...SUM, when: { ...SUM.when, condition: 'args.a <' } }, NO_ECHO])));
    assert.equal(status.ok, false);
    assert.match(status.error ?? '', new RegExp(`^${escape(gw.configFile)}:\\d+:\\d+: rule "sum": condition: Unexpected token: EOF at column 9$`), status.error);
    assert.equal(snapshots.generation, generation, 'nothing swapped');
    assert.equal(snapshots.current, current);
    // The same request answered by the explicit reload API: the same refusal.
    const again = await gw.running.reload();
    assert.equal(again.ok, false);
    await assertInitialPolicy();
  });

  it('a valid config edit swaps the policy: new rules decide the next call', async () => {
    const generation = gw.running.gateway.snapshots.generation;
    const status = await edited(() => gw.rewrite(config([SUM, LONG, NO_ECHO])));
    assert.equal(status.ok, true, status.error);
    assert.ok(gw.running.gateway.snapshots.generation > generation);
    const echo = await call('everything__echo', { message: 'hi' });
    assert.equal(echo.response?.error?.code, -31100);
    assert.equal(echo.response?.error?.message, 'Echo is closed');
  });

  it('editing a file named in policy.files reloads it', async () => {
    const generation = gw.running.gateway.snapshots.generation;
    const status = await edited(() => writeFileSync(teamFile, 'rules:\n  - name: team-env\n    effect: allow\n    when: { tools: [everything__get-env] }\n'));
    assert.equal(status.ok, true, status.error);
    assert.ok(gw.running.gateway.snapshots.generation > generation);
    const env = await call('everything__get-env');
    assert.ok(env.response?.result, JSON.stringify(env.response));
    assert.equal(lastRecord(records, 'tools/call', 'everything__get-env').policy?.rule, 'team-env');
    const echo = await call('everything__echo', { message: 'hi' });
    assert.equal(echo.response?.error?.message, 'Echo is closed', 'the inline deny still holds');
  });

  it('a broken policy file is refused where the mistake is, and the policy in force stays', async () => {
    const generation = gw.running.gateway.snapshots.generation;
    const status = await edited(() => writeFileSync(teamFile, 'rules:\n  - name: team-env\n    effect: allow\n    when: { condition: "principal.agent ==" }\n'));
    assert.equal(status.ok, false);
    assert.equal(status.error, `${teamFile}:4:24: rule "team-env": condition: Unexpected token: EOF at column 19`);
    assert.equal(gw.running.gateway.snapshots.generation, generation);
    const env = await call('everything__get-env');
    assert.ok(env.response?.result, 'still allowed by the policy in force');
    const fixed = await edited(() => writeFileSync(teamFile, 'rules:\n  - name: team-env\n    effect: allow\n    when: { tools: [everything__get-env] }\n'));
    assert.equal(fixed.ok, true, fixed.error);
  });

  it('a call in flight is decided by the snapshot it arrived with', async () => {
    const client = new Client({ name: 'reload-in-flight', version: '1' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(gw.url)));
    try {
      const { promise: progressed, resolve: onProgress } = Promise.withResolvers<void>();
      let finished = false;
      const inFlight = client
        .callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 5, steps: 5 } }, { onprogress: () => onProgress(), timeout: 120_000 })
        .finally(() => (finished = true));
      await progressed; // past the policy, running upstream

      gw.rewrite(config([SUM, NO_ECHO])); // long-ops is gone: the tool is now hidden
      assert.deepEqual(await gw.running.reload(), { ok: true });
      assert.equal(finished, false, 'the swap happened while the call was in flight');
      const refused = await call('everything__trigger-long-running-operation', { duration: 1, steps: 1 });
      assert.equal(refused.response?.error?.message, 'Unknown tool: everything__trigger-long-running-operation');

      const result = await inFlight;
      assert.match(JSON.stringify(result.content), /completed/i);
      const recs = records.filter((r) => r.method === 'tools/call' && r.target?.name === 'everything__trigger-long-running-operation');
      assert.deepEqual(recs.map((r) => [r.outcome, r.policy?.rule ?? r.policy?.reason]), [['denied', 'default'], ['ok', 'long-ops']]);
    } finally {
      await client.close();
    }
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
