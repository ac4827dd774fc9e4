// Retention: which leading part of each chain goes (by age, by total size), and removing it in a way
// that stays accountable — each removal leaves a prune mark (so verification tells pruning from
// tampering), and entries a sink never delivered are reported so they become gap entries.
import type { AuditConfig } from '../config/schema/audit.ts';
import type { AuditChainInfo, AuditPruneMark, AuditRow, AuditStore } from '../store/audit-store.ts';

const DAY_MS = 86_400_000;
/** Rows read at a time while walking chains for size retention. */
const READ_BATCH = 500;

export interface UndeliveredRange {
  sink: string;
  chain: string;
  /** Entries removed before this sink delivered them. */
  lost: number;
  /** Time range of those entries (ISO 8601). */
  from: string;
  to: string;
}

export interface RetentionResult {
  /** Entries removed. */
  pruned: number;
  undelivered: UndeliveredRange[];
  /** Chains whose prune (or a sink cursor move after it) failed; the others went ahead. */
  failed: { chain: string; error: string }[];
}

type RetentionLimits = Pick<AuditConfig['retention'], 'maxAgeDays' | 'maxBytes'>;

/**
 * One prune mark per chain that has entries to remove: through the last entry older than
 * `maxAgeDays`, and further (oldest first across chains) while the trail is over `maxBytes`.
 * The head entry of a chain is never removed: the next entry's `prev` links to it, and a writer
 * that finds its chain empty would start again at seq 1.
 */
export async function planRetention(store: AuditStore, cfg: RetentionLimits, now: Date): Promise<AuditPruneMark[]> {
  if (cfg.maxAgeDays === undefined && cfg.maxBytes === undefined) return [];
  const chains = (await store.auditChains()).filter((c) => c.count > 0 && c.lastSeq > c.firstSeq);
  const plan = new Map<string, { through: number; reason: 'max_age' | 'max_bytes'; row?: AuditRow }>();

  if (cfg.maxAgeDays !== undefined) {
    const cutoff = new Date(now.getTime() - cfg.maxAgeDays * DAY_MS).toISOString();
    for (const c of chains) {
      // Entries are timed by when their exchange started, so time order and seq order can differ by
      // the length of an exchange: an entry just past the cutoff may go with its older neighbours.
      const first = (await store.searchAudit({ chain: c.chain, from: cutoff, order: 'asc', limit: 1 })).rows[0];
      const through = Math.min(first === undefined ? c.lastSeq : first.seq - 1, c.lastSeq - 1);
      if (through >= c.firstSeq) plan.set(c.chain, { through, reason: 'max_age' });
    }
  }

  if (cfg.maxBytes !== undefined) {
    for (const [chain, row] of await oldestOverLimit(store, chains, cfg.maxBytes)) {
      const age = plan.get(chain);
      if (age === undefined || row.seq > age.through) plan.set(chain, { through: row.seq, reason: 'max_bytes', row });
    }
  }

  const time = now.toISOString();
  const marks: AuditPruneMark[] = [];
  for (const [chain, p] of plan) {
    const row = p.row ?? (await store.readAudit(chain, p.through - 1, 1))[0];
    if (row === undefined || row.seq !== p.through) throw new Error(`audit chain "${chain}" has no entry ${p.through} to anchor the prune mark`);
    marks.push({ chain, throughSeq: p.through, hash: row.hash, time, reason: p.reason });
  }
  return marks;
}

/**
 * Walks all chains oldest entry first (by time) until removing what was walked brings the total under
 * `maxBytes`; returns, per chain, the last entry to remove.
 */
async function oldestOverLimit(store: AuditStore, chains: AuditChainInfo[], maxBytes: number): Promise<Map<string, AuditRow>> {
  const last = new Map<string, AuditRow>();
  const total = chains.reduce((n, c) => n + c.bytes, 0);
  let excess = total - maxBytes;
  if (excess <= 0) return last;
  const heads = chains.map((c) => ({ chain: c.chain, lastSeq: c.lastSeq, after: c.firstSeq - 1, rows: [] as AuditRow[], i: 0 }));
  while (excess > 0) {
    let pick: (typeof heads)[number] | undefined;
    for (const h of heads) {
      if (h.i >= h.rows.length && h.after < h.lastSeq) {
        h.rows = await store.readAudit(h.chain, h.after, READ_BATCH);
        h.i = 0;
      }
      const row = h.rows[h.i];
      if (row === undefined || row.seq >= h.lastSeq) continue;
      const best = pick?.rows[pick.i];
      if (best === undefined || row.columns.time < best.columns.time || (row.columns.time === best.columns.time && row.chain < best.chain)) pick = h;
    }
    if (pick === undefined) break;
    const row = pick.rows[pick.i++]!;
    pick.after = row.seq;
    last.set(pick.chain, row);
    // UTF-8 bytes: what the stores count in `bytes`.
    excess -= Buffer.byteLength(row.text, 'utf8');
  }
  return last;
}

/**
 * Applies the marks. For each, every sink's cursor is compared first: entries it never delivered are
 * reported as `undelivered`, and its cursor is moved past the removed range afterwards. A failing
 * chain does not stop the others.
 */
export async function applyRetention(store: AuditStore, marks: readonly AuditPruneMark[], sinkNames: readonly string[]): Promise<RetentionResult> {
  const result: RetentionResult = { pruned: 0, undelivered: [], failed: [] };
  if (marks.length === 0) return result;
  const chains = new Map((await store.auditChains()).map((c) => [c.chain, c]));
  for (const mark of marks) {
    const info = chains.get(mark.chain);
    if (info === undefined || mark.throughSeq < info.firstSeq) continue;
    let ranges: UndeliveredRange[];
    try {
      ranges = await undeliveredBy(store, mark, info.firstSeq, sinkNames);
      result.pruned += await store.pruneAudit(mark);
    } catch (err) {
      result.failed.push({ chain: mark.chain, error: (err as Error).message });
      continue;
    }
    // Reported as lost even if a runner delivered some of them meanwhile: over-reporting a gap is
    // safe, missing one is not.
    result.undelivered.push(...ranges);
    for (const r of ranges) {
      try {
        // Re-read: a runner may have moved past the mark meanwhile, and must not be sent back.
        if ((await store.getAuditCursor(r.sink, r.chain)) < mark.throughSeq) await store.setAuditCursor(r.sink, r.chain, mark.throughSeq);
      } catch (err) {
        result.failed.push({ chain: mark.chain, error: `moving the cursor of sink "${r.sink}": ${(err as Error).message}` });
      }
    }
  }
  return result;
}

async function undeliveredBy(store: AuditStore, mark: AuditPruneMark, firstSeq: number, sinkNames: readonly string[]): Promise<UndeliveredRange[]> {
  const ranges: UndeliveredRange[] = [];
  let lastTime: string | undefined;
  for (const sink of sinkNames) {
    const cursor = await store.getAuditCursor(sink, mark.chain);
    // Entries below firstSeq went in an earlier prune, which reported them then.
    const start = Math.max(cursor, firstSeq - 1);
    if (start >= mark.throughSeq) continue;
    const firstTime = (await store.readAudit(mark.chain, start, 1))[0]?.columns.time;
    lastTime ??= (await store.readAudit(mark.chain, mark.throughSeq - 1, 1))[0]?.columns.time;
    const a = firstTime ?? lastTime ?? mark.time;
    const b = lastTime ?? a;
    ranges.push({ sink, chain: mark.chain, lost: mark.throughSeq - start, from: a < b ? a : b, to: a < b ? b : a });
  }
  return ranges;
}
