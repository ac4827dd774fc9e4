import { Registry } from 'prom-client';
import type { Snapshot } from '../../config/snapshot.ts';
import type { Gateway } from '../../core/gateway.ts';
import type { ExchangeObserver } from '../observer.ts';
import { auditCollector } from './audit-collector.ts';
import type { Collector } from './collector.ts';
import { exchangeMetrics } from './exchange-metrics.ts';
import { HotCounter } from './hot-metrics.ts';
import { AgentLabels } from './labels.ts';
import { processMetrics } from './process-metrics.ts';
import { recordObserver } from './record-observer.ts';
import { runtimeCollector, type SessionSource } from './runtime-collector.ts';
import { trafficCollector } from './traffic-collector.ts';
import { upstreamCollector } from './upstream-collector.ts';

/**
 * A gateway's Prometheus metrics: its own registry (never prom-client's global one, so two gateways in
 * one process keep apart), an observer counting exchanges, and collectors that read the gateway's
 * state when scraped. It follows `telemetry.metrics` across reloads: turned off, the observer leaves
 * (counting stops) and the endpoint is not served; turned on again, counting resumes where it was.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  /** The data plane's session table, set by the wiring once the listener exists. */
  sessions: SessionSource | undefined = undefined;
  readonly #gw: Gateway;
  readonly #agents: AgentLabels;
  readonly #collectors: Collector[];
  readonly #collectFailures: HotCounter;
  readonly #observer: ExchangeObserver;
  #detach: (() => void) | undefined = undefined;
  #processMetrics = false;
  readonly #unsubscribe: () => void;

  /** Call after the audit trail (if any) is open: its metrics exist only for a gateway that has one. */
  constructor(gw: Gateway) {
    this.#gw = gw;
    this.#agents = new AgentLabels(gw.snapshot.config.telemetry.metrics.maxAgents);
    this.#observer = recordObserver(exchangeMetrics(this.registry), { toolNames: () => gw.registry.catalog, agents: this.#agents });
    this.#collectFailures = new HotCounter(this.registry, {
      name: 'gatehouse_metrics_collect_failures_total',
      help: 'Scrapes where reading a group of state metrics failed (that group is missing or partial in that scrape; the log says why).',
      labelNames: ['collector'],
    });
    this.#collectors = [runtimeCollector(this.registry, gw, () => this.sessions), upstreamCollector(this.registry, gw), trafficCollector(this.registry, gw)];
    if (gw.audit !== undefined) this.#collectors.push(auditCollector(this.registry, gw));
    this.#follow(gw.snapshot);
    this.#unsubscribe = gw.snapshots.subscribe((next) => this.#follow(next));
  }

  /** Whether the configuration in force has metrics on. */
  get enabled(): boolean {
    return this.#gw.snapshot.config.telemetry.metrics.enabled;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text: state read now, counters as they stand. */
  async render(): Promise<string> {
    for (const c of this.#collectors) {
      try {
        c.collect();
      } catch (err) {
        this.#collectFailures.at([c.name]).inc();
        this.#gw.log.error({ err, collector: c.name }, 'metrics collector failed');
      }
    }
    return this.registry.metrics();
  }

  close(): void {
    this.#unsubscribe();
    this.#detach?.();
    this.#detach = undefined;
  }

  #follow(next: Snapshot): void {
    const cfg = next.config.telemetry.metrics;
    this.#agents.max = cfg.maxAgents;
    if (cfg.enabled && this.#detach === undefined) {
      this.#detach = this.#gw.observers.add(this.#observer);
      if (!this.#processMetrics) {
        this.#processMetrics = true;
        for (const m of processMetrics()) this.registry.registerMetric(m);
      }
    } else if (!cfg.enabled && this.#detach !== undefined) {
      this.#detach();
      this.#detach = undefined;
    }
  }
}
