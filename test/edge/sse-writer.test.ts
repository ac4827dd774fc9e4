import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SseWriter, type SseCloseReason, type SseWriterOptions } from '../../src/edge/sse-writer.ts';

interface Harness {
  writer: SseWriter;
  res: IncomingMessage;
  /** Everything received so far, as text. */
  text(): string;
  /** Resolves once the received text matches. */
  until(re: RegExp): Promise<string>;
  ended: Promise<void>;
}

/** A real server on 127.0.0.1 that hands the test an SseWriter, and a client reading the stream. */
async function stream(t: { after(fn: () => unknown): void }, options?: SseWriterOptions, onRequest: (w: SseWriter) => void = (w) => w.open(), onResponse?: (res: ServerResponse) => void): Promise<Harness> {
  let resolveWriter: (w: SseWriter) => void = () => undefined;
  const writerReady = new Promise<SseWriter>((r) => (resolveWriter = r));
  const server = createServer((_req, res: ServerResponse) => {
    onResponse?.(res);
    const w = new SseWriter(res, options);
    onRequest(w);
    resolveWriter(w);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const port = (server.address() as AddressInfo).port;
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    request({ host: '127.0.0.1', port, method: 'POST', path: '/' }, resolve).on('error', reject).end();
  });
  const writer = await writerReady;
  let received = '';
  const waiters: (() => void)[] = [];
  res.setEncoding('utf8');
  res.on('data', (c: string) => {
    received += c;
    for (const w of waiters.splice(0)) w();
  });
  const ended = new Promise<void>((r) => {
    res.on('end', r);
    res.on('close', r);
  });
  return {
    writer,
    res,
    text: () => received,
    async until(re) {
      while (!re.test(received)) await new Promise<void>((r) => waiters.push(r));
      return received;
    },
    ended,
  };
}

test('open() sends 200 with the SSE headers; caller headers merge but cannot change the type', async (t) => {
  const h = await stream(t, {}, (w) => w.open({ 'Mcp-Session-Id': 'abc', 'Content-Type': 'application/json' }));
  assert.equal(h.res.statusCode, 200);
  assert.equal(h.res.headers['content-type'], 'text/event-stream');
  assert.equal(h.res.headers['cache-control'], 'no-cache, no-transform');
  assert.equal(h.res.headers['x-accel-buffering'], 'no');
  assert.equal(h.res.headers['connection'], 'keep-alive');
  assert.equal(h.res.headers['mcp-session-id'], 'abc');
  assert.equal(h.res.rawHeaders.filter((x) => x.toLowerCase() === 'content-type').length, 1);
  h.writer.close();
});

test('send() frames id, event and one data line of JSON; close() ends the stream', async (t) => {
  const h = await stream(t, {}, (w) => w.open());
  const closes: SseCloseReason[] = [];
  h.writer.onClose((r) => closes.push(r));
  assert.deepEqual(h.writer.send({ jsonrpc: '2.0', method: 'notifications/progress', params: { text: 'a\nb\u2028' } }, 'ev-1'), { ok: true });
  assert.deepEqual(h.writer.send({ jsonrpc: '2.0', id: 1, result: {} }), { ok: true });
  h.writer.close();
  await h.ended;
  assert.equal(
    h.text(),
    'id: ev-1\nevent: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"text":"a\\nb\u2028"}}\n\n' +
      'event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\n\n',
  );
  assert.deepEqual(closes, ['server']);
  assert.equal(h.writer.closed, true);
  assert.deepEqual(h.writer.send({}), { ok: false, reason: 'stream closed' });
});

test('sendJson() splits pre-serialised JSON with line breaks over data lines', async (t) => {
  const h = await stream(t);
  h.writer.sendJson('{\n  "a": 1,\r\n  "b": 2\r}');
  const text = await h.until(/\n\n$/);
  assert.equal(text, 'event: message\ndata: {\ndata:   "a": 1,\ndata:   "b": 2\ndata: }\n\n');
  const joined = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
  assert.deepEqual(JSON.parse(joined), { a: 1, b: 2 });
  h.writer.close();
});

test('event ids and comments that would break framing are refused, not written', async (t) => {
  const h = await stream(t, {}, (w) => w.open());
  assert.equal(h.writer.send({ a: 1 }, 'x\ny').ok, false);
  assert.equal(h.writer.comment('x\rdata: injected').ok, false);
  const big = { n: 10n } as unknown as object;
  const r = h.writer.send(big);
  assert.equal(r.ok, false);
  assert.equal(h.writer.closed, false, 'an unserialisable message does not end the stream');
  h.writer.comment();
  h.writer.comment('hi');
  await h.until(/: hi\n\n$/);
  assert.equal(h.text(), ':\n\n: hi\n\n');
  h.writer.close();
});

test('keep-alive comments are sent while the stream is idle, and the timer stops on close', async (t) => {
  let serverRes: ServerResponse | undefined;
  const h = await stream(t, { keepAliveMs: 5 }, (w) => w.open(), (res) => (serverRes = res));
  await h.until(/^:\n\n/);
  h.writer.close();
  await h.ended;
  // A timer still running after close would call write() on the ended response.
  let writesAfterClose = 0;
  const res = serverRes as ServerResponse;
  const write = res.write.bind(res);
  res.write = ((...args: Parameters<typeof write>) => {
    writesAfterClose++;
    return write(...args);
  }) as typeof res.write;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(writesAfterClose, 0);
});

test('onClose reports the client going away; later sends fail without throwing', async (t) => {
  const h = await stream(t, {}, (w) => w.open());
  const closed = new Promise<SseCloseReason>((r) => h.writer.onClose(r));
  h.res.destroy();
  assert.equal(await closed, 'client');
  assert.equal(h.writer.closed, true);
  assert.equal(h.writer.send({ a: 1 }).ok, false);
  let late: SseCloseReason | undefined;
  h.writer.onClose((r) => (late = r));
  assert.equal(late, 'client', 'a callback registered after close runs at once');
});

test('backpressure: needsDrain when the client stops reading, drain() resolves when it reads again', async (t) => {
  const h = await stream(t, { maxQueuedBytes: 1 << 30 }, (w) => w.open());
  h.res.pause();
  const payload = { data: 'p'.repeat(64 * 1024) };
  let sent = 0;
  while (!h.writer.needsDrain) {
    assert.equal(h.writer.send(payload).ok, true);
    sent++;
    if (sent % 16 === 0) await new Promise((r) => setImmediate(r));
  }
  const drained = h.writer.drain();
  h.res.resume();
  await drained;
  assert.equal(h.writer.needsDrain, false);
  h.writer.close();
});

test('backpressure: past maxQueuedBytes the stream is given up with a reason', async (t) => {
  const h = await stream(t, { maxQueuedBytes: 256 * 1024 }, (w) => w.open());
  h.res.pause();
  const closed = new Promise<[SseCloseReason, string | undefined]>((r) => h.writer.onClose((reason, detail) => r([reason, detail])));
  const payload = { data: 'q'.repeat(64 * 1024) };
  let result = h.writer.send(payload);
  for (let i = 0; result.ok; i++) {
    result = h.writer.send(payload);
    if (i % 16 === 0) await new Promise((r) => setImmediate(r));
  }
  assert.match(result.reason, /client not reading: \d+ bytes queued, limit 262144/);
  const [reason, detail] = await closed;
  assert.equal(reason, 'backpressure');
  assert.equal(detail, result.reason);
  assert.equal(h.writer.closeReason?.reason, 'backpressure');
  h.res.on('error', () => undefined);
  h.res.resume(); // a paused client would never notice the reset
  await h.ended;
});
