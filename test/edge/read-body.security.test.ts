import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayFault } from '../../src/errors/codes.ts';
import { LIMIT, firstData, raw, startServer } from './read-body-server.ts';

test('readBody refuses an oversized Content-Length before reading any of the body', async (t) => {
  const { port, seen } = await startServer(t);
  const { socket, response } = raw(port);
  // Headers only: the body is never sent, so an answer proves the server did not wait for it.
  socket.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${LIMIT + 1}\r\n\r\n`);
  const first = await firstData(socket);
  assert.match(first, /^HTTP\/1\.1 413 /);
  assert.match(first, /connection: close/i);
  await response;
  const r = await seen[0]!.outcome;
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.error instanceof GatewayFault);
  assert.equal(!r.ok && (r.error as GatewayFault).error.name, 'body_too_large');
});

test('readBody stops a chunked body as soon as it passes the limit and closes the connection', async (t) => {
  const { port, seen } = await startServer(t);
  const { socket, response } = raw(port);
  socket.write('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n');
  const chunk = 'y'.repeat(700);
  const frame = `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
  socket.write(frame);
  socket.write(frame); // 1,400 bytes: over the limit; the request is never finished by the client
  const first = await firstData(socket);
  assert.match(first, /^HTTP\/1\.1 413 /);
  await response; // the server closed the socket although the body never ended
  const r = await seen[0]!.outcome;
  assert.ok(!r.ok);
  assert.equal((r.error as GatewayFault).error.name, 'body_too_large');
  assert.equal(r.dataListeners, 0, 'no listener keeps buffering');
  assert.equal(r.paused, true, 'reading stopped');
  assert.equal((r.error as GatewayFault).error.detail?.limitBytes, LIMIT);
});

test('readBody rejects with invalid_request when the client goes away mid-body', async (t) => {
  const { port, seen } = await startServer(t);
  const { socket } = raw(port);
  socket.write('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n0123456789');
  while (seen.length === 0) await new Promise((r) => setImmediate(r));
  socket.destroy();
  const r = await seen[0]!.outcome;
  assert.ok(!r.ok);
  assert.equal((r.error as GatewayFault).error.name, 'invalid_request');
  assert.equal((r.error as GatewayFault).error.detail?.reason, 'aborted');
});

test('Node answers 431 itself for headers over createServer({ maxHeaderSize })', async (t) => {
  const { port, seen } = await startServer(t, { maxHeaderSize: 1024 });
  const { socket, response } = raw(port);
  socket.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'z'.repeat(2048)}\r\nContent-Length: 0\r\n\r\n`);
  const text = await response;
  assert.match(text, /^HTTP\/1\.1 431 /);
  assert.equal(seen.length, 0, 'the handler never ran');
});
