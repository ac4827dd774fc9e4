import type { Logger } from 'pino';
import { routeResource, type Catalog } from '../catalog/catalog.ts';
import type { Snapshot } from '../config/snapshot.ts';
import { GatewayFault, gatewayError, type GatewayError } from '../errors/codes.ts';
import type { JsonRpcNotification } from '../protocol/jsonrpc.ts';
import { backoffDelay } from '../upstream/backoff.ts';
import type { UpstreamRegistry } from '../upstream/registry.ts';
import type { Router } from '../upstream/router.ts';
import type { UpstreamSession } from '../upstream/session.ts';
import { listChangedMethods } from '../edge/catalog-changes.ts';

/** Someone who wants `notifications/resources/updated` for some URIs (a 2025 session or a 2026 listen stream). */
export interface ResourceListener {
  readonly uris: Set<string>;
  /** Delivers the notification; returns false when the listener's channel is gone. */
  updated(uri: string): void;
}

/** A 2026-07-28 `subscriptions/listen` stream and the list changes it asked for. */
export interface ListListener {
  readonly tools: boolean;
  readonly prompts: boolean;
  readonly resources: boolean;
  send(n: JsonRpcNotification): void;
  /** The gateway ends the subscription (shutdown): answer the listen request gracefully. */
  end(): void;
}

const ACK_TIMEOUT_MS = 10_000;
/** Backoff of subscribing again after a subscription was lost and re-making it failed or was lost again. */
const RELISTEN_INITIAL_MS = 500;
const RELISTEN_MAX_MS = 30_000;

interface UpstreamSub {
  readonly upstream: string;
  readonly uri: string;
  listeners: number;
  /**
   * 2025-era upstreams: the session holding the `resources/subscribe` (of the replica it was made on).
   * When the upstream's holder for the URI is another session (a reconnect, or that replica is gone), the
   * subscription went with the old one and is made again.
   */
  holder: UpstreamSession | undefined;
  /** For modern upstreams: the long-lived `subscriptions/listen` call, aborted to unsubscribe. */
  listen: AbortController | undefined;
  /** The listen stream ended without being asked to (its replica went away): it must be made again. */
  lost: boolean;
  /** A (re-)subscription is under way: catalog changes meanwhile do not start another. */
  busy: boolean;
  /** Attempts since the last one a catalog change started: the backoff of retries. */
  retries: number;
  retryTimer: NodeJS.Timeout | undefined;
}

/**
 * Resource subscriptions and list-change fan-out. Agents subscribe to URIs; the gateway holds one
 * subscription per (upstream, URI) however many agents want it, re-made when the replica holding it
 * reconnects or goes away, and released with the last agent. Upstream updates reach exactly the agents
 * that subscribed.
 */
export class SubscriptionHub {
  readonly #resourceListeners = new Set<ResourceListener>();
  readonly #listListeners = new Set<ListListener>();
  readonly #subs = new Map<string, UpstreamSub>();
  readonly #registry: UpstreamRegistry;
  readonly #router: Router;
  readonly #log: Logger;
  readonly #snapshot: () => Snapshot;

  constructor(registry: UpstreamRegistry, router: Router, log: Logger, snapshot: () => Snapshot) {
    this.#registry = registry;
    this.#router = router;
    this.#log = log;
    this.#snapshot = snapshot;
    registry.onCatalogChange((next, prev) => this.#onCatalog(next, prev));
  }

  /** Adds `uri` to a listener, subscribing upstream on first interest. Rejects when the upstream can't. */
  async subscribe(l: ResourceListener, uri: string): Promise<GatewayError | undefined> {
    if (l.uris.has(uri)) return undefined;
    const upstream = routeResource(this.#registry.catalog, uri);
    if (upstream === undefined) return gatewayError('unknown_resource', `Resource ${uri} not found`, { uri });
    const key = `${upstream}\u0000${uri}`;
    let sub = this.#subs.get(key);
    if (sub === undefined) {
      const h = this.#registry.get(upstream);
      const caps = h?.session?.capabilities.resources as { subscribe?: boolean } | undefined;
      if (caps?.subscribe !== true) return gatewayError('invalid_params', `Resource ${uri} does not support subscriptions (upstream "${upstream}" offers none)`, { uri, upstream });
      sub = { upstream, uri, listeners: 0, holder: undefined, listen: undefined, lost: false, busy: false, retries: 0, retryTimer: undefined };
      this.#subs.set(key, sub);
      try {
        await this.#subscribeUpstream(sub);
      } catch (err) {
        this.#subs.delete(key);
        this.#release(sub);
        return err instanceof GatewayFault ? err.error : gatewayError('upstream_failed', `subscribing to ${uri} failed: ${(err as Error).message}`, { upstream });
      }
    }
    sub.listeners++;
    l.uris.add(uri);
    this.#resourceListeners.add(l);
    return undefined;
  }

  unsubscribe(l: ResourceListener, uri: string): void {
    if (!l.uris.delete(uri)) return;
    if (l.uris.size === 0) this.#resourceListeners.delete(l);
    for (const [key, sub] of this.#subs) {
      if (sub.uri !== uri || --sub.listeners > 0) continue;
      this.#subs.delete(key);
      this.#unsubscribeUpstream(sub);
    }
  }

  /** A session or stream ended: everything it held is released. */
  drop(l: ResourceListener): void {
    for (const uri of [...l.uris]) this.unsubscribe(l, uri);
    this.#resourceListeners.delete(l);
  }

  addListListener(l: ListListener): () => void {
    this.#listListeners.add(l);
    return () => this.#listListeners.delete(l);
  }

  /** An upstream said a resource changed (on its session, or on a modern listen stream). */
  upstreamUpdated(upstream: string, uri: string): void {
    if (!this.#subs.has(`${upstream}\u0000${uri}`)) return;
    for (const l of this.#resourceListeners) {
      if (!l.uris.has(uri)) continue;
      try {
        l.updated(uri);
      } catch (err) {
        this.#log.warn({ err, uri }, 'delivering a resource update failed');
      }
    }
  }

  /** Shutdown: every listen stream is answered and every upstream subscription let go. */
  closeAll(): void {
    for (const l of [...this.#listListeners]) l.end();
    this.#listListeners.clear();
    for (const sub of this.#subs.values()) this.#release(sub);
    this.#subs.clear();
    this.#resourceListeners.clear();
  }

  async #subscribeUpstream(sub: UpstreamSub): Promise<void> {
    sub.busy = true;
    sub.lost = false;
    try {
      await this.#subscribeOnce(sub);
    } finally {
      sub.busy = false;
    }
  }

  async #subscribeOnce(sub: UpstreamSub): Promise<void> {
    const pool = this.#registry.get(sub.upstream);
    if (pool?.session?.era === 'modern') {
      // 2026-07-28 upstreams have no resources/subscribe: one listen stream per URI, open until released.
      sub.holder = undefined;
      const ctl = new AbortController();
      sub.listen = ctl;
      const { promise: acked, resolve, reject } = Promise.withResolvers<void>();
      let ok = false;
      const call = this.#router.call(this.#snapshot(), sub.upstream, 'subscriptions/listen', { notifications: { resourceSubscriptions: [sub.uri] } }, {
        signal: ctl.signal,
        timeoutMs: 0,
        onNotification: (n) => {
          if (n.method === 'notifications/subscriptions/acknowledged') {
            ok = true;
            resolve();
          } else if (n.method === 'notifications/resources/updated' && typeof n.params?.uri === 'string') this.upstreamUpdated(sub.upstream, n.params.uri);
        },
      });
      const ended = (why: unknown): void => {
        reject(why);
        // After the acknowledgement, an end nobody asked for means the stream's replica went away.
        if (ok && !ctl.signal.aborted && sub.listen === ctl) this.#listenLost(sub, why);
      };
      call.then(
        (res) => ended(new GatewayFault(gatewayError('upstream_failed', 'error' in res ? res.error.message : 'the upstream ended the subscription'))),
        (err: unknown) => ended(err),
      );
      // An upstream that never acknowledges must not hold the agent's subscribe forever.
      const timer = setTimeout(() => {
        ctl.abort();
        reject(new GatewayFault(gatewayError('upstream_timeout', `upstream "${sub.upstream}" did not acknowledge the subscription to ${sub.uri}`, { upstream: sub.upstream })));
      }, ACK_TIMEOUT_MS);
      try {
        await acked;
      } catch (err) {
        ctl.abort();
        if (sub.listen === ctl) sub.listen = undefined;
        throw err;
      } finally {
        clearTimeout(timer);
      }
      return;
    }
    sub.listen = undefined;
    const res = await this.#router.call(this.#snapshot(), sub.upstream, 'resources/subscribe', { uri: sub.uri }, {});
    if ('error' in res) throw new GatewayFault(gatewayError('upstream_failed', `upstream "${sub.upstream}" refused the subscription: ${res.error.message}`, { upstream: sub.upstream }));
    sub.holder = this.#registry.get(sub.upstream)?.holderOf(sub.uri);
  }

  /** A listen stream ended on its own (its replica went away): subscribe again. */
  #listenLost(sub: UpstreamSub, why: unknown): void {
    sub.listen = undefined;
    this.#log.info({ upstream: sub.upstream, uri: sub.uri, err: why instanceof GatewayFault ? why.error.message : String(why) }, 'resource subscription stream ended; subscribing again');
    this.#retryLater(sub);
  }

  /** Marks the subscription lost and tries again after a backoff (an upstream may keep failing it). */
  #retryLater(sub: UpstreamSub): void {
    sub.lost = true;
    clearTimeout(sub.retryTimer);
    sub.retryTimer = setTimeout(() => {
      sub.retryTimer = undefined;
      if (this.#subs.get(`${sub.upstream}\u0000${sub.uri}`) !== sub || !sub.lost || sub.busy) return;
      // Not ready now: the catalog change that comes with its recovery subscribes again.
      if (this.#registry.get(sub.upstream)?.state !== 'ready') return;
      this.#resubscribe(sub);
    }, backoffDelay(sub.retries++, RELISTEN_INITIAL_MS, RELISTEN_MAX_MS));
    sub.retryTimer.unref();
  }

  #resubscribe(sub: UpstreamSub): void {
    this.#subscribeUpstream(sub).catch((err: unknown) => {
      this.#log.warn({ err, upstream: sub.upstream, uri: sub.uri }, 're-subscribing failed');
      if (this.#subs.get(`${sub.upstream}\u0000${sub.uri}`) === sub) this.#retryLater(sub);
    });
  }

  /** Lets go of the upstream side without asking the upstream (shutdown, or a subscribe that failed). */
  #release(sub: UpstreamSub): void {
    clearTimeout(sub.retryTimer);
    sub.retryTimer = undefined;
    const ctl = sub.listen;
    sub.listen = undefined;
    ctl?.abort();
  }

  #unsubscribeUpstream(sub: UpstreamSub): void {
    clearTimeout(sub.retryTimer);
    sub.retryTimer = undefined;
    if (sub.listen !== undefined) {
      const ctl = sub.listen;
      sub.listen = undefined;
      ctl.abort();
      return;
    }
    if (sub.holder === undefined) return; // the session that held it is gone, and the subscription with it
    this.#router.call(this.#snapshot(), sub.upstream, 'resources/unsubscribe', { uri: sub.uri }, {}).catch((err: unknown) => {
      this.#log.debug({ err, upstream: sub.upstream, uri: sub.uri }, 'unsubscribe failed (the upstream session may be gone)');
    });
  }

  #onCatalog(next: Catalog, prev: Catalog): void {
    // A replica that reconnected or went away lost the subscriptions it held: make them again.
    for (const sub of this.#subs.values()) {
      if (sub.busy) continue;
      const pool = this.#registry.get(sub.upstream);
      if (pool === undefined || pool.state !== 'ready') continue;
      const gone = sub.listen === undefined && (sub.lost || sub.holder === undefined || pool.holderOf(sub.uri) !== sub.holder);
      if (!gone) continue;
      sub.retries = 0;
      this.#resubscribe(sub);
    }
    if (this.#listListeners.size === 0) return;
    for (const method of listChangedMethods(next, prev)) {
      const kind = method === 'notifications/tools/list_changed' ? 'tools' : method === 'notifications/prompts/list_changed' ? 'prompts' : 'resources';
      for (const l of this.#listListeners) if (l[kind]) l.send({ jsonrpc: '2.0', method });
    }
  }
}
