// Each store keeps its audit half in a class of its own (sqlite-audit.ts, memory-audit.ts,
// postgres-audit.ts); this hands that half's methods to the store object once, at construction,
// instead of one hand-written forwarding line per method per store.
import type { AuditStore } from './audit-store.ts';

/** Every AuditStore method: the object literal type makes a method added to the interface a compile error here until listed. */
const METHODS: Record<keyof AuditStore, true> = {
  appendAudit: true,
  auditHead: true,
  readAudit: true,
  getAuditEntry: true,
  auditChains: true,
  searchAudit: true,
  putAuditCheckpoint: true,
  listAuditCheckpoints: true,
  putAuditKey: true,
  listAuditKeys: true,
  pruneAudit: true,
  auditPruneMarks: true,
  getAuditCursor: true,
  setAuditCursor: true,
};
const NAMES = Object.keys(METHODS) as (keyof AuditStore)[];

/** Gives `store` the audit methods of `audit`, bound to it (the store class declares them by interface merging). */
export function forwardAudit(store: object, audit: AuditStore): void {
  for (const name of NAMES) {
    Object.defineProperty(store, name, { value: (audit[name] as (...args: unknown[]) => unknown).bind(audit), enumerable: false, writable: false, configurable: false });
  }
}
