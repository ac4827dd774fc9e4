// Lists filtered per caller are remembered per (catalog, policy, caller): each caller still sees only
// what the policy lets it see, and a list_changed shows up in the very next listing.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO } from '../../harness/gateway.ts';
import { killLeftovers, upstreamPid, waitFor } from '../../harness/pids.ts';
import { bearer, keyedGateway, modernRaw, names, type KeyedGateway } from '../policy/helpers.ts';

const COUNTING = join(REPO, 'test/fixtures/counting-server.ts');

describe('per-caller list memo (end to end)', () => {
  let k: KeyedGateway;
  let pid: number | undefined;
  const tools = async (agent: string) => {
    const r = await modernRaw(k.gw.url, bearer(k.keys[agent]!), 'tools/list', {});
    return names(r.message?.result?.tools);
  };

  before(async () => {
    k = await keyedGateway(
      {
        upstreams: [{ name: 'count', transport: 'stdio', command: process.execPath, args: [COUNTING] }],
        policy: {
          default: 'deny',
          rules: [
            { name: 'readers', effect: 'allow', when: { roles: ['reader'], tools: ['count__lookup', 'count__peek'] } },
            { name: 'admins', effect: 'allow', when: { roles: ['admin'] } },
          ],
        },
      },
      { reader: { roles: ['reader'] }, admin: { roles: ['admin'] } },
    );
    pid = upstreamPid(k.gw, 'count');
  });
  after(async () => {
    await k?.gw.stop();
    if (pid !== undefined) assert.deepEqual(killLeftovers([pid]), [], 'the fixture went with the gateway');
  });

  it('two principals see different lists, listing after listing', async () => {
    const all = ['count__flaky', 'count__grow', 'count__lookup', 'count__peek', 'count__redefine', 'count__write'];
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await tools('reader'), ['count__lookup', 'count__peek']);
      assert.deepEqual(await tools('admin'), all);
    }
  });

  it('a list_changed shows the new tool in the next listing, to those who may see it', async () => {
    assert.ok(!(await tools('admin')).includes('count__extra_1'));
    const grown = await modernRaw(k.gw.url, bearer(k.keys.admin!), 'tools/call', { name: 'count__grow', arguments: {} });
    assert.ok(grown.message?.result, grown.text);
    await waitFor(() => k.gw.running.gateway.registry.catalog.toolIndex.has('count__extra_1'), 'the new tool in the catalog');
    assert.ok((await tools('admin')).includes('count__extra_1'));
    assert.deepEqual(await tools('reader'), ['count__lookup', 'count__peek']);
  });
});
