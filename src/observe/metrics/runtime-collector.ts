import type { Registry } from 'prom-client';
import type { Gateway } from '../../core/gateway.ts';
import { VERSION } from '../../core/version.ts';
import { StateMetrics, total, type Collector } from './collector.ts';

/** What the sessions gauge reads: the data plane's 2025-era session table. */
export interface SessionSource {
  values(): Iterable<{ readonly singleChannel?: boolean }>;
}

/** The configuration in force and its last reload, exchanges and sessions open, observers' failures. */
export function runtimeCollector(registry: Registry, gw: Gateway, sessions: () => SessionSource | undefined): Collector {
  const m = new StateMetrics(registry);
  const info = m.gauge('gatehouse_build_info', 'Always 1; the version label says which Gatehouse is running.', ['version']);
  const generation = m.gauge('gatehouse_config_generation', 'Generation of the configuration in force (1 at start, +1 per successful reload).');
  const reloadOk = m.gauge('gatehouse_config_last_reload_success', 'Whether the last reload (or the start) succeeded (1) or was rejected, leaving the previous configuration in force (0).');
  const reloadAt = m.gauge('gatehouse_config_last_reload_timestamp_seconds', 'When the last reload (or the start) was attempted, in Unix seconds.');
  const inFlight = m.gauge('gatehouse_exchanges_in_flight', 'Exchanges begun and not yet answered.');
  const draining = m.gauge('gatehouse_draining', 'Whether the gateway is shutting down and refusing new work (1).');
  const open = m.gauge('gatehouse_sessions_open', 'Agent sessions open (2025 era; the 2026-07-28 revision has none), by transport.', ['transport']);
  const observerFailures = m.counter('gatehouse_observer_failures_total', 'Times an exchange observer (log, metrics, audit feed) threw; the exchange itself was unaffected.');

  return {
    name: 'runtime',
    collect() {
      m.reset();
      info.set({ version: VERSION }, 1);
      generation.set(gw.snapshots.generation);
      const last = gw.snapshots.lastReload;
      reloadOk.set(last.ok ? 1 : 0);
      reloadAt.set(last.at.getTime() / 1000);
      inFlight.set(gw.inflight);
      draining.set(gw.draining ? 1 : 0);
      const table = sessions();
      if (table !== undefined) {
        let streamable = 0;
        let legacy = 0;
        for (const s of table.values()) {
          if (s.singleChannel === true) legacy++;
          else streamable++;
        }
        open.set({ transport: 'streamable_http' }, streamable);
        open.set({ transport: 'legacy_sse' }, legacy);
      }
      total(observerFailures, gw.observers.failures);
    },
  };
}
