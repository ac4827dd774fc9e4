import { RELAY_CLIENT_CAPABILITIES } from '../relay/ask-agent.ts';
import type { Logger } from 'pino';
import type { CompiledUpstream } from '../config/snapshot.ts';
import { gatewayError, GatewayFault } from '../errors/codes.ts';
import type { JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../protocol/jsonrpc.ts';
import type { Store } from '../store/store.ts';
import { backoffDelay } from './backoff.ts';
import { connectUpstream } from './connect.ts';
import { EMPTY_LISTS, fetchAllLists, fetchList, listKindOf, type UpstreamLists } from './lists.ts';
import type { CallOptions, UpstreamSession } from './session.ts';

export type UpstreamState = 'connecting' | 'ready' | 'unhealthy' | 'stopped';

export interface HandleDeps {
  readonly log: Logger;
  readonly store: Store;
  readonly clientInfo: { name: string; version: string };
  /** Lists or health changed: the catalog must be rebuilt. */
  readonly onChange: () => void;
  /** Notifications that are not about lists (resource updates, logs): relayed by the caller. */
  readonly onNotification: (upstream: string, n: JsonRpcNotification) => void;
  readonly onServerRequest: (upstream: string, req: JsonRpcRequest) => Promise<JsonRpcResponse>;
}

/**
 * One upstream's living state: its session, last known lists, health, and the background loop
 * that reconnects it with backoff. Lives outside snapshots, keyed by the upstream's identity.
 */
export class UpstreamHandle {
  readonly name: string;
  readonly identity: string;
  spec: CompiledUpstream;
  state: UpstreamState = 'connecting';
  reason: string | undefined = 'starting';
  since = new Date();
  session: UpstreamSession | undefined;
  lists: UpstreamLists = EMPTY_LISTS;
  listsFetchedAt: string | undefined;
  failures = 0;
  connects = 0;
  readonly #deps: HandleDeps;
  readonly #log: Logger;
  #retryTimer: NodeJS.Timeout | undefined;
  #healthTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Aborted by stop(): gives up a connection attempt in progress. */
  readonly #stop = new AbortController();
  /** The connection attempt in progress, and its session once the handshake is done but lists are pending. */
  #attempt: Promise<void> | undefined;
  #pending: UpstreamSession | undefined;

  constructor(spec: CompiledUpstream, deps: HandleDeps) {
    this.spec = spec;
    this.name = spec.name;
    this.identity = spec.identity;
    this.#deps = deps;
    this.#log = deps.log.child({ upstream: spec.name });
  }

  /** Loads remembered lists (names stay stable while down), then connects in the background. */
  async start(): Promise<void> {
    const stored = await this.#deps.store.getUpstreamCatalog(this.name).catch(() => undefined);
    if (stored !== undefined && stored.identity === this.identity) {
      this.lists = stored as unknown as UpstreamLists;
      this.listsFetchedAt = stored.fetchedAt;
    }
    this.#beginConnect();
  }

  #beginConnect(): void {
    const attempt = this.#connect();
    this.#attempt = attempt;
    void attempt.finally(() => {
      if (this.#attempt === attempt) this.#attempt = undefined;
    });
  }

  /** A call through this upstream's live session; fails fast when it has none. */
  request(method: string, params: Record<string, unknown> | undefined, opts: CallOptions): Promise<JsonRpcResponse> {
    const s = this.session;
    if (this.state !== 'ready' || s === undefined) {
      return Promise.reject(new GatewayFault(gatewayError('upstream_unavailable', `upstream "${this.name}" is unavailable: ${this.reason ?? this.state}`, { upstream: this.name })));
    }
    return s.request(method, params, opts);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#healthTimer);
    this.#setState('stopped', 'stopped');
    // An attempt in progress owns a process or connection too: give it up and wait until it has
    // cleaned up, so that "stopped" means nothing of this upstream is left running.
    this.#stop.abort(new GatewayFault(gatewayError('upstream_unavailable', `upstream "${this.name}" was stopped while connecting`, { upstream: this.name })));
    const pending = this.#pending;
    this.#pending = undefined;
    const s = this.session;
    this.session = undefined;
    await Promise.all([
      s?.close().catch((err) => this.#log.warn({ err }, 'close failed')),
      pending?.close().catch((err) => this.#log.warn({ err }, 'close failed')),
      this.#attempt,
    ]);
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
        configDir: this.spec.dir,
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
      this.session = session;
      this.failures = 0;
      this.#setLists(lists);
      this.#setState('ready', undefined);
      this.#log.info({ era: session.era, protocolVersion: session.protocolVersion, tools: lists.tools.length, prompts: lists.prompts.length, resources: lists.resources.length }, 'upstream ready');
      this.#startHealthChecks();
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
    this.session = undefined;
    clearInterval(this.#healthTimer);
    if (this.#stopped) return;
    this.#setState('unhealthy', reason);
    const { initialDelayMs, maxDelayMs } = this.spec.config.restart;
    const delay = backoffDelay(this.failures++, initialDelayMs, maxDelayMs);
    this.#retryTimer = setTimeout(() => this.#beginConnect(), delay);
    this.#retryTimer.unref();
  }

  #onClose(session: UpstreamSession | undefined, reason: Error | undefined): void {
    if (this.#stopped || session === undefined || this.session !== session) return;
    const why = reason?.message ?? 'connection closed';
    this.#log.warn({ reason: why }, 'upstream session closed');
    this.#failed(why);
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
        this.#deps.onChange();
      })
      .catch((err) => this.#log.warn({ err: String(err) }, 'refreshing lists after list_changed failed'));
  }

  #setLists(lists: UpstreamLists): void {
    this.lists = lists;
    this.listsFetchedAt = new Date().toISOString();
    void this.#deps.store
      .putUpstreamCatalog(this.name, { identity: this.identity, fetchedAt: this.listsFetchedAt, ...lists })
      .catch((err) => this.#log.warn({ err: String(err) }, 'could not remember upstream lists'));
  }

  #startHealthChecks(): void {
    const every = this.spec.config.healthIntervalMs;
    if (every === 0) return;
    clearInterval(this.#healthTimer);
    // Pings reuse the live session: a health check never opens a new upstream session.
    this.#healthTimer = setInterval(() => {
      const s = this.session;
      if (s === undefined) return;
      s.request('ping', undefined, { timeoutMs: Math.min(every, 10_000) }).then(
        () => undefined,
        (err: unknown) => {
          if (this.session !== s) return;
          this.#log.warn({ err: String(err) }, 'health check failed');
          this.session = undefined;
          void s.close().catch(() => undefined);
          this.#failed(`health check failed: ${err instanceof Error ? err.message : String(err)}`);
        },
      );
    }, every);
    this.#healthTimer.unref();
  }

  #setState(state: UpstreamState, reason: string | undefined): void {
    const changed = state !== this.state;
    this.state = state;
    this.reason = reason;
    if (changed) {
      this.since = new Date();
      this.#deps.onChange();
    }
  }
}
