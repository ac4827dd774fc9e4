// Records the store could not take yet, on local disk, in chain order: segment files of JSON lines,
// each batch written and fdatasync'ed before the answers it covers are released. Replayed into the
// store oldest segment first; a segment is deleted only once all its rows are in the store.
import { closeSync, fdatasyncSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEntry } from './entry.ts';
import { columnsOf } from './entry.ts';
import type { AuditRow } from '../store/audit-store.ts';

const SUFFIX = '.spill.jsonl';

export interface SpillRead {
  rows: AuditRow[];
  /** A torn last line (the process died mid-write): its answer was never released, so it is dropped. */
  torn: boolean;
}

export class SpillQueue {
  readonly dir: string;
  readonly #chain: string;
  #fd: number | undefined = undefined;
  #active: string | undefined = undefined;

  constructor(dir: string, chain: string) {
    this.dir = dir;
    this.#chain = chain;
  }

  /** Segment files of this chain, oldest first (the active one last). */
  segments(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const prefix = `${this.#chain}.`;
    return names
      .filter((n) => n.startsWith(prefix) && n.endsWith(SUFFIX))
      .sort()
      .map((n) => join(this.dir, n));
  }

  get hasRows(): boolean {
    return this.segments().length > 0;
  }

  /** Appends rows durably (write + fdatasync) to the active segment. Throws on I/O failure. */
  append(rows: readonly AuditRow[]): void {
    if (rows.length === 0) return;
    if (this.#fd === undefined) {
      mkdirSync(this.dir, { recursive: true });
      // Zero-padded first seq: name order is chain order.
      this.#active = join(this.dir, `${this.#chain}.${String(rows[0]!.seq).padStart(16, '0')}${SUFFIX}`);
      this.#fd = openSync(this.#active, 'a', 0o600);
    }
    let text = '';
    for (const r of rows) text += `${JSON.stringify({ hash: r.hash, text: r.text })}\n`;
    writeSync(this.#fd, text);
    fdatasyncSync(this.#fd);
  }

  /** Closes the active segment: the next append starts a new one, and this one can be replayed. */
  rotate(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
    this.#active = undefined;
  }

  get activeSegment(): string | undefined {
    return this.#active;
  }

  read(file: string): SpillRead {
    const lines = readFileSync(file, 'utf8').split('\n');
    const last = lines.pop();
    const torn = last !== undefined && last !== '';
    const rows: AuditRow[] = [];
    for (const [i, line] of lines.entries()) {
      let parsed: { hash: string; text: string };
      let entry: AuditEntry;
      try {
        parsed = JSON.parse(line) as { hash: string; text: string };
        entry = JSON.parse(parsed.text) as AuditEntry;
      } catch (err) {
        throw new Error(`${file}:${i + 1}: unreadable spilled audit record: ${(err as Error).message}`);
      }
      rows.push({ chain: entry.chain, seq: entry.seq, id: entry.id, hash: parsed.hash, text: parsed.text, columns: columnsOf(entry) });
    }
    return { rows, torn };
  }

  remove(file: string): void {
    if (file === this.#active) this.rotate();
    rmSync(file, { force: true });
  }

  /** The last spilled row (the chain head when the spill is ahead of the store). */
  last(): AuditRow | undefined {
    const segs = this.segments();
    for (let i = segs.length - 1; i >= 0; i--) {
      const { rows } = this.read(segs[i]!);
      if (rows.length > 0) return rows[rows.length - 1];
    }
    return undefined;
  }

  close(): void {
    this.rotate();
  }
}
