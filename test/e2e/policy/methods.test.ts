// Rules limited to some methods (`when.methods`). A list shows a target when the call it stands for
// (tools/call, prompts/get, resources/read) may be allowed; a target the caller sees listed must never
// then be called unknown. Other methods on it (completion/complete, resources/subscribe) are refused
// as denied, while a target that is not listed stays indistinguishable from a missing one.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { stdioEverything } from '../../harness/gateway.ts';
import { assertSameAnswer, bearer, keyedGateway, legacySession, modernRaw, names, type KeyedGateway } from './helpers.ts';

const ARCH = 'demo://resource/static/document/architecture.md';
const COMPLETE = { argument: { name: 'department', value: 'E' } };

describe('policy rules limited to methods', () => {
  let k: KeyedGateway;
  let key: Record<string, string>;

  before(async () => {
    k = await keyedGateway(
      {
        upstreams: [stdioEverything('everything')],
        policy: {
          rules: [
            { name: 'get-only', effect: 'allow', when: { prompts: ['everything__completable-prompt'], methods: ['prompts/get'] } },
            { name: 'read-only', effect: 'allow', when: { resources: [ARCH], methods: ['resources/read'] } },
          ],
        },
      },
      { beta: {} },
    );
    key = bearer(k.keys.beta!);
  });
  after(() => k?.gw.stop());

  it('the targets are listed and their listed method is allowed', async () => {
    assert.deepEqual(names((await modernRaw(k.gw.url, key, 'prompts/list', {})).message?.result?.prompts), ['everything__completable-prompt']);
    assert.deepEqual(names((await modernRaw(k.gw.url, key, 'resources/list', {})).message?.result?.resources), [ARCH]);
    const got = await modernRaw(k.gw.url, key, 'prompts/get', { name: 'everything__completable-prompt', arguments: { department: 'Engineering', name: 'Alice' } });
    assert.ok(got.message?.result, got.text);
    const read = await modernRaw(k.gw.url, key, 'resources/read', { uri: ARCH });
    assert.ok(read.message?.result, read.text);
  });

  it('completion/complete on a listed prompt is denied (-31100), not "unknown prompt"', async () => {
    const r = await modernRaw(k.gw.url, key, 'completion/complete', { ref: { type: 'ref/prompt', name: 'everything__completable-prompt' }, ...COMPLETE });
    assert.deepEqual(r.message?.error, { code: -31100, message: 'No policy rule allows this call', data: { gatehouse: { error: 'denied', retryable: false } } }, r.text);
  });

  it('resources/subscribe on a listed resource is denied (-31100), not "not found"', async () => {
    const s = await legacySession(k.gw.url, key);
    try {
      const r = await s.call('resources/subscribe', { uri: ARCH });
      assert.deepEqual(r.message?.error, { code: -31100, message: 'No policy rule allows this call', data: { gatehouse: { error: 'denied', retryable: false } } }, r.text);
    } finally {
      await s.close();
    }
  });

  it('a prompt that is not listed still answers completion like a missing one', async () => {
    const hidden = 'everything__args-prompt';
    const missing = 'everything__none-prompt';
    assertSameAnswer(
      await modernRaw(k.gw.url, key, 'completion/complete', { ref: { type: 'ref/prompt', name: hidden }, ...COMPLETE }),
      hidden,
      await modernRaw(k.gw.url, key, 'completion/complete', { ref: { type: 'ref/prompt', name: missing }, ...COMPLETE }),
      missing,
      'completion/complete',
    );
  });
});
