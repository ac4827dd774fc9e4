// Test support for the audit streams: real sealed entries in the memory store, a store that can be
// made to fail, a scriptable sink, a log capture and a small waiting helper.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { sealEntry, type AuditEntryBody } from '../../../src/audit/chain.ts';
import { GENESIS, type AuditEntry } from '../../../src/audit/entry.ts';
import type { AuditSink, SinkRecord } from '../../../src/audit/sinks/sink.ts';
import { MemoryStore } from '../../../src/store/memory.ts';
import type {
  AuditChainInfo,
  AuditCheckpoint,
  AuditKeyRecord,
  AuditPage,
  AuditPruneMark,
  AuditQuery,
  AuditRow,
  AuditStore,
} from '../../../src/store/audit-store.ts';

export function exchangeBody(time: string, extra: Partial<AuditEntryBody> = {}): AuditEntryBody {
  return {
    type: 'exchange',
    id: randomUUID(),
    time,
    method: 'tools/call',
    principal: { id: 'p1', agent: 'ci-bot', authMethod: 'api_key', authSource: 'header' },
    target: { kind: 'tool', upstream: 'files', name: 'files__read' },
    outcome: 'ok',
    ...extra,
  };
}

/** Seals and appends `n` entries to `chain` (after its head or last prune mark), `stepMs` apart from `start`. */
export async function addEntries(store: AuditStore, chain: string, n: number, start = Date.parse('2026-01-01T00:00:00.000Z'), stepMs = 1000, extra: Partial<AuditEntryBody> = {}): Promise<AuditRow[]> {
  const head = await store.auditHead(chain);
  const mark = (await store.auditPruneMarks(chain)).at(-1);
  let seq = head?.seq ?? mark?.throughSeq ?? 0;
  let prev = head?.hash ?? mark?.hash ?? GENESIS;
  const rows: AuditRow[] = [];
  for (let i = 0; i < n; i++) {
    const { row } = sealEntry(exchangeBody(new Date(start + i * stepMs).toISOString(), extra), chain, ++seq, prev);
    prev = row.hash;
    rows.push(row);
  }
  await store.appendAudit(rows);
  return rows;
}

/** The memory store's audit half, with a switch that makes reads fail (a store that is down). */
export class FlakyStore implements AuditStore {
  readonly inner: AuditStore;
  /** While set, readAudit and auditHead reject with it. */
  failReads: Error | undefined;
  reads = 0;

  constructor(inner: AuditStore = new MemoryStore()) {
    this.inner = inner;
  }

  #check(): void {
    if (this.failReads !== undefined) throw this.failReads;
  }

  appendAudit(rows: readonly AuditRow[]): Promise<void> {
    return this.inner.appendAudit(rows);
  }
  async auditHead(chain: string): Promise<AuditRow | undefined> {
    this.#check();
    return this.inner.auditHead(chain);
  }
  async readAudit(chain: string, afterSeq: number, limit: number): Promise<AuditRow[]> {
    this.reads++;
    this.#check();
    return this.inner.readAudit(chain, afterSeq, limit);
  }
  getAuditEntry(id: string): Promise<AuditRow | undefined> {
    return this.inner.getAuditEntry(id);
  }
  auditChains(): Promise<AuditChainInfo[]> {
    return this.inner.auditChains();
  }
  searchAudit(q: AuditQuery): Promise<AuditPage> {
    return this.inner.searchAudit(q);
  }
  putAuditCheckpoint(c: AuditCheckpoint): Promise<void> {
    return this.inner.putAuditCheckpoint(c);
  }
  listAuditCheckpoints(chain: string, afterSeq?: number): Promise<AuditCheckpoint[]> {
    return this.inner.listAuditCheckpoints(chain, afterSeq);
  }
  putAuditKey(k: AuditKeyRecord): Promise<void> {
    return this.inner.putAuditKey(k);
  }
  listAuditKeys(): Promise<AuditKeyRecord[]> {
    return this.inner.listAuditKeys();
  }
  pruneAudit(mark: AuditPruneMark): Promise<number> {
    return this.inner.pruneAudit(mark);
  }
  auditPruneMarks(chain: string): Promise<AuditPruneMark[]> {
    return this.inner.auditPruneMarks(chain);
  }
  getAuditCursor(sink: string, chain: string): Promise<number> {
    return this.inner.getAuditCursor(sink, chain);
  }
  setAuditCursor(sink: string, chain: string, seq: number): Promise<void> {
    return this.inner.setAuditCursor(sink, chain, seq);
  }
}

/** A sink that keeps what it gets; `failNext` makes the next writes reject, `gate` holds writes until released. */
export class ScriptedSink implements AuditSink {
  readonly name: string;
  readonly kind = 'jsonl' as const;
  got: AuditEntry[] = [];
  batches = 0;
  attempts = 0;
  failNext = 0;
  failWith: Error = new Error('receiver down');
  /** While set, writes wait for the signal to abort (an in-flight request that never answers). */
  hang = false;
  closed = false;

  constructor(name = 'test') {
    this.name = name;
  }

  async write(records: readonly SinkRecord[], signal?: AbortSignal): Promise<void> {
    this.attempts++;
    if (this.hang) {
      await new Promise<void>((_resolve, reject) => {
        signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      });
    }
    if (this.failNext > 0) {
      this.failNext--;
      throw this.failWith;
    }
    this.batches++;
    this.got.push(...records.map((r) => r.entry));
    await Promise.resolve();
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** A pino logger whose JSON lines are kept in `lines` (and `text`, joined). */
export function captureLogger(level = 'debug'): { logger: Logger; lines: Record<string, unknown>[]; text: () => string } {
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      raw.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      cb();
    },
  });
  const logger = pino({ level }, stream);
  return {
    logger,
    get lines() {
      return raw.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    text: () => raw.join('\n'),
  };
}

/** Polls `check` on a short interval until it holds (the test runner's timeout bounds the wait). */
export async function until(check: () => boolean | Promise<boolean>, what: string, intervalMs = 5): Promise<void> {
  for (let i = 0; ; i++) {
    if (await check()) return;
    if (i > 0 && i % 2000 === 0) process.stderr.write(`still waiting for: ${what}\n`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const fastRetry = { initialDelayMs: 1, maxDelayMs: 5 };
