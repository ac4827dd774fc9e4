import assert from 'node:assert/strict';
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { parseJson } from '../../../src/audit/json-parse.ts';
import { CanonicalJsonError, MAX_JSON_DEPTH, canonicalJson, canonicalWellFormed, jsonProblem, normalizedPath, sha256Hex } from '../../../src/audit/canonical.ts';

describe('canonicalJson (RFC 8785)', () => {
  it('sorts members by UTF-16 code units at every level, without whitespace', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } }), '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
    // RFC 8785 §3.2.3: UTF-16 order puts U+FB33 (one unit) after U+1F600 (a surrogate pair, 0xD83D first).
    assert.equal(canonicalJson({ '\ufb33': 1, '\u{1f600}': 2, '\u00e9': 3, a: 4 }), '{"a":4,"\u00e9":3,"\u{1f600}":2,"\ufb33":1}');
  });

  it('serializes numbers in the shortest round-trip ECMAScript form', () => {
    assert.equal(canonicalJson([1e21, 1e-7, 0.1, -0, 333333333.33333329, 9007199254740991, 4.5, 2e-3]), '[1e+21,1e-7,0.1,0,333333333.3333333,9007199254740991,4.5,0.002]');
  });

  it('escapes strings minimally and keeps other unicode as is', () => {
    assert.equal(canonicalJson('\u0000\b\t\n\f\r"\\/\u2028é😀\u001f'), '"\\u0000\\b\\t\\n\\f\\r\\"\\\\/\u2028é😀\\u001f"');
  });

  it('drops undefined members, like JSON', () => {
    assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
  });

  it('refuses what is not plain JSON, naming where', () => {
    const cases: [unknown, RegExp][] = [
      [{ a: [1, () => 1] }, /function at \$\['a'\]\[1\]/],
      [{ n: Number.NaN }, /number NaN at \$\['n'\]/],
      [{ n: Infinity }, /number Infinity/],
      [{ b: 1n }, /bigint at \$\['b'\]/],
      [[undefined], /undefined in an array at \$\[0\]/],
      [{ d: new Date(0) }, /class Date at \$\['d'\]/],
      [{ m: new Map() }, /class Map/],
      [Symbol('x'), /symbol at \$/],
      [undefined, /undefined at \$/],
    ];
    for (const [v, re] of cases) {
      assert.throws(() => canonicalJson(v), (e: unknown) => e instanceof CanonicalJsonError && e.kind === 'not_json' && re.test(e.message), String(re));
    }
  });

  it('refuses lone surrogates (JCS) and nesting past the bound, including cycles', () => {
    assert.throws(() => canonicalJson({ a: 'x\ud800' }), (e: unknown) => e instanceof CanonicalJsonError && e.kind === 'lone_surrogate');
    assert.throws(() => canonicalJson({ ['\udc00']: 1 }), (e: unknown) => e instanceof CanonicalJsonError && e.kind === 'lone_surrogate');
    let deep: unknown = 1;
    for (let i = 0; i < MAX_JSON_DEPTH + 1; i++) deep = [deep];
    assert.throws(() => canonicalJson(deep), (e: unknown) => e instanceof CanonicalJsonError && e.kind === 'too_deep');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => canonicalJson(cyclic), (e: unknown) => e instanceof CanonicalJsonError && e.kind === 'too_deep');
  });

  it('accepts null-prototype objects and frozen values', () => {
    const o = Object.assign(Object.create(null) as Record<string, unknown>, { b: 2, a: Object.freeze([1]) });
    assert.equal(canonicalJson(o), '{"a":[1],"b":2}');
    assert.equal(jsonProblem(JSON.parse('{"__proto__":{"x":1}}')), undefined);
    assert.equal(canonicalJson(JSON.parse('{"__proto__":{"x":1}}')), '{"__proto__":{"x":1}}');
  });

  it('matches the RFC 8785 §3.2.2 example', () => {
    const input = '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}';
    const expected = '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}';
    assert.equal(canonicalJson(JSON.parse(input)), expected);
  });

  it('agrees with the canonicalize package on varied random values', () => {
    // A seeded generator: the same values on every run.
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pieces = ['a', 'Z', '_', ' ', '"', '\\', '/', '\n', '\u0000', '\u001f', '\u007f', 'é', '€', '\u2028', '\u{1f600}', '\ufb33', '\uffff', '0', '-'];
    const str = () => Array.from({ length: Math.floor(rnd() * 6) }, () => pieces[Math.floor(rnd() * pieces.length)]).join('');
    const num = () => {
      const r = rnd();
      if (r < 0.2) return Math.floor(rnd() * 2000) - 1000;
      if (r < 0.4) return (rnd() - 0.5) * 10 ** Math.floor(rnd() * 40 - 20);
      if (r < 0.5) return [0, -0, Number.MAX_VALUE, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER, 1e21, 1e-7, 0.1 + 0.2][Math.floor(rnd() * 8)]!;
      return rnd() * 1e6;
    };
    const value = (depth: number): unknown => {
      const r = rnd();
      if (depth > 4 || r < 0.3) return [null, true, false, num(), str(), num()][Math.floor(rnd() * 6)];
      if (r < 0.6) return Array.from({ length: Math.floor(rnd() * 5) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 6) }, () => [str(), value(depth + 1)]));
    };
    for (let i = 0; i < 2000; i++) {
      const v = value(0);
      const text = canonicalJson(v);
      assert.equal(text, canonicalize(v), JSON.stringify(v));
      // parseJson, not JSON.parse: see json-parse.ts (V8 misreads some escaped keys).
      assert.equal(canonicalJson(parseJson(text)), text);
    }
  });

  it('parse → canonicalize gives the canonical text back', () => {
    const text = canonicalJson({ z: [0.1, 1e300, -5e-324, 'é\u{1f600}\n'], a: { k: true } });
    assert.equal(canonicalJson(JSON.parse(text)), text);
  });
});

describe('canonicalWellFormed', () => {
  it('replaces lone surrogates (in values and names) with U+FFFD and returns the value it canonicalized', () => {
    const input = JSON.parse('{"a":"x\\ud800","\\udc00k":["\\ud83d"]}') as Record<string, unknown>;
    const r = canonicalWellFormed(input);
    assert.equal(r.text, '{"a":"x\ufffd","\ufffdk":["\ufffd"]}');
    assert.deepEqual(r.value, { a: 'x\ufffd', '\ufffdk': ['\ufffd'] });
    assert.equal(input.a, 'x\ud800', 'the input is not changed');
  });

  it('returns the value itself when nothing needs fixing, and still refuses non-JSON', () => {
    const v = { a: 1 };
    assert.equal(canonicalWellFormed(v).value, v);
    assert.throws(() => canonicalWellFormed({ a: 'x\ud800', f: () => 1 }), CanonicalJsonError);
  });
});

describe('sha256Hex and normalizedPath', () => {
  it('hashes the UTF-8 bytes', () => {
    assert.equal(sha256Hex('é'), createHash('sha256').update(Buffer.from('é', 'utf8')).digest('hex'));
    assert.equal(sha256Hex(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('spells locations as RFC 9535 normalized paths', () => {
    assert.equal(normalizedPath([]), '$');
    assert.equal(normalizedPath(['a', 0, "it's", 'back\\slash', 'nl\n', '\u0001']), "$['a'][0]['it\\'s']['back\\\\slash']['nl\\n']['\\u0001']");
  });
});
