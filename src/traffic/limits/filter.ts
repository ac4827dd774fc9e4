import { gatewayError } from '../../errors/codes.ts';
import { CONTINUE, deny } from '../../pipeline/decision.ts';
import type { Filter } from '../../pipeline/filter.ts';
import { admit, type Applied } from './admission.ts';
import { CallFacts, countedFor, counterKey, matches } from './match.ts';
import type { CompiledLimit, CompiledTraffic } from './types.ts';

/**
 * The admit phase: rate limits, quotas and concurrency. Runs after authorize (a call policy refuses
 * never spends quota) and before approve (a call over its limits never pages a human).
 *
 * The filter is compiled with the snapshot and holds no state; counters live in the gateway's
 * LimitsRuntime, which runExchange hands over on `x.limits`. A call no limit can apply to (by method
 * and upstream, indexed at compile time) costs two map lookups and allocates nothing.
 */
export function limitsFilter(t: CompiledTraffic): Filter {
  return {
    name: 'limits',
    phase: 'admit',
    shadow: false,
    onRequest(x) {
      const target = x.target;
      // Unresolved names and the gateway's own answers reach no upstream; nor does a call to an
      // upstream that is down (it fails at once): none of them spends anything.
      if (target === undefined || target.upstream === undefined || target.down === true) return CONTINUE;
      const perUpstream = t.index.get(x.method);
      if (perUpstream === undefined) return CONTINUE;
      const candidates: readonly CompiledLimit[] | undefined = perUpstream.get(target.upstream) ?? t.byMethod.get(x.method);
      if (candidates === undefined || candidates.length === 0) return CONTINUE;
      const facts = new CallFacts(x, target);
      let plan: Applied[] | undefined;
      for (let i = 0; i < candidates.length; i++) {
        const limit = candidates[i]!;
        if (!matches(limit.match, facts)) continue;
        const counted = countedFor(limit, facts);
        if (counted === undefined) continue;
        (plan ??= []).push({ limit, counted, key: counterKey(counted.tag, limit.key, facts) });
      }
      if (plan === undefined) return CONTINUE;
      const rt = x.limits;
      // Limits apply and nothing can count them: refuse rather than let the call through unlimited.
      if (rt === undefined) return deny(gatewayError('internal_error', 'traffic limits apply to this call but the gateway has no limits runtime'));
      return admit(rt, x, plan);
    },
  };
}
