// What every audit stream target is: something that takes a batch of stored entries and resolves only
// once the receiver holds them. The runner moves the sink's cursor after that, never before, so a
// write that resolves early would lose records on a crash.
import type { AuditEntry } from '../entry.ts';
import { toOcsf } from '../ocsf.ts';

/** One stored entry handed to a sink: the parsed entry, its chain hash and the canonical text that was hashed. */
export interface SinkRecord {
  entry: AuditEntry;
  hash: string;
  text: string;
}

export type SinkFormat = 'native' | 'ocsf';
export type SinkKind = 'jsonl' | 'webhook' | 'otlp';

export interface AuditSink {
  /** Config name: labels logs, status and the delivery cursor. */
  readonly name: string;
  readonly kind: SinkKind;
  /**
   * Delivers the records in order; resolves once the receiver has them (on disk, 2xx). Rejects with
   * a SinkDeliveryError (or any error) otherwise; the caller retries the same records. `signal`
   * aborts an in-flight delivery (shutdown).
   */
  write(records: readonly SinkRecord[], signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** A failed delivery, with what the receiver said about retrying. Messages carry no secrets and no record contents. */
export class SinkDeliveryError extends Error {
  /** HTTP status, when the receiver answered. */
  readonly status: number | undefined;
  /** The receiver said not to send this again as it is (4xx other than 408/429): a human should look. */
  readonly refused: boolean;
  /** Wait at least this long before the next attempt (Retry-After). */
  readonly retryAfterMs: number | undefined;
  /** Excerpt of the receiver's answer: may echo record contents, so logged at debug only. */
  readonly answer: string | undefined;

  constructor(message: string, opts: { status?: number; refused?: boolean; retryAfterMs?: number | undefined; answer?: string | undefined; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SinkDeliveryError';
    this.status = opts.status;
    this.refused = opts.refused ?? false;
    this.retryAfterMs = opts.retryAfterMs;
    this.answer = opts.answer;
  }
}

/**
 * The JSON text of one record in the sink's format. `native` is the stored canonical text with
 * `"hash"` appended (spliced rather than re-serialised: cheaper, and the entry's own bytes stay exactly
 * those that were hashed); `ocsf` is an OCSF 1.3 API Activity event.
 */
export function formatRecord(r: SinkRecord, format: SinkFormat, version: string): string {
  if (format === 'ocsf') return JSON.stringify(toOcsf(r.entry, r.hash, version));
  const t = r.text;
  if (t.length < 2 || t.charCodeAt(0) !== 0x7b || t.charCodeAt(t.length - 1) !== 0x7d) {
    throw new Error(`audit entry ${r.entry.chain}#${r.entry.seq} is not stored as a JSON object`);
  }
  return `${t.slice(0, -1)}${t.length > 2 ? ',' : ''}"hash":${JSON.stringify(r.hash)}}`;
}

/** The formatted records as one JSON array text (webhook body). */
export function formatArray(records: readonly SinkRecord[], format: SinkFormat, version: string): string {
  let out = '[';
  for (let i = 0; i < records.length; i++) {
    if (i > 0) out += ',';
    out += formatRecord(records[i]!, format, version);
  }
  return `${out}]`;
}
