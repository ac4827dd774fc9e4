// The audit trail on the admin plane: search and read records, the running trail's status, verify the
// chains and stream an export. Same query language and the same answers as `gatehouse audit`.
import { z } from 'zod';
import { writeExport } from '../audit/export.ts';
import { storeVerifySource, verifyTrail } from '../audit/verify.ts';
import { AuditQueryError, CorruptRecordError, HTTP_PARAMS, parseAuditQuery, queryValuesOf, recordValue } from '../cli/audit-format.ts';
import { StoreError } from '../store/store.ts';
import { parseBody } from './key-routes.ts';
import { AdminError, type AdminResponse, type AdminRoute } from './routes.ts';

/** A response whose body is written as a stream (the admin server pipes it instead of sending JSON). */
export interface AdminStreamResponse extends AdminResponse {
  readonly stream: {
    readonly contentType: string;
    /** Writes the body through `write`, which resolves when the client can take more. */
    readonly pipe: (write: (chunk: string) => Promise<void> | void) => Promise<void>;
  };
}

const verifyBody = z.strictObject({
  chains: z.array(z.string().min(1).max(1024)).min(1).optional().describe('Only these chains (default: every chain in the store).'),
});

/** `format`: native entries (plus hash) or OCSF events. */
function formatOf(params: URLSearchParams): 'json' | 'ocsf' {
  const f = params.get('format');
  if (f === null || f === 'native' || f === 'json') return 'json';
  if (f === 'ocsf') return 'ocsf';
  throw new AdminError(400, 'invalid_query', `format: "${f.slice(0, 60)}" is not one of native, ocsf`);
}

/** Query and store input problems are the caller's: 400 naming the parameter. */
async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AuditQueryError) throw new AdminError(400, 'invalid_query', err.message);
    if (err instanceof StoreError && err.kind === 'invalid_input') throw new AdminError(400, 'invalid_query', err.message);
    if (err instanceof CorruptRecordError) throw new AdminError(500, 'audit_record_corrupt', err.message);
    throw err;
  }
}

function chainsOf(params: URLSearchParams): string[] | undefined {
  const chains = params.getAll('chain');
  for (const [name] of params) if (name !== 'chain') throw new AdminError(400, 'invalid_query', `${name.slice(0, 40)}: is not a parameter of this route (known: chain, repeatable)`);
  if (chains.some((c) => c === '' || c.length > 1024)) throw new AdminError(400, 'invalid_query', 'chain: must be a chain name of 1 to 1024 characters');
  return chains.length > 0 ? chains : undefined;
}

export const auditRoutes: readonly AdminRoute[] = [
  {
    method: 'GET',
    path: '/v1/audit/records',
    action: 'audit.search',
    handle: (r) =>
      guarded(async () => {
        const format = formatOf(r.query);
        const q = parseAuditQuery(queryValuesOf(r.query, ['format']), HTTP_PARAMS);
        const page = await r.gw.store.searchAudit(q);
        const records = page.rows.map((row) => recordValue(row, format));
        return { status: 200, body: page.next === undefined ? { records } : { records, next: page.next } };
      }),
  },
  {
    method: 'GET',
    path: '/v1/audit/records/:id',
    action: 'audit.get',
    handle: (r) =>
      guarded(async () => {
        const format = formatOf(r.query);
        for (const [name] of r.query) if (name !== 'format') throw new AdminError(400, 'invalid_query', `${name.slice(0, 40)}: is not a parameter of this route (known: format)`);
        const row = await r.gw.store.getAuditEntry(r.params.id!);
        if (row === undefined) throw new AdminError(404, 'audit_record_not_found', `no audit record has id '${r.params.id!.slice(0, 80)}'`);
        return { status: 200, body: { record: recordValue(row, format) } };
      }),
  },
  {
    method: 'GET',
    path: '/v1/audit/status',
    action: 'audit.status',
    handle: async (r) => {
      const audit = r.gw.audit;
      if (audit === undefined) throw new AdminError(404, 'audit_disabled', 'the audit trail is disabled (audit.enabled: false): this gateway records nothing; records already in the store stay searchable');
      return { status: 200, body: audit.status() };
    },
  },
  {
    method: 'POST',
    path: '/v1/audit/verify',
    action: 'audit.verify',
    handle: (r) =>
      guarded(async () => {
        const b = parseBody(verifyBody, r.body);
        const report = await verifyTrail(storeVerifySource(r.gw.store), b.chains === undefined ? {} : { chains: b.chains });
        return { status: 200, body: report };
      }),
  },
  {
    method: 'GET',
    path: '/v1/audit/export',
    action: 'audit.export',
    handle: async (r) => {
      const chains = chainsOf(r.query);
      const res: AdminStreamResponse = {
        status: 200,
        body: undefined,
        stream: { contentType: 'application/x-ndjson', pipe: async (write) => void (await writeExport(r.gw.store, { write }, chains === undefined ? {} : { chains })) },
      };
      return res;
    },
  },
];
