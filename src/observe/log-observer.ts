import type { Logger } from 'pino';
import type { ExchangeRecord } from '../pipeline/record.ts';
import type { ExchangeObserver } from './observer.ts';

/**
 * One debug line per exchange, one warn line per failed one. At the default level (info) a
 * successful call writes nothing: per-request info logging costs 10-17 % of throughput.
 */
export function logObserver(log: Logger): ExchangeObserver {
  return {
    name: 'log',
    onComplete(r: ExchangeRecord) {
      if (r.outcome === 'ok') {
        // A policy being rolled out in shadow mode is watched through these lines (until audit queries exist).
        const shadow = shadowVerdict(r);
        if (shadow !== undefined) log.info({ exchange: summarize(r), wouldBe: shadow }, 'policy (shadow) would refuse this call');
        else if (log.isLevelEnabled('debug')) log.debug({ exchange: summarize(r) }, 'exchange');
        return;
      }
      log.warn({ exchange: summarize(r) }, `exchange ${r.outcome}`);
    },
  };
}

function summarize(r: ExchangeRecord) {
  return {
    id: r.id,
    method: r.method,
    target: r.target,
    outcome: r.outcome,
    error: r.error,
    ms: Math.round(r.durationMs * 100) / 100,
    upstreamMs: r.upstreamMs,
    session: r.sessionId,
    principal: r.principal.id,
    policy: r.policy === undefined ? undefined : { effect: r.policy.effect, rule: r.policy.rule ?? '(default)', reason: r.policy.reason },
  };
}

/** What shadow rules, or a whole policy in shadow mode, would have done to a call that went through. */
function shadowVerdict(r: ExchangeRecord): { effect: string; rule: string } | undefined {
  const p = r.policy;
  if (p === undefined) return undefined;
  if (p.effect !== 'allow') return { effect: p.effect, rule: p.rule ?? '(default)' };
  if (p.shadow !== undefined && p.shadow.effect !== 'allow') return { effect: p.shadow.effect, rule: p.shadow.rule ?? '(default)' };
  return undefined;
}
