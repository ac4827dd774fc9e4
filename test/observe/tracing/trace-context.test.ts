// W3C traceparent parsing (what the edge accepts from agents) and formatting (what goes upstream).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatTraceparent, parseTraceparent, requestTrace, traceIdOf } from '../../../src/protocol/trace-context.ts';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const P = '00f067aa0ba902b7';

describe('trace context', () => {
  it('parses a version-00 traceparent into trace id, parent span id and flags', () => {
    assert.deepEqual(parseTraceparent(`00-${T}-${P}-01`), { traceId: T, parentId: P, flags: 1, tracestate: undefined });
    assert.deepEqual(parseTraceparent(` 00-${T}-${P}-00 `, 'a=1,b=2'), { traceId: T, parentId: P, flags: 0, tracestate: 'a=1,b=2' });
    assert.equal(traceIdOf(`00-${T}-${P}-01`), T);
  });

  it('accepts a later version with more fields, as the specification asks', () => {
    assert.equal(parseTraceparent(`01-${T}-${P}-01-what-comes-next`)?.parentId, P);
  });

  it('ignores what is invalid: version ff, extra fields on 00, zero ids, upper case, wrong lengths, non-strings', () => {
    for (const bad of [`ff-${T}-${P}-01`, `00-${T}-${P}-01-x`, `00-${'0'.repeat(32)}-${P}-01`, `00-${T}-${'0'.repeat(16)}-01`, `00-${T.toUpperCase()}-${P}-01`, `00-${T}-${P}-1`, `00-${T}1-${P}-01`, 42, undefined, 'x'.repeat(600)]) {
      assert.equal(parseTraceparent(bad), undefined, String(bad));
    }
  });

  it('drops an oversized or empty tracestate but keeps the traceparent', () => {
    assert.equal(parseTraceparent(`00-${T}-${P}-01`, 'x'.repeat(513))?.tracestate, undefined);
    assert.equal(parseTraceparent(`00-${T}-${P}-01`, '  ')?.tracestate, undefined);
    assert.equal(parseTraceparent(`00-${T}-${P}-01`, 7)?.traceId, T);
  });

  it('takes the header first, then `_meta`, each with the tracestate of its own carrier', () => {
    const other = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    const params = { _meta: { traceparent: `00-${other}-${P}-01`, tracestate: 'meta=1' } };
    assert.deepEqual(requestTrace(`00-${T}-${P}-01`, params), { traceId: T, parentId: P, flags: 1, tracestate: undefined });
    assert.deepEqual(requestTrace(`00-${T}-${P}-01`, params, 'hdr=1'), { traceId: T, parentId: P, flags: 1, tracestate: 'hdr=1' });
    assert.deepEqual(requestTrace(undefined, params), { traceId: other, parentId: P, flags: 1, tracestate: 'meta=1' });
    assert.equal(requestTrace('garbage', params)?.traceId, other, 'an invalid header falls back to _meta');
    assert.equal(requestTrace([`00-${T}-${P}-01`, 'second'], undefined)?.traceId, T);
    assert.equal(requestTrace(undefined, { _meta: 'x' }), undefined);
    assert.equal(requestTrace(undefined, undefined), undefined);
  });

  it('formats version 00 with two hex digits of flags', () => {
    assert.equal(formatTraceparent(T, P, 1), `00-${T}-${P}-01`);
    assert.equal(formatTraceparent(T, P, 0), `00-${T}-${P}-00`);
    assert.deepEqual(parseTraceparent(formatTraceparent(T, P, 1)), { traceId: T, parentId: P, flags: 1, tracestate: undefined });
  });
});
