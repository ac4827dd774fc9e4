import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  API_KEY_LENGTH,
  checkApiKeyText,
  displayKeyId,
  generateApiKey,
  hashSecret,
  isApiKeyId,
  parseApiKey,
  secretMatches,
} from '../../src/identity/api-key-format.ts';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Changes one character of the key at `index` to another base62 character. */
function mutate(text: string, index: number): string {
  const c = text[index]!;
  const other = BASE62[(BASE62.indexOf(c) + 1) % 62]!;
  return text.slice(0, index) + other + text.slice(index + 1);
}

describe('API key format', () => {
  it('generates ghk_<12 id>_<43 secret><6 check>, 66 characters, all base62', () => {
    const k = generateApiKey();
    assert.equal(API_KEY_LENGTH, 66);
    assert.equal(k.text.length, 66);
    assert.match(k.text, /^ghk_[0-9A-Za-z]{12}_[0-9A-Za-z]{49}$/);
    assert.match(k.id, /^[0-9A-Za-z]{12}$/);
    assert.match(k.secret, /^[0-9A-Za-z]{43}$/);
    assert.ok(k.text.startsWith(`ghk_${k.id}_${k.secret}`));
    assert.equal(k.hash, createHash('sha256').update(k.secret).digest('hex'));
    assert.ok(!k.hash.includes(k.secret));
  });

  it('parses what it generates, and nothing else', () => {
    for (let i = 0; i < 50; i++) {
      const k = generateApiKey();
      assert.deepEqual(parseApiKey(k.text), { id: k.id, secret: k.secret });
    }
  });

  it('gives fresh ids and secrets each time, spread over the whole alphabet', () => {
    const ids = new Set<string>();
    const secrets = new Set<string>();
    const chars = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const k = generateApiKey();
      ids.add(k.id);
      secrets.add(k.secret);
      for (const c of k.id) chars.add(c);
    }
    assert.equal(ids.size, 200);
    assert.equal(secrets.size, 200);
    // 2,400 draws from 62 characters: every one of them shows up unless the sampling is broken.
    assert.equal(chars.size, 62);
  });

  it('refuses a key with any single character changed (checksum)', () => {
    const k = generateApiKey();
    for (const index of [4, 10, 15, 17, 30, 59, 60, 65]) {
      const r = checkApiKeyText(mutate(k.text, index));
      assert.equal(r.ok, false, `changed at ${index}`);
      assert.match((r as { problem: string }).problem, /checksum/);
    }
  });

  it('refuses wrong shapes with a reason that never quotes the text', () => {
    const k = generateApiKey();
    const cases: Array<[unknown, RegExp]> = [
      ['', /starts with ghk_/],
      [undefined, /starts with ghk_/],
      [42, /starts with ghk_/],
      [`GHK_${k.text.slice(4)}`, /starts with ghk_/],
      [k.text.slice(0, -1), /66 characters long, this one has 65/],
      [`${k.text}x`, /this one has 67/],
      [`${k.text} `, /this one has 67/],
      ['ghk_' + 'a'.repeat(100_000), /more than 999/],
      [`${k.text.slice(0, 16)}-${k.text.slice(17)}`, /12 letters or digits, "_", then 49/],
      [`${k.text.slice(0, 20)}é${k.text.slice(21)}`, /12 letters or digits/],
      [`${k.text.slice(0, 20)}_${k.text.slice(21)}`, /12 letters or digits/],
    ];
    for (const [text, pattern] of cases) {
      const r = checkApiKeyText(text);
      assert.equal(r.ok, false);
      const problem = (r as { problem: string }).problem;
      assert.match(problem, pattern);
      assert.ok(!problem.includes(k.secret.slice(0, 10)));
      if (typeof text === 'string') assert.equal(parseApiKey(text), undefined);
    }
  });

  it('hashes secrets as hex SHA-256 and compares them in constant time', () => {
    const k = generateApiKey();
    assert.equal(hashSecret(k.secret), k.hash);
    assert.equal(secretMatches(k.secret, k.hash), true);
    assert.equal(secretMatches(generateApiKey().secret, k.hash), false);
    assert.equal(secretMatches('', k.hash), false);
    // Malformed stored hashes never match, and never throw.
    for (const bad of ['', 'zz'.repeat(32), k.hash.slice(0, 62), `${k.hash}00`, `${k.hash.slice(0, 63)}g`]) {
      assert.equal(secretMatches(k.secret, bad), false, bad);
    }
  });

  it('recognises key ids and shows them with the prefix', () => {
    const k = generateApiKey();
    assert.equal(isApiKeyId(k.id), true);
    assert.equal(isApiKeyId(`ghk_${k.id}`), false);
    assert.equal(isApiKeyId(k.id.slice(1)), false);
    assert.equal(displayKeyId(k.id), `ghk_${k.id}`);
  });
});
