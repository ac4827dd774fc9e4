import type { Registry } from 'prom-client';
import type { Gateway } from '../../core/gateway.ts';
import { StateMetrics, total, type Collector } from './collector.ts';

/**
 * The audit trail, as `GET /v1/audit/status` reports it: the committer (buffer, spill, records
 * dropped) and each sink's delivery and lag. Registered only when the gateway runs an audit trail
 * (a labelless gauge always has a value, and `accepting 0` would claim refusals that do not happen).
 */
export function auditCollector(registry: Registry, gw: Gateway): Collector {
  const m = new StateMetrics(registry);
  const sink = ['sink', 'kind'];
  const accepting = m.gauge('gatehouse_audit_accepting', 'Whether the audit trail takes new records (0: exchanges are refused with audit_unavailable).');
  const buffered = m.gauge('gatehouse_audit_buffered', 'Records sealed and waiting for the store.');
  const committed = m.counter('gatehouse_audit_committed_total', 'Records written to the store.');
  const spilled = m.counter('gatehouse_audit_spilled_total', 'Records written to the local spill while the store could not take them.');
  const dropped = m.counter('gatehouse_audit_dropped_total', 'Records the trail could not keep (buffer full); each run of them is recorded as a gap in the chain.');
  const storeDown = m.gauge('gatehouse_audit_store_down', 'Whether the last store write failed (1) or not (0).');
  const spilling = m.gauge('gatehouse_audit_spilling', 'Whether records go to the local spill (1) instead of the store (0).');
  const lag = m.gauge('gatehouse_audit_sink_lag', 'Records of the chain the sink has not delivered yet.', sink);
  const behind = m.gauge('gatehouse_audit_sink_behind', 'Whether the sink has fallen further behind than its bound (1).', sink);
  const delivered = m.counter('gatehouse_audit_sink_delivered_total', 'Records the sink delivered.', sink);
  const failures = m.counter('gatehouse_audit_sink_failures_total', 'Failed delivery attempts of the sink.', sink);
  const pruned = m.counter('gatehouse_audit_retention_pruned_total', 'Records removed by retention.');

  return {
    name: 'audit',
    collect() {
      m.reset();
      const audit = gw.audit;
      if (audit === undefined) return;
      const s = audit.status();
      accepting.set(s.accepting ? 1 : 0);
      buffered.set(s.committer.buffered);
      total(committed, s.committer.committed);
      total(spilled, s.committer.spilled);
      total(dropped, s.committer.lost);
      storeDown.set(s.committer.storeDown ? 1 : 0);
      spilling.set(s.committer.mode === 'spilling' ? 1 : 0);
      for (const st of s.sinks.streams) {
        const l = { sink: st.sink, kind: st.kind };
        lag.set(l, st.lag);
        behind.set(l, st.behind ? 1 : 0);
        total(delivered, st.delivered, l);
        total(failures, st.failures, l);
      }
      total(pruned, s.sinks.retention.pruned);
    },
  };
}
