// Audit records to a local file, one JSON object per line, rotated by size. A batch resolves only
// after its bytes are written and fdatasync'ed, so the sink's cursor never passes what is on disk.
// Writes are queued: runners of several chains may share one file.
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { formatRecord, type AuditSink, type SinkFormat, type SinkRecord } from './sink.ts';

export interface JsonlFileSinkOptions {
  name: string;
  /** Absolute (or process-relative) path of the live file. */
  path: string;
  /** Rotate before a write would take the file past this size. */
  maxBytes: number;
  /** Rotated files kept: `path.1` (newest) … `path.<keep>`. */
  keep: number;
  format: SinkFormat;
  version: string;
  logger: Logger;
}

export class JsonlFileSink implements AuditSink {
  readonly name: string;
  readonly kind = 'jsonl' as const;
  readonly path: string;
  readonly #maxBytes: number;
  readonly #keep: number;
  readonly #format: SinkFormat;
  readonly #version: string;
  readonly #log: Logger;
  #fh: FileHandle | undefined;
  /** Identity of the open file, to notice it was moved or deleted behind our back (logrotate, an operator). */
  #ino = 0;
  #dev = 0;
  #size = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(opts: JsonlFileSinkOptions) {
    this.name = opts.name;
    this.path = opts.path;
    this.#maxBytes = opts.maxBytes;
    this.#keep = opts.keep;
    this.#format = opts.format;
    this.#version = opts.version;
    this.#log = opts.logger;
  }

  write(records: readonly SinkRecord[], signal?: AbortSignal): Promise<void> {
    const run = this.#queue.then(() => this.#write(records, signal));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
    await this.#closeFile();
  }

  async #write(records: readonly SinkRecord[], signal: AbortSignal | undefined): Promise<void> {
    if (this.#closed) throw new Error(`sink "${this.name}" is closed`);
    signal?.throwIfAborted();
    if (records.length === 0) return;
    const lines = records.map((r) => Buffer.from(`${formatRecord(r, this.#format, this.#version)}\n`, 'utf8'));
    try {
      await this.#ensureOpen();
      // Lines go out in chunks that fit the current file; a single line larger than maxBytes gets a file of its own.
      let chunk: Buffer[] = [];
      let chunkBytes = 0;
      for (const line of lines) {
        if (this.#size + chunkBytes + line.length > this.#maxBytes && this.#size + chunkBytes > 0) {
          if (chunkBytes > 0) await this.#append(chunk, chunkBytes);
          chunk = [];
          chunkBytes = 0;
          await this.#rotate();
        }
        chunk.push(line);
        chunkBytes += line.length;
      }
      if (chunkBytes > 0) await this.#append(chunk, chunkBytes);
    } catch (err) {
      // The file may now end in a torn line; reopening trims it before the batch is written again.
      await this.#closeFile();
      throw new Error(`sink "${this.name}": cannot write ${this.path}: ${(err as Error).message}`, { cause: err });
    }
  }

  async #append(chunk: Buffer[], bytes: number): Promise<void> {
    const fh = this.#fh!;
    const buf = chunk.length === 1 ? chunk[0]! : Buffer.concat(chunk, bytes);
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await fh.write(buf, off, buf.length - off);
      off += bytesWritten;
    }
    await fh.datasync();
    this.#size += buf.length;
  }

  /** Opens the live file, or reopens it when it was deleted or replaced since. */
  async #ensureOpen(): Promise<void> {
    if (this.#fh !== undefined) {
      const now = await stat(this.path).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      if (now !== undefined && now.ino === this.#ino && now.dev === this.#dev) return;
      this.#log.info({ sink: this.name, path: this.path }, now === undefined ? 'audit file was removed; starting a new one' : 'audit file was replaced; writing to the new one');
      await this.#closeFile();
    }
    await mkdir(dirname(this.path), { recursive: true });
    const fh = await open(this.path, 'a+', 0o600);
    try {
      const st = await fh.stat();
      this.#size = await trimTornTail(fh, st.size, (bytes) => this.#log.warn({ sink: this.name, path: this.path, bytes }, 'removed a partial last line left by an interrupted write; its records are written again'));
      this.#ino = st.ino;
      this.#dev = st.dev;
      this.#fh = fh;
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
    if (this.#size === 0) await syncDir(dirname(this.path));
  }

  /** `path` → `path.1` → … → `path.<keep>`; the oldest goes. */
  async #rotate(): Promise<void> {
    await this.#closeFile();
    await rm(`${this.path}.${this.#keep}`, { force: true });
    for (let i = this.#keep - 1; i >= 1; i--) await renameIfExists(`${this.path}.${i}`, `${this.path}.${i + 1}`);
    await renameIfExists(this.path, `${this.path}.1`);
    await this.#ensureOpen();
  }

  async #closeFile(): Promise<void> {
    const fh = this.#fh;
    this.#fh = undefined;
    if (fh !== undefined) await fh.close().catch(() => undefined);
  }
}

async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * A crash between write and fdatasync can leave a partial last line whose records were never
 * acknowledged (the cursor did not move), so they come again: cut the fragment rather than leave a
 * line no reader can parse. Returns the file size after.
 */
async function trimTornTail(fh: FileHandle, size: number, report: (bytes: number) => void): Promise<number> {
  if (size === 0) return 0;
  const step = 64 * 1024;
  const buf = Buffer.alloc(step);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - step);
    const { bytesRead } = await fh.read(buf, 0, end - start, start);
    const nl = buf.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (nl !== -1) {
      const keep = start + nl + 1;
      if (keep === size) return size;
      await fh.truncate(keep);
      report(size - keep);
      return keep;
    }
    end = start;
  }
  await fh.truncate(0);
  report(size);
  return 0;
}

/** Makes a new directory entry durable (best effort: not every platform can fsync a directory). */
async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r').catch(() => undefined);
  if (d === undefined) return;
  await d.sync().catch(() => undefined);
  await d.close().catch(() => undefined);
}
