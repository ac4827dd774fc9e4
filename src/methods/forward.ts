import { GatewayFault, gatewayError } from '../errors/codes.ts';
import type { Gateway } from '../core/gateway.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import { TARGET_DEF } from '../pipeline/target.ts';
import { agentNotifier } from '../relay/ask-agent.ts';
import type { CallOptions } from '../upstream/session.ts';
import type { MethodOutcome } from './method.ts';

/**
 * Sends the exchange to the upstream its target names, with params rewritten to the upstream's own
 * names, and turns what comes back into an outcome. Results pass through untouched apart from era
 * markers; upstream errors pass through as upstream errors. `extra` adds call options (the relay's
 * server->client request handler, the agent's capabilities for a modern upstream, another signal).
 */
export async function forward(gw: Gateway, x: Exchange, params: Record<string, unknown> | undefined, extra?: CallOptions): Promise<MethodOutcome> {
  const upstream = x.target?.upstream;
  if (upstream === undefined) return { error: gatewayError('internal_error', 'no upstream resolved') };
  const t0 = performance.now();
  const signal = extra?.signal ?? x.signal;
  try {
    const notify = agentNotifier(x);
    const opts: CallOptions = { ...extra, signal };
    if (notify !== undefined && opts.onNotification === undefined) opts.onNotification = notify;
    if (opts.logLevel === undefined && x.origin.logLevel !== undefined) opts.logLevel = x.origin.logLevel;
    // Whose call this is, for upstream messages that don't say (stdio): a 2025 session, or this one request.
    if (opts.relayKey === undefined) opts.relayKey = x.origin.session?.id ?? x.id;
    // The tool's class decides whether a failed attempt may be retried; it is looked up only then.
    const t = x.target;
    if (t !== undefined && t.kind === 'tool' && opts.toolDef === undefined) opts.toolDef = t[TARGET_DEF];
    const res = await gw.router.call(x.snapshot, upstream, x.method, params, opts);
    x.upstreamMs = (x.upstreamMs ?? 0) + performance.now() - t0;
    if ('error' in res) return { upstreamError: res.error };
    return { result: res.result };
  } catch (err) {
    x.upstreamMs = (x.upstreamMs ?? 0) + performance.now() - t0;
    if (err instanceof GatewayFault) return { error: err.error };
    if (signal.aborted) return { error: gatewayError('upstream_failed', 'the call was cancelled', { upstream }) };
    throw err;
  }
}

/** params with one field replaced; the agent's object is never mutated. */
export function withField(params: Record<string, unknown> | undefined, key: string, value: unknown): Record<string, unknown> {
  return { ...params, [key]: value };
}
