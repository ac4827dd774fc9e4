// Framing of upstream byte streams: newline-delimited JSON (stdio) and Server-Sent Events (HTTP).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter } from '../../src/upstream/transports/line-splitter.ts';
import { SseParser, SseTooLarge, type SseEvent } from '../../src/upstream/transports/sse-parser.ts';

function splitter(max: number): { s: LineSplitter; lines: string[]; overflows: Array<{ head: string; tail: string; size: number }> } {
  const lines: string[] = [];
  const overflows: Array<{ head: string; tail: string; size: number }> = [];
  const s = new LineSplitter(max, {
    line: (b) => lines.push(b.toString('utf8')),
    overflow: (head, tail, size) => overflows.push({ head: head.toString('utf8'), tail: tail.toString('utf8'), size }),
  });
  return { s, lines, overflows };
}

describe('LineSplitter', () => {
  it('joins lines split across chunks and splits chunks holding several lines', () => {
    const { s, lines } = splitter(1024);
    s.push(Buffer.from('{"a":'));
    s.push(Buffer.from('1}\n{"b":2}\n{"c"'));
    s.push(Buffer.from(':3}\n'));
    assert.deepEqual(lines, ['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  it('keeps a multi-byte character split between chunks intact', () => {
    const { s, lines } = splitter(1024);
    const bytes = Buffer.from('"äö€"\n');
    s.push(bytes.subarray(0, 2));
    s.push(bytes.subarray(2));
    assert.deepEqual(lines, ['"äö€"']);
  });

  it('skips empty lines and flushes a last line without newline at the end', () => {
    const { s, lines } = splitter(1024);
    s.push(Buffer.from('\n\nx\n\ny'));
    s.end();
    assert.deepEqual(lines, ['x', 'y']);
  });

  it('drops a line over the bound without buffering it, reporting its edges', () => {
    const { s, lines, overflows } = splitter(16);
    s.push(Buffer.from('{"jsonrpc":"2.0","id":7,'));
    s.push(Buffer.from('x'.repeat(1000)));
    s.push(Buffer.from('"end":true}\nok\n'));
    assert.deepEqual(lines, ['ok']);
    assert.equal(overflows.length, 1);
    assert.equal(overflows[0]?.size, 24 + 1000 + 11);
    assert.match(overflows[0]?.head ?? '', /^\{"jsonrpc":"2.0","id":7,/);
    assert.match(overflows[0]?.tail ?? '', /"end":true\}$/);
  });

  it('treats a single oversized chunk line the same way', () => {
    const { s, lines, overflows } = splitter(8);
    s.push(Buffer.from(`${'y'.repeat(20)}\nshort\n`));
    assert.deepEqual(lines, ['short']);
    assert.equal(overflows[0]?.size, 20);
  });
});

function parse(chunks: Array<string | Uint8Array>, max = 1 << 20): { events: SseEvent[]; parser: SseParser } {
  const events: SseEvent[] = [];
  const parser = new SseParser(max, { event: (e) => events.push(e) });
  for (const c of chunks) parser.push(typeof c === 'string' ? Buffer.from(c) : c);
  return { events, parser };
}

describe('SseParser', () => {
  it('parses events with type, id and multi-line data', () => {
    const { events, parser } = parse(['event: message\nid: 1\ndata: {"a":\ndata: 1}\n\n', ': comment\nretry: 2500\ndata: x\n\n']);
    assert.deepEqual(events, [
      { event: 'message', data: '{"a":\n1}', id: '1' },
      { event: 'message', data: 'x', id: '1' },
    ]);
    assert.equal(parser.retryMs, 2500);
    assert.equal(parser.lastEventId, '1');
  });

  it('accepts CR, LF and CRLF line ends, including a CRLF split across chunks', () => {
    const { events } = parse(['data: a\r', '\n\r\n', 'data: b\r\rdata: c\n\n']);
    assert.deepEqual(events.map((e) => e.data), ['a', 'b', 'c']);
  });

  it('handles UTF-8 split inside a character and a leading BOM', () => {
    const bytes = Buffer.from('\ufeffdata: größe\n\n');
    const { events } = parse([bytes.subarray(0, 12), bytes.subarray(12)]);
    assert.deepEqual(events.map((e) => e.data), ['größe']);
  });

  it('keeps the endpoint event type and a field without a colon', () => {
    const { events } = parse(['event: endpoint\ndata: /message?sessionId=1\n\ndata\n\n']);
    assert.deepEqual(events, [
      { event: 'endpoint', data: '/message?sessionId=1', id: undefined },
      { event: 'message', data: '', id: undefined },
    ]);
  });

  it('dispatches nothing for an id-only priming event and remembers the id', () => {
    const { events, parser } = parse(['id: abc\n\n']);
    assert.deepEqual(events, []);
    assert.equal(parser.lastEventId, 'abc');
  });

  it('refuses an event over the bound', () => {
    assert.throws(() => parse([`data: ${'z'.repeat(100)}\n`], 50), SseTooLarge);
    assert.throws(() => parse([`data: ${'z'.repeat(100)}`], 50), SseTooLarge);
  });
});
