import type { Logger } from 'pino';
import { gatewayError } from '../errors/codes.ts';
import type { JsonRpcResponse } from '../protocol/jsonrpc.ts';
import { CONTINUE, deny, type Decision } from './decision.ts';
import type { Exchange } from './exchange.ts';
import type { Filter } from './filter.ts';

/**
 * Runs the request side of the pipeline: filters already sorted by phase (compile() sorts them once).
 * Every decision is recorded on the exchange with its cost. A throwing filter is a bug: it becomes an
 * internal error for this exchange (fail closed), never an unhandled rejection.
 */
export async function runRequestFilters(x: Exchange, filters: readonly Filter[], log: Logger): Promise<Decision> {
  const trace = x.trace;
  for (let i = 0; i < filters.length; i++) {
    const f = filters[i]!;
    if (f.onRequest === undefined) continue;
    const t0 = performance.now();
    let d: Decision;
    let failed: string | undefined;
    try {
      d = await f.onRequest(x);
    } catch (err) {
      failed = err instanceof Error ? err.message : String(err);
      log.error({ err, filter: f.name, phase: f.phase, exchange: x.id }, 'filter threw; treating as deny');
      d = deny(gatewayError('internal_error', `filter "${f.name}" failed`));
    }
    const kind = failed === undefined ? d.kind : 'error';
    x.recordDecision({
      filter: f.name,
      phase: f.phase,
      kind,
      shadow: f.shadow,
      ...(failed === undefined ? {} : { error: failed }),
      micros: Math.round((performance.now() - t0) * 1000),
    });
    if (trace !== undefined) trace.filter(f, t0, kind, 'request');
    if (d.kind === 'continue' || f.shadow) continue;
    return d;
  }
  return CONTINUE;
}

/** The response side, in reverse order (guard(out) first). A throwing filter withholds the result. */
export async function runResponseFilters(
  x: Exchange,
  filters: readonly Filter[],
  res: JsonRpcResponse,
  log: Logger,
): Promise<JsonRpcResponse> {
  let out = res;
  const trace = x.trace;
  for (let i = filters.length - 1; i >= 0; i--) {
    const f = filters[i]!;
    if (f.onResponse === undefined) continue;
    // The response side is timed only for a span: it records no decision.
    const t0 = trace === undefined ? 0 : performance.now();
    try {
      const next = await f.onResponse(x, out);
      if (!f.shadow) out = next;
    } catch (err) {
      log.error({ err, filter: f.name, phase: f.phase, exchange: x.id }, 'response filter threw; withholding the result');
      trace?.filter(f, t0, 'error', 'response');
      throw err;
    }
    if (trace !== undefined) trace.filter(f, t0, 'continue', 'response');
  }
  return out;
}
