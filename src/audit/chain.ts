// Sealing: an entry body becomes a chained entry (chain, seq, prev) and the row a store keeps.
import type { AuditRow } from '../store/audit-store.ts';
import { canonicalWellFormed, sha256Hex } from './canonical.ts';
import { AUDIT_ENTRY_VERSION, columnsOf, type AuditEntry } from './entry.ts';

/** An entry before it has a place in a chain. */
export type AuditEntryBody = Omit<AuditEntry, 'chain' | 'seq' | 'prev' | 'v'>;

/**
 * Places `body` at `seq` of `chain` after the entry hashed `prev`, and derives the row: the canonical
 * text, its SHA-256 and the search columns. Runs once per exchange, so it does exactly one canonical
 * serialization and one hash. Strings an agent sent may hold lone surrogates that canonical JSON
 * refuses; those become U+FFFD, and the entry returned is the one the text was made from.
 */
export function sealEntry(body: AuditEntryBody, chain: string, seq: number, prev: string): { entry: AuditEntry; row: AuditRow } {
  // The placing fields come last so that nothing in a body (typed or not) can override them.
  const placed: AuditEntry = { ...body, v: AUDIT_ENTRY_VERSION, chain, seq, prev };
  const { value: entry, text } = canonicalWellFormed(placed);
  const row: AuditRow = { chain, seq, id: entry.id, hash: sha256Hex(text), text, columns: columnsOf(entry) };
  return { entry, row };
}
