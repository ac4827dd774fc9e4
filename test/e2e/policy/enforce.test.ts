// Policy enforced by a real gateway in front of the real server-everything, seen by real clients of
// both eras told apart by API keys: who sees what in every list, what a hidden target answers (exactly
// what a missing one does), revealed denials, approvals, argument constraints and evaluation errors.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stdioEverything } from '../../harness/gateway.ts';
import {
  assertSameAnswer,
  bearer,
  keyedGateway,
  lastRecord,
  legacyClient,
  legacySession,
  listenAcknowledged,
  modernClient,
  modernRaw,
  names,
  refusal,
  type KeyedGateway,
} from './helpers.ts';

const DOCS = 'demo://resource/static/document';

const FILE_RULES = `rules:
  - name: file-beta-image
    effect: allow
    when: { agents: [beta], tools: [everything__get-tiny-image] }
  - name: file-no-structured
    effect: deny
    when: { tools: [everything__get-structured-content] }
`;

function policy(file: string): Record<string, unknown> {
  return {
    default: 'deny',
    files: [file],
    rules: [
      { name: 'ops-everything', effect: 'allow', when: { roles: ['ops'] } },
      {
        name: 'beta-echo',
        effect: 'allow',
        when: { agents: ['beta'], tools: ['everything__echo'] },
        arguments: {
          schema: { type: 'object', properties: { message: { type: 'string', pattern: '^[a-z ]{1,20}$' } }, required: ['message'] },
          message: 'Echo only short lowercase text',
        },
      },
      { name: 'beta-sum', effect: 'allow', when: { agents: ['beta'], tools: ['everything__get-sum'], condition: 'args.a < 100' } },
      { name: 'no-env', effect: 'deny', reveal: true, message: 'Environment variables are off limits', when: { tools: ['everything__get-env'] } },
      { name: 'approve-toggles', effect: 'require_approval', when: { roles: ['ops'], tools: ['everything__toggle-*'] } },
      { name: 'beta-prompt', effect: 'allow', when: { agents: ['beta'], prompts: ['everything__simple-prompt'] } },
      { name: 'beta-docs', effect: 'allow', when: { agents: ['beta'], resources: [`${DOCS}/architecture.md`, `${DOCS}/f*`, 'demo://resource/dynamic/text/*'] } },
    ],
  };
}

describe('policy enforced end to end', () => {
  let tmp: string;
  let k: KeyedGateway;
  let url: string;
  let alpha: string;
  let beta: string;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'gatehouse-policy-e2e-'));
    const file = join(tmp, 'rules.yaml');
    writeFileSync(file, FILE_RULES);
    k = await keyedGateway({ upstreams: [stdioEverything('everything')], policy: policy(file) }, { alpha: { roles: ['ops'] }, beta: {} });
    url = k.gw.url;
    alpha = k.keys.alpha!;
    beta = k.keys.beta!;
    assert.equal(k.gw.running.gateway.registry.get('everything')?.state, 'ready');
  });
  after(async () => {
    await k?.gw.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const catalogNames = (field: 'tools' | 'prompts' | 'resources' | 'resourceTemplates') => names(k.gw.running.gateway.registry.catalog[field]);

  it('lists differ per caller: tools, prompts, resources and templates, in both eras', async () => {
    const allTools = catalogNames('tools');
    assert.ok(allTools.includes('everything__get-structured-content') && allTools.length > 8, allTools.join(', '));
    const expectAlpha = allTools.filter((n) => n !== 'everything__get-structured-content');
    const expectBeta = ['everything__echo', 'everything__get-env', 'everything__get-sum', 'everything__get-tiny-image'];

    const a2 = await modernClient(url, alpha);
    const b2 = await modernClient(url, beta);
    const a1 = await legacyClient(url, alpha);
    const b1 = await legacyClient(url, beta);
    try {
      for (const [c, want] of [[a2, expectAlpha], [a1, expectAlpha], [b2, expectBeta], [b1, expectBeta]] as const) {
        assert.deepEqual(names((await c.listTools()).tools), want);
      }
      for (const c of [a2, a1]) {
        assert.deepEqual(names((await c.listPrompts()).prompts), catalogNames('prompts'));
        assert.deepEqual(names((await c.listResources()).resources), catalogNames('resources'));
        assert.deepEqual(names((await c.listResourceTemplates()).resourceTemplates), catalogNames('resourceTemplates'));
      }
      for (const c of [b2, b1]) {
        assert.deepEqual(names((await c.listPrompts()).prompts), ['everything__simple-prompt']);
        assert.deepEqual(names((await c.listResources()).resources), [`${DOCS}/architecture.md`, `${DOCS}/features.md`]);
        assert.deepEqual(names((await c.listResourceTemplates()).resourceTemplates), ['demo://resource/dynamic/text/{resourceId}']);
      }
    } finally {
      await Promise.all([a2.close(), b2.close(), a1.close(), b1.close()]);
    }
    const list = k.records.findLast((r) => r.method === 'tools/list' && r.principal.agent === 'beta');
    assert.equal(list?.policy, undefined, 'lists are filtered, not decided');
  });

  it('rules from policy.files are enforced after the inline ones', async () => {
    const c = await modernClient(url, beta);
    try {
      const img = await c.callTool({ name: 'everything__get-tiny-image', arguments: {} });
      assert.ok((img.content as { type: string }[]).some((x) => x.type === 'image'));
    } finally {
      await c.close();
    }
    const rec = lastRecord(k.records, 'tools/call', 'everything__get-tiny-image');
    assert.deepEqual(rec.policy, { effect: 'allow', rule: 'file-beta-image', reason: 'rule', message: '', shadow: undefined });
    const denied = await modernRaw(url, bearer(alpha), 'tools/call', { name: 'everything__get-structured-content', arguments: { location: 'Chicago' } });
    assert.equal(denied.message?.error?.message, 'Unknown tool: everything__get-structured-content', 'the file\'s deny hides it even from ops');
    assert.equal(lastRecord(k.records, 'tools/call', 'everything__get-structured-content').policy?.rule, 'file-no-structured');
  });

  it('a hidden tool, prompt or resource answers exactly like one that does not exist, in both eras', async () => {
    const cases: [string, Record<string, unknown>, string, Record<string, unknown>, string, string][] = [
      ['tools/call', { name: 'everything__get-annotated-message', arguments: { messageType: 'success' } }, 'everything__get-annotated-message', { name: 'everything__no-such-tool-here', arguments: { messageType: 'success' } }, 'everything__no-such-tool-here', beta],
      ['tools/call', { name: 'everything__get-structured-content', arguments: {} }, 'everything__get-structured-content', { name: 'everything__not-a-tool', arguments: {} }, 'everything__not-a-tool', alpha],
      ['prompts/get', { name: 'everything__args-prompt', arguments: { city: 'Paris' } }, 'everything__args-prompt', { name: 'everything__no-prompt', arguments: { city: 'Paris' } }, 'everything__no-prompt', beta],
      ['resources/read', { uri: `${DOCS}/structure.md` }, `${DOCS}/structure.md`, { uri: `${DOCS}/nothing.md` }, `${DOCS}/nothing.md`, beta],
      ['resources/read', { uri: 'demo://resource/dynamic/blob/1' }, 'demo://resource/dynamic/blob/1', { uri: 'demo://resource/nowhere/1' }, 'demo://resource/nowhere/1', beta],
      ['completion/complete', { ref: { type: 'ref/prompt', name: 'everything__completable-prompt' }, argument: { name: 'department', value: 'E' } }, 'everything__completable-prompt', { ref: { type: 'ref/prompt', name: 'everything__no-prompt' }, argument: { name: 'department', value: 'E' } }, 'everything__no-prompt', beta],
    ];
    const sessions = { alpha: await legacySession(url, bearer(alpha)), beta: await legacySession(url, bearer(beta)) };
    try {
      for (const [method, hiddenParams, hiddenName, missingParams, missingName, key] of cases) {
        const what = `${method} ${hiddenName}`;
        assertSameAnswer(await modernRaw(url, bearer(key), method, hiddenParams), hiddenName, await modernRaw(url, bearer(key), method, missingParams), missingName, `${what} (2026-07-28)`);
        const s = key === alpha ? sessions.alpha : sessions.beta;
        assertSameAnswer(await s.call(method, hiddenParams), hiddenName, await s.call(method, missingParams), missingName, `${what} (2025-11-25)`);
      }
    } finally {
      await Promise.all([sessions.alpha.close(), sessions.beta.close()]);
    }
    // The refusal was a policy decision, recorded as such for audit (the agent cannot tell).
    const rec = lastRecord(k.records, 'tools/call', 'everything__get-annotated-message');
    assert.equal(rec.outcome, 'denied');
    assert.deepEqual(rec.policy, { effect: 'deny', rule: undefined, reason: 'default', message: 'No policy rule allows this call', shadow: undefined });
  });

  it('subscriptions follow the same rules: a hidden resource answers like a missing one (2025) or is not honored (2026-07-28)', async () => {
    const s = await legacySession(url, bearer(beta));
    try {
      assertSameAnswer(await s.call('resources/subscribe', { uri: `${DOCS}/structure.md` }), `${DOCS}/structure.md`, await s.call('resources/subscribe', { uri: `${DOCS}/nothing.md` }), `${DOCS}/nothing.md`, 'resources/subscribe');
      assert.deepEqual((await s.call('resources/subscribe', { uri: `${DOCS}/architecture.md` })).message?.result, {});
    } finally {
      await s.close();
    }
    const uris = [`${DOCS}/architecture.md`, `${DOCS}/structure.md`, `${DOCS}/nothing.md`];
    assert.deepEqual(await listenAcknowledged(url, bearer(beta), uris), [`${DOCS}/architecture.md`]);
    assert.deepEqual(await listenAcknowledged(url, bearer(alpha), uris), [`${DOCS}/architecture.md`, `${DOCS}/structure.md`]);
  });

  it('SDK clients of both generations get the same refusal for a hidden tool as for a missing one', async () => {
    const v2 = await modernClient(url, beta);
    const v1 = await legacyClient(url, beta);
    try {
      for (const c of [v2, v1]) {
        const hidden = await refusal(c.callTool({ name: 'everything__get-annotated-message', arguments: { messageType: 'success' } }));
        const missing = await refusal(c.callTool({ name: 'everything__get-annotated-messagX', arguments: { messageType: 'success' } }));
        assert.equal(hidden.code, -32602);
        assert.deepEqual(hidden, { ...missing, message: missing.message.replace('messagX', 'message') });
        assert.ok(!JSON.stringify(hidden).includes('policy'), 'nothing says policy hid it');
      }
    } finally {
      await Promise.all([v2.close(), v1.close()]);
    }
  });

  it('a revealed deny is listed and answers -31100 with the rule\'s message', async () => {
    for (const key of [alpha, beta]) {
      const r = await modernRaw(url, bearer(key), 'tools/call', { name: 'everything__get-env', arguments: {} });
      assert.equal(r.status, 200);
      assert.deepEqual(r.message?.error, { code: -31100, message: 'Environment variables are off limits', data: { rule: 'no-env', gatehouse: { error: 'denied', retryable: false } } });
    }
    const v1 = await legacyClient(url, alpha);
    try {
      const e = await refusal(v1.callTool({ name: 'everything__get-env', arguments: {} }));
      assert.equal(e.code, -31100);
      assert.match(e.message, /Environment variables are off limits/);
    } finally {
      await v1.close();
    }
    const rec = lastRecord(k.records, 'tools/call', 'everything__get-env');
    assert.equal(rec.outcome, 'denied');
    assert.equal(rec.error?.name, 'denied');
    assert.equal(rec.policy?.rule, 'no-env');
  });

  it('require_approval answers -31101 and says approvals are not available', async () => {
    const r = await modernRaw(url, bearer(alpha), 'tools/call', { name: 'everything__toggle-simulated-logging', arguments: {} });
    assert.equal(r.status, 200);
    assert.equal(r.message?.error?.code, -31101);
    assert.equal(r.message?.error?.message, 'This call needs a human\'s approval (policy rule "approve-toggles"); approvals are not available on this gateway yet, so it is denied');
    assert.deepEqual(r.message?.error?.data, { rule: 'approve-toggles', gatehouse: { error: 'approval_required', retryable: false } });
    const rec = lastRecord(k.records, 'tools/call', 'everything__toggle-simulated-logging');
    assert.equal(rec.policy?.effect, 'require_approval');
    assert.equal(rec.outcome, 'denied');
  });

  it('an argument constraint lets good arguments through to the real echo tool and refuses bad ones', async () => {
    const v2 = await modernClient(url, beta);
    const v1 = await legacyClient(url, beta);
    try {
      for (const c of [v2, v1]) {
        const ok = await c.callTool({ name: 'everything__echo', arguments: { message: 'hello world' } });
        assert.deepEqual(ok.content, [{ type: 'text', text: 'Echo: hello world' }]);
        for (const message of ['HELLO', 'a much too long message here']) {
          const e = await refusal(c.callTool({ name: 'everything__echo', arguments: { message } }));
          assert.equal(e.code, -31100);
          assert.ok(e.message.endsWith('Echo only short lowercase text: arguments/message must match pattern "^[a-z ]{1,20}$"'), e.message);
          assert.deepEqual(e.data, { rule: 'beta-echo', gatehouse: { error: 'denied', retryable: false } });
        }
      }
    } finally {
      await Promise.all([v2.close(), v1.close()]);
    }
    const rec = lastRecord(k.records, 'tools/call', 'everything__echo');
    assert.equal(rec.policy?.reason, 'constraint');
    assert.equal(rec.upstreamMs, undefined, 'the refused call never reached the upstream');
  });

  it('an evaluation error denies and says so (a condition on an argument the call does not carry)', async () => {
    const ok = await modernRaw(url, bearer(beta), 'tools/call', { name: 'everything__get-sum', arguments: { a: 1, b: 2 } });
    assert.match(JSON.stringify(ok.message?.result?.content), /3/);
    const err = await modernRaw(url, bearer(beta), 'tools/call', { name: 'everything__get-sum', arguments: { b: 2 } });
    assert.equal(err.status, 200);
    assert.deepEqual(err.message?.error, {
      code: -31100,
      message: 'Policy rule "beta-sum" could not be evaluated (condition failed: No such key: a); the call is denied',
      data: { rule: 'beta-sum', gatehouse: { error: 'denied', retryable: false } },
    });
    assert.deepEqual(lastRecord(k.records, 'tools/call', 'everything__get-sum').policy?.reason, 'error');
    // The condition is false for a large `a`: no rule allows it, and the tool stays listed (other arguments may pass).
    const big = await modernRaw(url, bearer(beta), 'tools/call', { name: 'everything__get-sum', arguments: { a: 500, b: 1 } });
    assert.deepEqual(big.message?.error, { code: -31100, message: 'No policy rule allows this call', data: { gatehouse: { error: 'denied', retryable: false } } });
  });
});
