import { RELAY_CLIENT_CAPABILITIES } from '../relay/ask-agent.ts';
import type { Logger } from 'pino';
import type { CompiledUpstream } from '../config/snapshot.ts';
import type { UpstreamConfig } from '../config/schema/upstream.ts';
import { gatewayError, GatewayFault } from '../errors/codes.ts';
import type { JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../protocol/jsonrpc.ts';
import type { Store } from '../store/store.ts';
import { backoffDelay } from './backoff.ts';
import { connectUpstream } from './connect.ts';
import { startHealthChecks } from './health.ts';
import { SessionLease, type LeaseOwner } from './lease.ts';
import { EMPTY_LISTS, fetchAllLists, fetchList, listKindOf, type UpstreamLists } from './lists.ts';
import { CancelledFault, NotSentFault, type CallOptions, type UpstreamSession } from './session.ts';

export type UpstreamState = 'connecting' | 'ready' | 'unhealthy' | 'stopped';

/** One replica of an upstream: the upstream as configured, and what this replica connects to. */
export interface ReplicaSpec {
  readonly upstream: CompiledUpstream;
  /** The upstream's config with this replica's own endpoint (`url`; `launch` only for the first). */
  readonly config: UpstreamConfig;
  /** Keys the running replica: a reload that yields the same identity keeps it running. */
  readonly identity: string;
}

export interface HandleDeps {
  /** Bound to the upstream (and replica) already. */
  readonly log: Logger;
  readonly store: Store;
  readonly clientInfo: { name: string; version: string };
  /** Health (`state`) or the lists changed: the catalog must be rebuilt. */
  readonly onChange: (what: 'state' | 'lists') => void;
  /** Notifications that are not about lists (resource updates, logs): relayed by the caller. */
  readonly onNotification: (upstream: string, n: JsonRpcNotification) => void;
  readonly onServerRequest: (upstream: string, req: JsonRpcRequest) => Promise<JsonRpcResponse>;
  /** A result that may have created a task (`task` or `resultType: "task"`): the task lives on this replica. */
  readonly onTaskResult: (result: Record<string, unknown>) => void;
}

/** After a call here failed in transport, the balancer prefers other replicas for this long (ms). */
const AVOID_AFTER_FAILURE_MS = 2_000;

/**
 * One replica's living state: its session, last known lists, health, and the background loop that
 * reconnects it with backoff. Lives outside snapshots, keyed by the replica's identity.
 */
export class UpstreamHandle implements LeaseOwner {
  readonly name: string;
  readonly identity: string;
  /** 1-based and stable while the replica runs; `label` names it in logs and status. */
  readonly ordinal: number;
  /** `files` for a lone replica, `files#2` among several (set by the pool). */
  label: string;
  spec: ReplicaSpec;
  state: UpstreamState = 'connecting';
  reason: string | undefined = 'starting';
  since = new Date();
  lists: UpstreamLists = EMPTY_LISTS;
  listsFetchedAt: string | undefined;
  failures = 0;
  connects = 0;
  /** Whether the first connection attempt has ended (ready or failed): start-up waits for no more. */
  attempted = false;
  /** Calls sent through this replica since it started (all sessions). */
  calls = 0;
  /** Until when (performance.now()) the balancer prefers other replicas: a call here just failed in transport. */
  avoidUntil = 0;
  readonly #deps: HandleDeps;
  readonly #log: Logger;
  #retryTimer: NodeJS.Timeout | undefined;
  #stopHealth: (() => void) | undefined;
  #stopped = false;
  /** Aborted by stop(): gives up a connection attempt in progress. */
  readonly #stop = new AbortController();
  /** The connection attempt in progress, and its session once the handshake is done but lists are pending. */
  #attempt: Promise<void> | undefined;
  #pending: UpstreamSession | undefined;
  /** The session in rotation. */
  #lease: SessionLease | undefined;
  /** Sessions out of rotation that still finish their calls. */
  readonly #retiring = new Set<SessionLease>();

  constructor(spec: ReplicaSpec, ordinal: number, deps: HandleDeps) {
    this.spec = spec;
    this.name = spec.upstream.name;
    this.identity = spec.identity;
    this.ordinal = ordinal;
    this.label = spec.upstream.name;
    this.#deps = deps;
    this.#log = deps.log;
  }

  /** The live session, while the replica is ready. */
  get session(): UpstreamSession | undefined {
    return this.#lease?.session;
  }

  /** Calls with a deadline in flight on the live session. */
  get outstanding(): number {
    return this.#lease?.outstanding ?? 0;
  }

  /** Connects in the background. */
  start(): void {
    this.#beginConnect();
  }

  #beginConnect(): void {
    const attempt = this.#connect();
    this.#attempt = attempt;
    void attempt.finally(() => {
      if (this.#attempt === attempt) this.#attempt = undefined;
    });
  }

  /** A call through this replica's live session; fails fast when it has none. */
  request(method: string, params: Record<string, unknown> | undefined, opts: CallOptions): Promise<JsonRpcResponse> {
    const lease = this.#lease;
    if (this.state !== 'ready' || lease === undefined) {
      return Promise.reject(new NotSentFault(gatewayError('upstream_unavailable', `upstream "${this.label}" is unavailable: ${this.reason ?? this.state}`, { upstream: this.name })));
    }
    this.calls++;
    return lease.send(method, params, opts);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#stopHealth?.();
    this.#setState('stopped', 'stopped');
    // An attempt in progress owns a process or connection too: give it up and wait until it has
    // cleaned up, so that "stopped" means nothing of this replica is left running.
    this.#stop.abort(new GatewayFault(gatewayError('upstream_unavailable', `upstream "${this.label}" was stopped while connecting`, { upstream: this.name })));
    const pending = this.#pending;
    this.#pending = undefined;
    const lease = this.#lease;
    this.#lease = undefined;
    await Promise.all([
      lease?.close(),
      ...[...this.#retiring].map((l) => l.close()),
      pending?.close().catch((err: unknown) => this.closeFailed(err)),
      this.#attempt,
    ]);
  }

  noteResponse(res: JsonRpcResponse): void {
    if (!('result' in res)) return;
    const r = res.result;
    if (r.resultType === 'task' || r.task !== undefined) this.#deps.onTaskResult(r);
  }

  noteFailure(err: unknown): void {
    // Transport failures only: timeouts are load (the balancer sees it as outstanding calls), aborts are
    // the caller's, protocol errors would recur on any replica.
    if (!(err instanceof GatewayFault) || err instanceof CancelledFault) return;
    const name = err.error.name;
    if (name === 'upstream_unavailable' || name === 'upstream_failed') this.avoidUntil = performance.now() + AVOID_AFTER_FAILURE_MS;
  }

  closeFailed(err: unknown): void {
    this.#log.warn({ err }, 'close failed');
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    const cfg = this.spec.config;
    this.#setState('connecting', this.connects === 0 ? 'starting' : 'reconnecting');
    let session: UpstreamSession | undefined;
    try {
      const knownEra = await this.#deps.store.getUpstreamEra(this.identity).catch(() => undefined);
      session = await connectUpstream(cfg, {
        logger: this.#log,
        configDir: this.spec.upstream.dir,
        clientInfo: this.#deps.clientInfo,
        clientCapabilities: { ...RELAY_CLIENT_CAPABILITIES },
        ...(knownEra === undefined ? {} : { knownEra }),
        signal: this.#stop.signal,
        events: {
          onNotification: (n) => this.#onNotification(n),
          onServerRequest: (req) => this.#deps.onServerRequest(this.name, req),
          onClose: (reason) => this.#onClose(session, reason),
        },
      });
      if (this.#stopped) {
        await session.close();
        return;
      }
      this.connects++;
      this.#pending = session;
      await this.#deps.store.setUpstreamEra(this.identity, session.era).catch(() => undefined);
      const lists = await fetchAllLists(session, cfg.connectTimeoutMs);
      this.#pending = undefined;
      if (this.#stopped) {
        await session.close();
        return;
      }
      const lease = new SessionLease(session, this);
      this.#lease = lease;
      this.failures = 0;
      // What failed was the old session; the new one starts with a clean slate.
      this.avoidUntil = 0;
      this.#setLists(lists);
      this.attempted = true;
      this.#setState('ready', undefined);
      this.#log.info({ era: session.era, protocolVersion: session.protocolVersion, tools: lists.tools.length, prompts: lists.prompts.length, resources: lists.resources.length }, 'upstream ready');
      this.#stopHealth = startHealthChecks(session, cfg, this.#log, (why) => this.#healthFailed(lease, why));
      if (session.era === 'modern') this.#listenForListChanges(session);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (!this.#stopped) this.#log.warn({ err: message }, 'upstream failed to start');
      this.#pending = undefined;
      if (session !== undefined) await session.close().catch(() => undefined);
      this.#failed(message);
    }
  }

  #failed(reason: string): void {
    this.#lease = undefined;
    this.#stopHealth?.();
    this.#stopHealth = undefined;
    if (this.#stopped) return;
    this.attempted = true;
    this.#setState('unhealthy', reason);
    const { initialDelayMs, maxDelayMs } = this.spec.upstream.config.restart;
    const delay = backoffDelay(this.failures++, initialDelayMs, maxDelayMs);
    this.#retryTimer = setTimeout(() => this.#beginConnect(), delay);
    this.#retryTimer.unref();
  }

  #onClose(session: UpstreamSession | undefined, reason: Error | undefined): void {
    if (this.#stopped || session === undefined || this.#lease?.session !== session) return;
    const why = reason?.message ?? 'connection closed';
    this.#log.warn({ reason: why }, 'upstream session closed');
    this.#failed(why);
  }

  /**
   * Out of rotation at once, reconnected with backoff; the calls already on the old session finish
   * there (a failed check says nothing about them), and it closes once they are done.
   */
  #healthFailed(lease: SessionLease, why: string): void {
    if (this.#stopped || this.#lease !== lease) return;
    this.#log.warn({ reason: why, inflight: lease.outstanding }, 'health check failed; replica taken out of rotation');
    this.#lease = undefined;
    this.#retiring.add(lease);
    const cfg = this.spec.upstream.config;
    lease.retire(Math.max(cfg.timeoutMs, cfg.maxTimeoutMs), () => this.#retiring.delete(lease));
    this.#failed(`health check failed: ${why}`);
  }

  /**
   * 2026-07-28 servers send list_changed only on a `subscriptions/listen` stream: hold one open per
   * session for the lists the server says can change, so the catalog follows them. It ends with the
   * session; a new session opens its own.
   */
  #listenForListChanges(session: UpstreamSession): void {
    const caps = session.capabilities;
    const notifications: Record<string, boolean> = {};
    for (const [kind, flag] of [['tools', 'toolsListChanged'], ['prompts', 'promptsListChanged'], ['resources', 'resourcesListChanged']] as const) {
      if ((caps[kind] as { listChanged?: boolean } | undefined)?.listChanged === true) notifications[flag] = true;
    }
    if (Object.keys(notifications).length === 0) return;
    session
      .request('subscriptions/listen', { notifications }, { timeoutMs: 0, onNotification: (n) => this.#onNotification(n) })
      .then(
        (res) => {
          if (this.session === session && 'error' in res) this.#log.warn({ error: res.error.message }, 'upstream refused subscriptions/listen; list changes will not be seen');
        },
        (err: unknown) => {
          if (this.session === session && !this.#stopped) this.#log.debug({ err: String(err) }, 'list-change subscription ended');
        },
      );
  }

  #onNotification(n: JsonRpcNotification): void {
    const kinds = listKindOf(n.method);
    if (kinds === undefined) {
      this.#deps.onNotification(this.name, n);
      return;
    }
    const s = this.session;
    if (s === undefined) return;
    void Promise.all(kinds.map((k) => fetchList(s, k, this.spec.config.connectTimeoutMs)))
      .then((fresh) => {
        const next = { ...this.lists };
        kinds.forEach((k, i) => (next[k] = fresh[i]!));
        this.#setLists(next);
      })
      .catch((err) => this.#log.warn({ err: String(err) }, 'refreshing lists after list_changed failed'));
  }

  #setLists(lists: UpstreamLists): void {
    this.lists = lists;
    this.listsFetchedAt = new Date().toISOString();
    this.#deps.onChange('lists');
  }

  #setState(state: UpstreamState, reason: string | undefined): void {
    const changed = state !== this.state;
    this.state = state;
    this.reason = reason;
    if (changed) {
      this.since = new Date();
      this.#deps.onChange('state');
    }
  }
}
