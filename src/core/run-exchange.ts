import { ERRORS, errorResponse, gatewayError, GatewayFault, type GatewayError } from '../errors/codes.ts';
import { methodFor } from '../methods/table.ts';
import { isGatewayError, type MethodOutcome } from '../methods/method.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import { runRequestFilters, runResponseFilters } from '../pipeline/runner.ts';
import type { JsonRpcResponse } from '../protocol/jsonrpc.ts';
import type { Gateway } from './gateway.ts';

/**
 * One request through the fixed pipeline: resolve the target, run the phases, serve the method,
 * run the response side. Always resolves with the response for the agent; the exchange carries
 * its outcome for the record.
 */
export async function runExchange(gw: Gateway, x: Exchange): Promise<JsonRpcResponse> {
  const id = x.rpcId ?? null;
  // Tracing off: this one check is all it costs.
  if (gw.tracing !== undefined) gw.tracing.begin(x);
  try {
    // Admission: a call the audit trail could not keep is refused before it reaches an upstream.
    const unaudited = gw.audit?.refusal();
    if (unaudited !== undefined) return fail(x, 'error', unaudited);
    const handler = methodFor(x.method, x.origin.era);
    // Resolution errors wait until the filters ran: authentication must come before any answer
    // that reveals what exists.
    let unresolved: GatewayError | undefined;
    if (handler === undefined) unresolved = gatewayError('method_not_found', `Method not found: ${x.method}`);
    else if (handler.resolve !== undefined) {
      const t = handler.resolve(gw, x);
      if (isGatewayError(t)) unresolved = t;
      else x.target = t;
    }
    const filters = x.snapshot.filters;
    if (filters.length > 0) {
      // The admit filter's counters live outside the snapshot, in the gateway.
      x.limits = gw.limits;
      const d = await runRequestFilters(x, filters, gw.log);
      if (d.kind === 'deny') return fail(x, 'denied', d.error);
      if (d.kind === 'respond') return { jsonrpc: '2.0', id: id!, result: d.result };
    }
    if (unresolved !== undefined) return fail(x, 'error', unresolved);
    const out = x.trace === undefined ? await handler!.handle(gw, x) : await x.trace.handle(() => handler!.handle(gw, x));
    let res = toResponse(x, out);
    if (filters.length > 0) res = await runResponseFilters(x, filters, res, gw.log);
    return res;
  } catch (err) {
    if (err instanceof GatewayFault) return fail(x, 'error', err.error);
    gw.log.error({ err, exchange: x.id, method: x.method }, 'internal error');
    return fail(x, 'error', gatewayError('internal_error', 'internal error'));
  } finally {
    // Concurrency slots go back when the call's work ends, however it ended: answered, failed, timed
    // out upstream, or cancelled by the agent (the upstream call is over by then in every case).
    x.admission?.release();
  }
}

function toResponse(x: Exchange, out: MethodOutcome): JsonRpcResponse {
  const id = x.rpcId ?? null;
  if ('result' in out) {
    adaptResultToEra(x, out.result);
    return { jsonrpc: '2.0', id: id!, result: out.result };
  }
  if ('upstreamError' in out) {
    x.outcome = 'upstream_error';
    x.error = { code: out.upstreamError.code, message: out.upstreamError.message, source: 'upstream' };
    return { jsonrpc: '2.0', id, error: out.upstreamError };
  }
  const e = out.error;
  return fail(x, e.name === 'upstream_timeout' ? 'timeout' : x.signal.aborted ? 'cancelled' : 'error', e);
}

function fail(x: Exchange, outcome: Exchange['outcome'], e: GatewayError): JsonRpcResponse {
  x.fail(outcome, e, ERRORS[e.name].code);
  return errorResponse(x.rpcId ?? null, e);
}

/**
 * Results cross eras here. A 2026-07-28 agent needs `resultType`; a 2025-era agent has no use for
 * the modern-only fields. Objects from the upstream are owned by this exchange, so edits are safe.
 */
function adaptResultToEra(x: Exchange, result: Record<string, unknown>): void {
  if (x.origin.era === 'modern') {
    if (result.resultType === undefined) result.resultType = 'complete';
  } else if (result.resultType !== undefined) {
    delete result.resultType;
    delete result.ttlMs;
    delete result.cacheScope;
  }
}
