import type { Logger } from 'pino';
import type { Snapshot } from '../config/snapshot.ts';
import { SnapshotStore } from '../config/snapshot-store.ts';
import { ObserverSet } from '../observe/observer.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import type { ExchangeRecord } from '../pipeline/record.ts';
import type { JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../protocol/jsonrpc.ts';
import type { Store } from '../store/store.ts';
import { UpstreamRegistry } from '../upstream/registry.ts';
import { Router } from '../upstream/router.ts';
import { VERSION } from './version.ts';
import { RelayState } from '../relay/relay-state.ts';
import { SubscriptionHub } from '../relay/subscriptions.ts';
import { TaskTable } from '../relay/tasks.ts';
import { refusalFor } from '../relay/ask-agent.ts';
import { sessionAsk } from '../edge/agent-origin.ts';
import type { AgentSession } from '../edge/agent-session.ts';
import { IdentityRuntime } from '../identity/identity-runtime.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { LimitsRuntime } from '../traffic/limits/runtime.ts';
import { ResponseCache } from '../traffic/cache/response-cache.ts';
import type { Tracing } from '../observe/tracing/tracing.ts';
import type { GatewayMetrics } from '../observe/metrics/gateway-metrics.ts';

const DONE: Promise<void> = Promise.resolve();

/**
 * The running gateway minus its listeners: the snapshot in force, the upstreams, the router and the
 * observers. The edge (HTTP or stdio) turns bytes into exchanges and hands them here.
 */
export class Gateway {
  readonly log: Logger;
  readonly store: Store;
  readonly snapshots: SnapshotStore<Snapshot>;
  readonly registry: UpstreamRegistry;
  readonly router: Router;
  readonly observers: ObserverSet;
  readonly serverInfo: { name: string; version: string };
  readonly relay: RelayState;
  readonly subscriptions: SubscriptionHub;
  readonly tasks: TaskTable;
  /** Results of safe calls: outside the snapshot, so a reload that keeps an upstream's cache settings keeps its entries. */
  readonly cache: ResponseCache;
  /** Authentication's run-time side: store, the gateway's token service, canonical URL. */
  readonly identity: IdentityRuntime;
  /** Traffic limits' counters (memory or Redis), semaphores and statistics: outside the snapshot, so a reload keeps the counts. */
  readonly limits: LimitsRuntime;
  /** OpenTelemetry tracing, when `telemetry.tracing.enabled` (built before the gateway: the router's chains use it). */
  readonly tracing: Tracing | undefined;
  /** The audit trail, when `audit.enabled`: `complete()` resolves once an exchange's record is durable. */
  audit: AuditLog | undefined = undefined;
  /** Prometheus metrics, when the admin listener serves them (set by the wiring; see telemetry.metrics). */
  metrics: GatewayMetrics | undefined = undefined;
  /** The one agent session of a single-client gateway (stdio mode); it may take unattributed upstream requests. */
  soleAgent: AgentSession | undefined = undefined;
  inflight = 0;
  draining = false;
  /** SIGTERM came and the drain delay runs: still serving, but `/readyz` says not ready. */
  leaving = false;
  readonly #idleWaiters: (() => void)[] = [];
  /** Aborted on close: ends what waits on agents outside any exchange. */
  readonly #stop = new AbortController();

  constructor(snapshot: Snapshot, store: Store, log: Logger, tracing?: Tracing) {
    this.log = log;
    this.tracing = tracing;
    this.store = store;
    this.snapshots = new SnapshotStore(snapshot, { logger: log });
    this.observers = new ObserverSet(log);
    this.serverInfo = { name: snapshot.config.gateway.name, version: VERSION };
    this.registry = new UpstreamRegistry({
      log,
      store,
      clientInfo: { name: 'gatehouse', version: VERSION },
      onNotification: (upstream, n) => this.#onUpstreamNotification(upstream, n),
      onServerRequest: (upstream, req) => this.#onUpstreamRequest(upstream, req),
    });
    this.router = new Router(this.registry, log, tracing?.attempts);
    this.cache = new ResponseCache({ source: this.registry });
    this.relay = new RelayState(snapshot);
    this.tasks = new TaskTable({ log });
    this.identity = new IdentityRuntime(store, () => this.snapshots.current);
    this.limits = new LimitsRuntime(log);
    this.limits.apply(snapshot.traffic);
    // Every swap (reconfigure, or a reload through reloadFrom): listeners run in the swap's own tick, so
    // the counter store the new snapshot names is in place before any exchange can use it.
    this.snapshots.subscribe((next) => this.limits.apply(next.traffic));
    this.subscriptions = new SubscriptionHub(this.registry, this.router, log, () => this.snapshots.current);
  }

  get snapshot(): Snapshot {
    return this.snapshots.current;
  }

  async start(): Promise<void> {
    await this.registry.apply(this.snapshot);
  }

  /** Swaps in a compiled snapshot and reconciles the upstreams with it. */
  async reconfigure(next: Snapshot): Promise<void> {
    this.snapshots.swap(next);
    this.relay.apply(next);
    await this.registry.apply(next);
  }

  begin(): void {
    this.inflight++;
  }

  /**
   * Emits the one record of a finished exchange. Called exactly once per exchange by the edge, before
   * the answer is written: the promise resolves when the audit record is durable (group commit), and
   * rejects when the audit trail cannot keep it (fail closed): then the answer must not be released.
   */
  complete(x: Exchange, response?: JsonRpcResponse): Promise<void> {
    const record: ExchangeRecord = {
      id: x.id,
      time: new Date(x.startedWall).toISOString(),
      durationMs: performance.now() - x.startedAt,
      upstreamMs: x.upstreamMs,
      era: x.origin.era,
      protocolVersion: x.origin.protocolVersion,
      sessionId: x.origin.session?.id,
      clientAddress: x.origin.clientAddress,
      principal: x.principal,
      method: x.method,
      rpcId: x.rpcId,
      target: x.target,
      decisions: x.decisions ?? [],
      policy: x.policy,
      outcome: x.outcome,
      error: x.error,
      bytesIn: x.bytesIn,
      bytesOut: x.bytesOut,
      traceId: x.origin.traceId,
      cache: x.cache,
      params: x.params,
      response,
    };
    this.observers.emit(record);
    const durable = this.audit?.append(record) ?? DONE;
    const trace = x.trace;
    // The exchange span ends once the record is durable: the agent waits for that too.
    if (trace !== undefined) durable.then(() => trace.end(x), (err: unknown) => trace.end(x, err));
    return durable;
  }

  /** The exchange's answer is written (or dropped): it no longer holds a drain open. Once per begin(). */
  end(): void {
    if (--this.inflight === 0 && this.#idleWaiters.length > 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  /** Stops taking new work: new requests are refused and open subscription streams end gracefully. */
  beginDrain(): void {
    this.draining = true;
    this.subscriptions.closeAll();
  }

  /** Resolves when no exchange is in flight, or after `ms`. Returns whether it drained fully. */
  async drained(ms: number): Promise<boolean> {
    if (this.inflight === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<boolean>((resolve) => this.#idleWaiters.push(() => resolve(true)));
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const ok = await Promise.race([idle, late]);
    clearTimeout(timer);
    return ok;
  }

  async close(): Promise<void> {
    this.#stop.abort(new Error('the gateway is shutting down'));
    this.relay.parked.closeAll();
    this.subscriptions.closeAll();
    await this.registry.close();
    // Records still waiting for the store are committed (or spilled) before the store goes.
    await this.limits.close();
    await this.audit?.close();
    // Spans of the last exchanges are exported before the process goes.
    await this.tracing?.close();
    await this.store.close();
  }

  #onUpstreamNotification(upstream: string, n: JsonRpcNotification): void {
    if (n.method === 'notifications/tasks/status' && this.tasks.relayStatus(upstream, n)) return;
    if (n.method === 'notifications/resources/updated' && typeof n.params?.uri === 'string') {
      this.subscriptions.upstreamUpdated(upstream, n.params.uri);
      return;
    }
    // Log lines and other notifications not tied to one agent's call stay in the gateway's log: sending
    // them to every agent would show one tenant's traffic to another.
    this.log.debug({ upstream, method: n.method, params: n.method === 'notifications/message' ? n.params : undefined }, 'upstream notification (not tied to an agent call)');
  }

  async #onUpstreamRequest(upstream: string, req: JsonRpcRequest): Promise<JsonRpcResponse> {
    if (req.method === 'ping') return { jsonrpc: '2.0', id: req.id, result: {} };
    const owner = this.tasks.askerFor(upstream, req);
    if (owner !== undefined) return owner(req);
    const sole = this.soleAgent;
    if (sole !== undefined && refusalFor(req.method, req.params, sole.clientCapabilities) === undefined) {
      const res = await sessionAsk(sole, undefined)(req.method, req.params, this.#stop.signal);
      return { ...res, id: req.id } as JsonRpcResponse;
    }
    // Requests tied to an agent's call never get here (the call's relay answers them). What is left
    // came outside any call, or while calls of several agents were in flight and nothing said which.
    this.log.info({ upstream, method: req.method }, 'upstream request not attributable to one agent call; refused');
    return {
      jsonrpc: '2.0',
      id: req.id,
      error: { code: -32601, message: `${req.method} cannot be relayed: the gateway serves many agents and this request is not tied to one agent's call` },
    };
  }
}
