// Newline framing over a byte stream. Lines are bounded: a line longer than `maxLine` is not buffered
// (a server writing an endless line must not exhaust the gateway's memory); the caller is told its size
// and gets its first and last bytes, enough to find which request it answered.
const EDGE = 256;

export interface LineSink {
  line(bytes: Buffer): void;
  overflow(head: Buffer, tail: Buffer, size: number): void;
}

export class LineSplitter {
  private readonly maxLine: number;
  private readonly sink: LineSink;
  private parts: Buffer[] = [];
  private size = 0;
  private skipping = false;
  private head: Buffer = Buffer.alloc(0);
  private tail: Buffer = Buffer.alloc(0);

  constructor(maxLine: number, sink: LineSink) {
    this.maxLine = maxLine;
    this.sink = sink;
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) {
        if (start < chunk.length) this.hold(chunk.subarray(start));
        return;
      }
      this.finish(chunk.subarray(start, nl));
      start = nl + 1;
    }
  }

  /** The stream ended: a last line without its newline still counts. */
  end(): void {
    if (this.size > 0 || this.skipping) this.finish(Buffer.alloc(0));
  }

  private hold(piece: Buffer): void {
    if (this.skipping) {
      this.size += piece.length;
      this.tail = lastBytes(this.tail, piece);
      return;
    }
    if (this.size + piece.length > this.maxLine) {
      const all = this.parts.length === 0 ? piece : Buffer.concat([...this.parts, piece]);
      this.skipping = true;
      this.head = Buffer.from(all.subarray(0, EDGE));
      this.tail = Buffer.from(all.subarray(Math.max(0, all.length - EDGE)));
      this.size += piece.length;
      this.parts = [];
      return;
    }
    // Node hands out a fresh buffer per chunk, so holding a view of it is safe.
    this.parts.push(piece);
    this.size += piece.length;
  }

  private finish(last: Buffer): void {
    if (this.skipping) {
      const size = this.size + last.length;
      const tail = lastBytes(this.tail, last);
      const head = this.head;
      this.reset();
      this.sink.overflow(head, tail, size);
      return;
    }
    if (this.size + last.length > this.maxLine) {
      this.hold(last);
      this.finish(Buffer.alloc(0));
      return;
    }
    let line: Buffer;
    if (this.parts.length === 0) line = last;
    else {
      this.parts.push(last);
      line = Buffer.concat(this.parts, this.size + last.length);
    }
    this.reset();
    if (line.length > 0) this.sink.line(line);
  }

  private reset(): void {
    this.parts = [];
    this.size = 0;
    this.skipping = false;
    this.head = Buffer.alloc(0);
    this.tail = Buffer.alloc(0);
  }
}

function lastBytes(prev: Buffer, next: Buffer): Buffer {
  if (next.length >= EDGE) return Buffer.from(next.subarray(next.length - EDGE));
  const joined = Buffer.concat([prev, next]);
  return joined.length <= EDGE ? joined : Buffer.from(joined.subarray(joined.length - EDGE));
}
