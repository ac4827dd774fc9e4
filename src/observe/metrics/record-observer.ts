import type { ExchangeRecord } from '../../pipeline/record.ts';
import type { ExchangeObserver } from '../observer.ts';
import type { ExchangeMetrics } from './exchange-metrics.ts';
import { AgentLabels, errorLabel, methodLabel, policyOutcome, toolLabel, type ToolNames } from './labels.ts';
import { NONE } from './series.ts';

export interface RecordObserverOptions {
  /** The catalog in force, read per record (tool names are bounded by it). */
  readonly toolNames: () => ToolNames;
  readonly agents: AgentLabels;
}

/**
 * Counts each finished exchange. Per record: label values picked from the record (bounded, no string
 * built), a few Map lookups, number increments; the label arrays below are reused, never kept.
 */
export function recordObserver(m: ExchangeMetrics, o: RecordObserverOptions): ExchangeObserver {
  const req: string[] = [NONE, NONE, NONE, NONE, NONE];
  const two: string[] = [NONE, NONE];
  const three: string[] = [NONE, NONE, NONE];
  const one: string[] = [NONE];
  const bytesIn = m.bytes.at(['in']);
  const bytesOut = m.bytes.at(['out']);
  return {
    name: 'metrics',
    onComplete(r: ExchangeRecord) {
      const method = methodLabel(r.method);
      const upstream = r.target?.upstream ?? NONE;
      const policy = policyOutcome(r);
      req[0] = method;
      req[1] = upstream;
      req[2] = toolLabel(r.method, r.target, o.toolNames());
      req[3] = policy.decision;
      req[4] = r.outcome;
      m.requests.at(req).inc();

      const seconds = r.durationMs / 1000;
      two[0] = method;
      two[1] = r.outcome;
      m.duration.at(two).observe(seconds);
      if (r.upstreamMs !== undefined) {
        two[0] = upstream;
        two[1] = method;
        m.upstreamDuration.at(two).observe(r.upstreamMs / 1000);
        one[0] = method;
        // Both clocks are performance.now(); a negative difference can only be rounding.
        m.overhead.at(one).observe(Math.max(0, r.durationMs - r.upstreamMs) / 1000);
      }

      if (policy.denial !== undefined) {
        three[0] = policy.denial.rule;
        three[1] = policy.denial.effect;
        three[2] = policy.denial.reason;
        m.policyDenials.at(three).inc();
      }
      if (policy.shadow !== undefined) {
        two[0] = policy.shadow.rule;
        two[1] = policy.shadow.effect;
        m.shadowDenials.at(two).inc();
      }
      if (r.error !== undefined && r.error.source === 'gateway') {
        one[0] = errorLabel(r.error.name);
        m.errors.at(one).inc();
      }
      one[0] = o.agents.label(r.principal.agent);
      m.agentCalls.at(one).inc();
      bytesIn.inc(r.bytesIn);
      bytesOut.inc(r.bytesOut);
    },
  };
}
