import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkJsonContentType } from '../../src/edge/read-body.ts';
import { httpStatusOf } from '../../src/errors/codes.ts';
import { LIMIT, startServer } from './read-body-server.ts';

test('checkJsonContentType accepts application/json with optional parameters', () => {
  for (const h of ['application/json', 'Application/JSON', 'application/json; charset=utf-8', 'application/json;charset="UTF-8"', 'application/json ; charset=utf8', 'application/json; foo=bar', 'application/json;']) {
    assert.equal(checkJsonContentType(h), undefined, h);
  }
});

test('checkJsonContentType refuses other or missing types with unsupported_media_type', () => {
  for (const h of [undefined, '', 'text/plain', 'application/jsonx', 'application/json-rpc', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/json', 'application/json; charset=iso-8859-1', 'application/json; charset=utf-16', 'application/json; garbage', 'json']) {
    const e = checkJsonContentType(h);
    assert.equal(e?.name, 'unsupported_media_type', String(h));
    assert.equal(httpStatusOf(e), 415);
  }
});

test('readBody returns the body when within the limit (Content-Length and chunked)', async (t) => {
  const { port, seen } = await startServer(t);
  const body = 'x'.repeat(LIMIT);
  const a = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body });
  assert.equal(await a.text(), `got ${LIMIT}`);
  const b = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: ReadableStream.from([Buffer.from('ab'), Buffer.from('cd')]), duplex: 'half' } as RequestInit);
  assert.equal(await b.text(), 'got 4');
  const c = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST' });
  assert.equal(await c.text(), 'got 0');
  const results = await Promise.all(seen.map((s) => s.outcome));
  assert.deepEqual(results.map((r) => r.ok && r.bytes.toString()), [body, 'abcd', '']);
});
