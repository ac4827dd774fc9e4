// `gatehouse audit search|tail|verify|export`: the hash-chained audit trail in the configured store,
// read beside a running gateway (SQLite WAL, or PostgreSQL). Nothing here writes to the trail.
// Exit status: 0 done (verify: intact), 1 verify found a break (or, for the others, the store failed),
// 2 a flag, file or config is wrong.
import { createWriteStream } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Writable } from 'node:stream';
import { compileConfig } from '../config/compile.ts';
import { ConfigError, loadConfig } from '../config/load.ts';
import { EXPORT_FORMAT, EXPORT_VERSION, ExportFormatError, fileVerifySource, writeExport } from '../audit/export.ts';
import { jwkThumbprint } from '../audit/keys.ts';
import { storeVerifySource, verifyTrail, type VerifyReport } from '../audit/verify.ts';
import { foldAsciiCase } from '../store/audit-rows.ts';
import type { AuditQuery, AuditRow } from '../store/audit-store.ts';
import { openStore } from '../store/open.ts';
import { StoreError, type Store } from '../store/store.ts';
import { AuditQueryError, CLI_FLAGS, CorruptRecordError, RECORD_FORMATS, TableWriter, entryOf, parseAuditQuery, recordLine, tableRow, verifyText, type AuditQueryField, type RecordFormat } from './audit-format.ts';
import { CliError, info } from './store-command.ts';

export interface FilterOptions {
  config: string;
  format: string;
  since?: string;
  until?: string;
  chain?: string;
  type?: string;
  agent?: string;
  user?: string;
  tenant?: string;
  server?: string;
  tool?: string;
  kind?: string;
  class?: string;
  method?: string;
  decision?: string;
  outcome?: string;
  session?: string;
  text?: string;
}

export interface SearchOptions extends FilterOptions {
  limit?: string;
  cursor?: string;
  order?: string;
  all?: boolean;
}

export interface TailOptions extends FilterOptions {
  lines: string;
  follow?: boolean;
}

/** How often `tail -f` reads new entries, and every how many reads it looks for chains that appeared. */
const FOLLOW_MS = 500;
const CHAIN_REFRESH_EVERY = 10;
const READ_BATCH = 1000;
/** Most entries `tail -n` prints before following. */
const TAIL_MAX = 100_000;

function filterValues(o: FilterOptions): Partial<Record<AuditQueryField, string>> {
  return {
    from: o.since, to: o.until, chain: o.chain, type: o.type, agent: o.agent, user: o.user, tenant: o.tenant, upstream: o.server,
    target: o.tool, targetKind: o.kind, toolClass: o.class, method: o.method, decision: o.decision, outcome: o.outcome, session: o.session, text: o.text,
  };
}

function formatOf(text: string): RecordFormat {
  if (Object.hasOwn(RECORD_FORMATS, text)) return text as RecordFormat;
  throw new CliError(`--format: "${text}" is not one of ${Object.keys(RECORD_FORMATS).join(', ')}`);
}

/**
 * Runs a command body. Flag problems exit 2; config and store problems exit `failCode`: 1, except for
 * verify, whose 1 means "the trail is broken" and so cannot also mean "could not look".
 */
async function guard(failCode: number, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof CliError || err instanceof AuditQueryError) return fail(2, `gatehouse: ${err.message}`);
    if (err instanceof ConfigError) return fail(failCode, err.message);
    if (err instanceof StoreError || err instanceof CorruptRecordError) return fail(failCode, `gatehouse: ${err.message}`);
    throw err;
  }
}

function fail(code: number, message: string): void {
  process.stderr.write(`${message}\n`);
  process.exitCode = code;
}

async function withStore(configFile: string, fn: (store: Store) => Promise<void>): Promise<void> {
  const snap = compileConfig(await loadConfig(configFile));
  const store = await openStore(snap.config.store, snap.dir);
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

/** Writes to stdout, waiting when the reader is slower; a reader that went away (`| head`) ends the command. */
function stdoutWriter(onClosed: () => void): (text: string) => Promise<void> | undefined {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') onClosed();
    else throw err;
  });
  return (text) => (process.stdout.write(text) ? undefined : once(process.stdout, 'drain').then(() => undefined));
}

/** Renders rows in one format; the table keeps its widths across calls. */
function renderer(format: RecordFormat): (rows: readonly AuditRow[]) => string {
  if (format !== 'table') return (rows) => rows.map((r) => `${recordLine(r, format)}\n`).join('');
  const t = new TableWriter();
  return (rows) => t.rows(rows.map((r) => tableRow(entryOf(r))));
}

// ---- search --------------------------------------------------------------------------------------

export function auditSearchCommand(o: SearchOptions): Promise<void> {
  return guard(1, async () => {
    const format = formatOf(o.format);
    const base = parseAuditQuery({ ...filterValues(o), limit: o.limit, cursor: o.cursor, order: o.order }, CLI_FLAGS);
    const write = stdoutWriter(() => process.exit(0));
    const render = renderer(format);
    await withStore(o.config, async (store) => {
      let q = base;
      let shown = 0;
      for (;;) {
        const page = await store.searchAudit(q);
        shown += page.rows.length;
        await write(render(page.rows));
        if (page.next === undefined) break;
        if (o.all !== true) {
          info(`next page: --cursor ${page.next}`);
          break;
        }
        q = { ...base, cursor: page.next };
      }
      if (shown === 0 && format === 'table') await write('(none)\n');
    });
  });
}

// ---- tail ----------------------------------------------------------------------------------------

/** What the store's search does, for entries read by seq: the same filters, the same ASCII case folding. */
function matches(row: AuditRow, q: AuditQuery): boolean {
  const c = row.columns;
  if (q.from !== undefined && c.time < q.from) return false;
  if (q.to !== undefined && c.time >= q.to) return false;
  if (q.chain !== undefined && row.chain !== q.chain) return false;
  const eq: [string | undefined, string | null][] = [
    [q.type, c.type], [q.agent, c.agent], [q.user, c.user], [q.tenant, c.tenant], [q.upstream, c.upstream], [q.target, c.target],
    [q.targetKind, c.targetKind], [q.toolClass, c.toolClass], [q.method, c.method], [q.outcome, c.outcome], [q.session, c.session],
  ];
  if (eq.some(([want, got]) => want !== undefined && want !== got)) return false;
  if (q.decision !== undefined && (q.decision === 'none' ? c.decision !== null : c.decision !== q.decision)) return false;
  return q.text === undefined || foldAsciiCase(row.text).includes(foldAsciiCase(q.text));
}

function byTime(a: AuditRow, b: AuditRow): number {
  const t = a.columns.time.localeCompare(b.columns.time);
  return t !== 0 ? t : a.chain < b.chain ? -1 : a.chain > b.chain ? 1 : a.seq - b.seq;
}

function countOf(text: string): number {
  if (!/^\d{1,6}$/.test(text) || Number(text) > TAIL_MAX) throw new CliError(`-n/--lines: "${text}" is not a whole number from 0 to ${TAIL_MAX}`);
  return Number(text);
}

export function auditTailCommand(o: TailOptions): Promise<void> {
  return guard(1, async () => {
    const format = formatOf(o.format);
    const n = countOf(o.lines);
    const q = parseAuditQuery(filterValues(o), CLI_FLAGS);
    const stop = new AbortController();
    const write = stdoutWriter(() => process.exit(0));
    const render = renderer(format);
    await withStore(o.config, async (store) => {
      // Chain heads before the last entries: whatever lands in between is read again below and
      // recognised by id, so nothing is shown twice and nothing is missed.
      const known = new Map<string, number>();
      if (o.follow) for (const c of await store.auditChains()) known.set(c.chain, c.lastSeq);
      const last = await lastEntries(store, q, n);
      const shownIds = new Set(last.map((r) => r.id));
      await write(render(last));
      if (!o.follow) {
        if (last.length === 0 && n > 0 && format === 'table') await write('(none)\n');
        return;
      }
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        for (let poll = 1; !stop.signal.aborted; poll++) {
          await sleep(FOLLOW_MS, undefined, { signal: stop.signal }).catch(() => {});
          if (stop.signal.aborted) break;
          if (poll % CHAIN_REFRESH_EVERY === 0) for (const c of await store.auditChains()) if (!known.has(c.chain)) known.set(c.chain, 0);
          const fresh: AuditRow[] = [];
          for (const [chain, after] of known) {
            let seq = after;
            for (;;) {
              const rows = await store.readAudit(chain, seq, READ_BATCH);
              for (const r of rows) if (!shownIds.delete(r.id) && matches(r, q)) fresh.push(r);
              if (rows.length > 0) seq = rows[rows.length - 1]!.seq;
              if (rows.length < READ_BATCH) break;
            }
            known.set(chain, seq);
          }
          if (fresh.length > 0) await write(render(fresh.sort(byTime)));
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
  });
}

/** The newest `n` matching entries, oldest first (as a log reads). */
async function lastEntries(store: Store, q: AuditQuery, n: number): Promise<AuditRow[]> {
  const rows: AuditRow[] = [];
  let cursor: string | undefined;
  while (rows.length < n) {
    const page = await store.searchAudit({ ...q, order: 'desc', limit: Math.min(n - rows.length, 1000), ...(cursor === undefined ? {} : { cursor }) });
    rows.push(...page.rows);
    if (page.next === undefined) break;
    cursor = page.next;
  }
  return rows.reverse();
}

// ---- verify --------------------------------------------------------------------------------------

export interface VerifyOptions {
  config?: string;
  file?: string;
  chain: string[];
  publicKey?: string;
  json?: boolean;
}

export function auditVerifyCommand(o: VerifyOptions): Promise<void> {
  return guard(2, async () => {
    if ((o.config === undefined) === (o.file === undefined)) throw new CliError('give either --config FILE (verify the store) or --file EXPORT.jsonl (verify an export), not both');
    const publicKeys = o.publicKey === undefined ? undefined : await readPublicKeys(o.publicKey);
    const opts = { ...(publicKeys === undefined ? {} : { publicKeys }), ...(o.chain.length > 0 ? { chains: o.chain } : {}) };
    let report: VerifyReport | undefined;
    if (o.file !== undefined) {
      await checkExportHeader(o.file);
      try {
        report = await verifyTrail(fileVerifySource(o.file), opts);
      } catch (err) {
        // The header was right, so a line the reader cannot use is damage to the export, not a usage error.
        if (!(err instanceof ExportFormatError)) throw err;
        fail(1, `gatehouse: the export is damaged: ${err.message}`);
        return;
      }
    } else {
      await withStore(o.config!, async (store) => void (report = await verifyTrail(storeVerifySource(store), opts)));
    }
    const r = report!;
    process.stdout.write(o.json ? `${JSON.stringify(r, null, 2)}\n` : verifyText(r, o.file === undefined ? 'store' : 'file'));
    process.exitCode = r.ok ? 0 : 1;
  });
}

/** The first line must be an export header: another file given by mistake is a usage error, not a break. */
async function checkExportHeader(file: string): Promise<void> {
  let head: string;
  try {
    const fh = await open(file, 'r');
    try {
      const buf = Buffer.alloc(4096);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      head = buf.subarray(0, bytesRead).toString('utf8').trimStart().split('\n', 1)[0]!;
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new CliError(`--file: cannot read ${file}: ${(err as Error).message}`);
  }
  let h: { gatehouse?: unknown; version?: unknown } | undefined;
  try {
    h = JSON.parse(head) as typeof h;
  } catch {
    h = undefined;
  }
  if (h?.gatehouse !== EXPORT_FORMAT) throw new CliError(`--file: ${file} is not a Gatehouse audit export (its first line is not the export header)`);
  if (h.version !== EXPORT_VERSION) throw new CliError(`--file: ${file} is export version ${JSON.stringify(h.version)}; this gatehouse reads version ${EXPORT_VERSION}`);
}

/** Public keys trusted for checkpoint signatures: a JWK, or a JWK Set, in a file; by kid (its thumbprint when it names none). */
async function readPublicKeys(file: string): Promise<Map<string, string>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new CliError(`--public-key: cannot read ${file} as JSON: ${(err as Error).message}`);
  }
  const list = (parsed as { keys?: unknown })?.keys !== undefined ? (parsed as { keys: unknown }).keys : [parsed];
  if (!Array.isArray(list) || list.length === 0) throw new CliError(`--public-key: ${file} holds no keys (give a JWK or a JWK Set)`);
  const keys = new Map<string, string>();
  for (const k of list as Record<string, unknown>[]) {
    if (k === null || typeof k !== 'object' || k.kty !== 'OKP' || k.crv !== 'Ed25519' || typeof k.x !== 'string') {
      throw new CliError(`--public-key: ${file} holds a key that is not an Ed25519 public JWK (kty OKP, crv Ed25519, x)`);
    }
    if (typeof k.d === 'string') throw new CliError(`--public-key: ${file} holds a private key (d); give the public half only`);
    const { kty, crv, x } = k as { kty: string; crv: string; x: string };
    keys.set(typeof k.kid === 'string' ? k.kid : jwkThumbprint({ kty, crv, x }), JSON.stringify({ kty, crv, x }));
  }
  return keys;
}

// ---- export --------------------------------------------------------------------------------------

export interface ExportOptions {
  config: string;
  chain: string[];
  out?: string;
}

export function auditExportCommand(o: ExportOptions): Promise<void> {
  return guard(1, async () => {
    const opts = o.chain.length > 0 ? { chains: o.chain } : {};
    await withStore(o.config, async (store) => {
      if (o.out === undefined) {
        const write = stdoutWriter(() => {
          process.stderr.write('gatehouse: the output was closed before the export finished\n');
          process.exit(1);
        });
        await writeExport(store, { write }, opts);
        return;
      }
      // Written aside and renamed when complete, so a file at --out is always a whole export.
      const tmp = `${o.out}.${process.pid}.partial`;
      const file = createWriteStream(tmp, { flags: 'wx' });
      try {
        await once(file, 'open');
        const { entries } = await writeExport(store, { write: (line) => toFile(file, line) }, opts);
        file.end();
        await once(file, 'finish');
        await rename(tmp, o.out);
        info(`Exported ${entries} entries to ${o.out}.`);
      } catch (err) {
        file.destroy();
        await rm(tmp, { force: true });
        if ((err as NodeJS.ErrnoException).syscall !== undefined) throw new CliError(`--out: cannot write ${o.out}: ${(err as Error).message}`);
        throw err;
      }
    });
  });
}

function toFile(file: Writable, line: string): Promise<void> | undefined {
  return file.write(line) ? undefined : once(file, 'drain').then(() => undefined);
}
