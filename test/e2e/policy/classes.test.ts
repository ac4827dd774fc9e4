// Tool classes with the real server-everything, whose tools carry annotations (readOnlyHint,
// destructiveHint, idempotentHint): trusted, the annotations seed classes and `when.annotations`
// matches them; the same upstream untrusted falls back to config (`toolClasses`) and to
// `policy.defaultToolClass`, without restarting the server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, stdioEverything, type TestGateway } from '../../harness/gateway.ts';
import { upstreamPid } from '../../harness/pids.ts';
import { listToolNames, modernRequest } from '../../harness/rpc.ts';
import { lastRecord } from './helpers.ts';
import type { ExchangeRecord } from '../../../src/pipeline/record.ts';

const RULES = [
  { name: 'reads', effect: 'allow', when: { classes: ['read_only'] } },
  { name: 'idempotent-writes', effect: 'allow', when: { annotations: { readOnlyHint: false, idempotentHint: true } } },
  { name: 'low-risk-needs-approval', effect: 'require_approval', when: { classes: ['low_risk_write'] } },
];

function config(upstream: Record<string, unknown>, policy: Record<string, unknown> = {}): Record<string, unknown> {
  return { upstreams: [stdioEverything('everything', upstream)], policy: { default: 'deny', rules: RULES, ...policy } };
}

type Annotated = { name: string; annotations?: Record<string, unknown> };

describe('tool classes from a real server\'s annotations', () => {
  let gw: TestGateway;
  let tools: Annotated[];
  const records: ExchangeRecord[] = [];

  before(async () => {
    gw = await startGateway(config({ trusted: true }));
    gw.running.gateway.observers.add({ name: 'classes-test', onComplete: (r) => void records.push(r) });
    tools = gw.running.gateway.registry.catalog.tools as Annotated[];
    const ann = (n: string) => tools.find((t) => t.name === n)?.annotations;
    // What this test relies on from the server itself.
    assert.equal(ann('everything__echo')?.readOnlyHint, true);
    assert.deepEqual([ann('everything__toggle-simulated-logging')?.readOnlyHint, ann('everything__toggle-simulated-logging')?.destructiveHint], [false, false]);
    assert.deepEqual([ann('everything__gzip-file-as-resource')?.readOnlyHint, ann('everything__gzip-file-as-resource')?.idempotentHint], [false, true]);
  });
  after(() => gw?.stop());

  const reload = async (c: Record<string, unknown>) => {
    gw.rewrite(c);
    assert.deepEqual(await gw.running.reload(), { ok: true });
  };
  const call = (name: string, args: Record<string, unknown> = {}) => modernRequest(gw.url, 'tools/call', { name, arguments: args });

  it('trusted: readOnlyHint tools are read_only, non-destructive writes low_risk_write; annotation rules match', async () => {
    const want = tools
      .filter((t) => t.annotations?.readOnlyHint === true || t.annotations?.destructiveHint === false)
      .map((t) => t.name)
      .sort();
    assert.ok(want.includes('everything__echo') && want.includes('everything__toggle-simulated-logging'));
    assert.deepEqual((await listToolNames(gw.url)).sort(), want);

    const echo = await call('everything__echo', { message: 'classed' });
    assert.deepEqual(echo.response?.result?.content, [{ type: 'text', text: 'Echo: classed' }]);
    assert.equal(lastRecord(records, 'tools/call', 'everything__echo').policy?.rule, 'reads');

    // gzip-file-as-resource matches the annotation allow, but it is also low_risk_write (destructiveHint
    // false), and require_approval overrides allow.
    const gz = lastDecision(await call('everything__gzip-file-as-resource', { name: 'x.gz', data: 'data:,x' }));
    assert.equal(gz.code, -31101);
    assert.equal(lastRecord(records, 'tools/call', 'everything__gzip-file-as-resource').policy?.rule, 'low-risk-needs-approval');

    const toggle = lastDecision(await call('everything__toggle-simulated-logging'));
    assert.equal(toggle.code, -31101);
    assert.match(toggle.message, /approvals are not available/);
  });

  it('untrusted, the same upstream (same process) falls back to policy.defaultToolClass; annotations count for nothing', async () => {
    const pid = upstreamPid(gw, 'everything');
    await reload(config({ trusted: false }));
    assert.equal(upstreamPid(gw, 'everything'), pid, 'trust is policy, not connection: no restart');
    assert.deepEqual(await listToolNames(gw.url), [], 'high_risk_write by default: nothing is allowed');
    const echo = await call('everything__echo', { message: 'x' });
    assert.equal(echo.response?.error?.message, 'Unknown tool: everything__echo');
    const rec = lastRecord(records, 'tools/call', 'everything__echo');
    assert.equal(rec.policy?.reason, 'default');

    await reload(config({ trusted: false }, { defaultToolClass: 'low_risk_write' }));
    assert.deepEqual((await listToolNames(gw.url)).sort(), tools.map((t) => t.name).sort(), 'every tool is low_risk_write now');
    const again = lastDecision(await call('everything__echo', { message: 'x' }));
    assert.equal(again.code, -31101, 'echo is low_risk_write, not read_only: its annotations are ignored');
    assert.equal(lastRecord(records, 'tools/call', 'everything__echo').policy?.rule, 'low-risk-needs-approval');
  });

  it('untrusted with toolClasses: config classes the tools by their own (unprefixed) names', async () => {
    await reload(config({ trusted: false, toolClasses: { 'get-sum': 'read_only', 'get-*': 'high_risk_write', echo: 'read_only' } }));
    assert.deepEqual((await listToolNames(gw.url)).sort(), ['everything__echo', 'everything__get-sum']);
    const sum = await call('everything__get-sum', { a: 2, b: 2 });
    assert.match(JSON.stringify(sum.response?.result?.content), /4/);
    assert.equal(lastRecord(records, 'tools/call', 'everything__get-sum').policy?.rule, 'reads');
  });

  it('trusted with toolClasses: config wins over annotations for classes; annotation rules still see the annotations', async () => {
    const toolClasses = { echo: 'high_risk_write', 'gzip-file-as-resource': 'high_risk_write' };
    await reload(config({ trusted: true, toolClasses }));
    const names = await listToolNames(gw.url);
    assert.ok(!names.includes('everything__echo'), 'echo is high_risk_write by config');
    assert.ok(names.includes('everything__get-sum'), 'get-sum is read_only by its annotations');
    assert.ok(names.includes('everything__gzip-file-as-resource'), 'allowed by its annotations (readOnlyHint false, idempotentHint true)');

    await reload(config({ trusted: false, toolClasses }));
    assert.ok(!(await listToolNames(gw.url)).includes('everything__gzip-file-as-resource'), 'untrusted: annotation rules never match');
  });
});

function lastDecision(r: Awaited<ReturnType<typeof modernRequest>>): { code: number; message: string } {
  const e = r.response?.error;
  assert.ok(e, `an error, got ${JSON.stringify(r.response)}`);
  return { code: e.code, message: e.message };
}
