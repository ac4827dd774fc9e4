// The audit half of the Store: rows of the hash-chained trail, signed checkpoints, the checkpoint
// key, retention marks and sink cursors. Both stores (SQLite, PostgreSQL) and the memory store keep
// exactly these, through one migration set.
import type { AuditColumns } from '../audit/entry.ts';

/** One stored entry. `text` is the canonical JSON that was hashed; `columns` are derived from it. */
export interface AuditRow {
  chain: string;
  seq: number;
  /** UUIDv7 of the entry. */
  id: string;
  /** Hex SHA-256 of `text`. */
  hash: string;
  /** Canonical JSON (RFC 8785) of the AuditEntry: the authoritative content. */
  text: string;
  columns: AuditColumns;
}

/** A signed statement "chain C had hash H at seq S". */
export interface AuditCheckpoint {
  chain: string;
  seq: number;
  /** Hash of the entry at `seq`. */
  hash: string;
  /** When it was signed (ISO 8601 UTC). */
  time: string;
  /** Which audit key signed it. */
  kid: string;
  /** base64url Ed25519 signature over the canonical JSON of {chain, seq, hash, time, kid}. */
  signature: string;
}

/** The gateway's checkpoint-signing key (Ed25519). The private JWK is key material: never logged or served. */
export interface AuditKeyRecord {
  kid: string;
  /** Public JWK as JSON text. */
  publicJwk: string;
  /** Private JWK as JSON text. */
  privateJwk: string;
  createdAt: string;
}

/**
 * Retention removed entries 1..throughSeq of a chain. `hash` is the hash of entry `throughSeq`, so the
 * first remaining entry's `prev` can still be checked, and verification knows the gap is deliberate.
 */
export interface AuditPruneMark {
  chain: string;
  throughSeq: number;
  hash: string;
  time: string;
  /** Why: `max_age`, `max_bytes`. */
  reason: string;
}

export interface AuditChainInfo {
  chain: string;
  firstSeq: number;
  lastSeq: number;
  count: number;
  /** Sum of the entry text lengths (UTF-16 code units is fine; used for size retention). */
  bytes: number;
}

/** Search filters; every field optional, all given fields must match (AND). Strings match exactly unless noted. */
export interface AuditQuery {
  /** Inclusive lower bound on `time` (ISO 8601 UTC). */
  from?: string;
  /** Exclusive upper bound on `time`. */
  to?: string;
  chain?: string;
  type?: string;
  agent?: string;
  user?: string;
  tenant?: string;
  /** Upstream server. */
  upstream?: string;
  /** Public target name (tool, prompt, resource URI). */
  target?: string;
  targetKind?: string;
  toolClass?: string;
  method?: string;
  /** Policy effect (`allow`, `deny`, `require_approval`), or `none` for entries no policy decided. */
  decision?: string;
  outcome?: string;
  session?: string;
  /** Case-insensitive substring of the entry text (redacted arguments, error messages, names). */
  text?: string;
  /** Newest first (default) or oldest first. */
  order?: 'desc' | 'asc';
  /** Page size, 1..1000 (default 100). */
  limit?: number;
  /** Opaque cursor from a previous page's `next`. */
  cursor?: string;
}

export interface AuditPage {
  rows: AuditRow[];
  /** Cursor of the next page; absent on the last page. */
  next?: string;
}

export interface AuditStore {
  /**
   * Appends entries in one transaction: all or none. Refuses (StoreError `conflict`) an entry whose
   * (chain, seq) or id is taken, so two writers on one chain cannot interleave unnoticed.
   */
  appendAudit(rows: readonly AuditRow[]): Promise<void>;
  /** The entry with the highest seq of a chain. */
  auditHead(chain: string): Promise<AuditRow | undefined>;
  /** Entries of a chain with seq > afterSeq, ascending, at most `limit`. */
  readAudit(chain: string, afterSeq: number, limit: number): Promise<AuditRow[]>;
  getAuditEntry(id: string): Promise<AuditRow | undefined>;
  /** Every chain with its extent, by chain name. */
  auditChains(): Promise<AuditChainInfo[]>;
  searchAudit(q: AuditQuery): Promise<AuditPage>;
  /** Refuses a duplicate (chain, seq). */
  putAuditCheckpoint(c: AuditCheckpoint): Promise<void>;
  /** Checkpoints of a chain with seq > afterSeq, ascending. */
  listAuditCheckpoints(chain: string, afterSeq?: number): Promise<AuditCheckpoint[]>;
  /** Refuses an existing kid. */
  putAuditKey(k: AuditKeyRecord): Promise<void>;
  /** Oldest first. */
  listAuditKeys(): Promise<AuditKeyRecord[]>;
  /**
   * Deletes entries 1..throughSeq of a chain (and checkpoints at or below it) and records the
   * prune mark, in one transaction. Returns how many entries went.
   */
  pruneAudit(mark: AuditPruneMark): Promise<number>;
  /** Prune marks of a chain, ascending by throughSeq. */
  auditPruneMarks(chain: string): Promise<AuditPruneMark[]>;
  /** Last seq a sink delivered for a chain (0 when none). */
  getAuditCursor(sink: string, chain: string): Promise<number>;
  setAuditCursor(sink: string, chain: string, seq: number): Promise<void>;
}
