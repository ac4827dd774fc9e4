// Incremental Server-Sent Events parsing (the WHATWG event-stream rules: CR, LF or CRLF line ends,
// multi-line data, comments, id and retry fields), bounded per event so one stream cannot grow without
// limit. Chunks may split anywhere, including inside a UTF-8 sequence or between CR and LF.
export interface SseEvent {
  event: string;
  data: string;
  id: string | undefined;
}

export interface SseSink {
  event(e: SseEvent): void;
}

export class SseTooLarge extends Error {}

const LINE_END = /\r\n|\r|\n/g;

export class SseParser {
  /** The last `id:` seen, for `Last-Event-ID` on reconnection. */
  lastEventId: string | undefined = undefined;
  /** The last `retry:` seen, in ms. */
  retryMs: number | undefined = undefined;
  private readonly maxEvent: number;
  private readonly sink: SseSink;
  private readonly decoder = new TextDecoder('utf-8');
  private buf = '';
  private first = true;
  private data = '';
  private hasData = false;
  private type = '';

  constructor(maxEvent: number, sink: SseSink) {
    this.maxEvent = maxEvent;
    this.sink = sink;
  }

  /** Throws SseTooLarge when an event or a line exceeds the bound. */
  push(chunk: Uint8Array): void {
    let text = this.decoder.decode(chunk, { stream: true });
    if (this.first && text.length > 0) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.buf = this.buf.length === 0 ? text : this.buf + text;
    LINE_END.lastIndex = 0;
    let start = 0;
    for (;;) {
      const m = LINE_END.exec(this.buf);
      if (m === null) break;
      // A CR at the very end may be the first half of a CRLF split across chunks: wait for more.
      if (m[0] === '\r' && m.index === this.buf.length - 1) break;
      this.line(this.buf.slice(start, m.index));
      start = m.index + m[0].length;
    }
    this.buf = start === 0 ? this.buf : this.buf.slice(start);
    if (this.buf.length > this.maxEvent) throw new SseTooLarge(`an SSE line exceeds ${this.maxEvent} bytes`);
  }

  /** The stream ended; an unterminated last event is discarded, as the SSE rules say. */
  end(): void {
    this.buf = '';
    this.data = '';
    this.hasData = false;
    this.type = '';
  }

  private line(line: string): void {
    if (line.length === 0) {
      this.dispatch();
      return;
    }
    if (line.charCodeAt(0) === 58 /* : */) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data = this.hasData ? `${this.data}\n${value}` : value;
        this.hasData = true;
        if (this.data.length > this.maxEvent) throw new SseTooLarge(`an SSE event exceeds ${this.maxEvent} bytes`);
        break;
      case 'event':
        this.type = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        break;
    }
  }

  private dispatch(): void {
    if (!this.hasData) {
      this.type = '';
      return;
    }
    const e: SseEvent = { event: this.type === '' ? 'message' : this.type, data: this.data, id: this.lastEventId };
    this.data = '';
    this.hasData = false;
    this.type = '';
    this.sink.event(e);
  }
}
