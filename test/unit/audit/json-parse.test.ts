import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson } from '../../../src/audit/canonical.ts';
import { parseJson } from '../../../src/audit/json-parse.ts';

describe('parseJson', () => {
  it('reads escaped single-character keys correctly after a "\\\\" key (nodejs/node#63785)', () => {
    const keys = ['\\\\', '\\"', '\\/', '\\b', '\\f', '\\n', '\\r', '\\t', '\\u0000', '\\u001f', '\\u0041'];
    for (const a of keys) {
      for (const b of keys) {
        parseJson(`{"h":[],"${a}":0}`);
        const want = JSON.parse(`"${b}"`) as string;
        assert.deepEqual(Object.keys(parseJson(`{"h":1,"${b}":2}`) as object), ['h', want], `${a} then ${b}`);
      }
    }
  });

  it('agrees with JSON.parse on texts without escaped keys', () => {
    const texts = ['{"a":[1,-0,1.5e300,2E-5,0.1],"b":{"c":null,"d":true,"e":false}}', '"x\\ny\\u00e9\\ud83d\\ude00"', '  [ 1 , "a" , { } , [ ] ]  ', '-12', '{"s":"tab\\tquote\\"slash\\/back\\\\"}', '"\\ud800"'];
    for (const t of texts) assert.deepEqual(parseJson(t), JSON.parse(t), t);
  });

  it('keeps "__proto__" a member and the last of repeated names', () => {
    const v = parseJson('{"__proto__":{"x":1},"a":"\\n","a":2}') as Record<string, unknown>;
    assert.ok(Object.hasOwn(v, '__proto__'));
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.equal(v.a, 2);
    assert.equal(canonicalJson(v), '{"__proto__":{"x":1},"a":2}');
  });

  it('refuses what JSON.parse refuses', () => {
    for (const bad of ['{"a":"\\x"}', '{"a":1,}', '["\\u12"]', '{"a" 1}', '"\\', '["a"] x', '{"a":"\t"}', '[01]', '{a:1}', '["\\u00zz"]', '', '[1,]', 'nul', '{"\\n":1']) {
      assert.throws(() => parseJson(bad), SyntaxError, bad);
      assert.throws(() => JSON.parse(bad), SyntaxError, bad);
    }
  });

  it('refuses absurd nesting with an error, not a stack overflow', () => {
    assert.throws(() => parseJson(`${'['.repeat(5000)}"\\n"${']'.repeat(5000)}`), /Nesting deeper than 1000/);
  });
});
