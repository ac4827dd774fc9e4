import type { Logger } from 'pino';
import type { CompiledUpstream } from '../config/snapshot.ts';
import { gatewayError, GatewayFault } from '../errors/codes.ts';
import type { JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../protocol/jsonrpc.ts';
import type { Era } from '../protocol/mcp.ts';
import { parseCreateTaskResult } from '../relay/tasks.ts';
import type { Store } from '../store/store.ts';
import { ReplicaAffinity } from './affinity.ts';
import { leastOutstanding } from './balance.ts';
import { UpstreamHandle, type ReplicaSpec, type UpstreamState } from './handle.ts';
import type { UpstreamTarget } from './interceptors/interceptor.ts';
import { EMPTY_LISTS, type UpstreamLists } from './lists.ts';
import { replicaSpecs } from './replica-specs.ts';
import { NotSentFault, type CallOptions, type UpstreamSession } from './session.ts';

export interface PoolDeps {
  readonly log: Logger;
  readonly store: Store;
  readonly clientInfo: { name: string; version: string };
  /** Health or lists changed: the catalog must be rebuilt. */
  readonly onChange: () => void;
  readonly onNotification: (upstream: string, n: JsonRpcNotification) => void;
  readonly onServerRequest: (upstream: string, req: JsonRpcRequest) => Promise<JsonRpcResponse>;
}

/** One replica as the status output shows it. */
export interface ReplicaStatus {
  readonly name: string;
  readonly state: UpstreamState;
  readonly reason: string | undefined;
  readonly since: string;
  readonly era: Era | undefined;
  readonly protocolVersion: string | undefined;
  /** The process serving a stdio replica. */
  readonly pid: number | undefined;
  readonly outstanding: number;
  readonly calls: number;
  readonly connects: number;
}

/**
 * One logical upstream: its replicas behind one name. Calls go to the ready replica with the fewest
 * outstanding calls (ties in turn), so a replica that is down, or slow and piling up work, gets fewer;
 * a replica whose call just failed in transport is avoided for a moment, so a retry lands elsewhere.
 * State that lives in one replica is pinned to it:
 *
 * - tasks: `tasks/get|result|cancel|update` go to the replica whose result created the task;
 * - 2025-era `resources/subscribe`: `resources/unsubscribe` goes to the replica that holds it, and
 *   `holderOf(uri)` tells the subscription hub when that session is gone (then it subscribes again).
 *
 * Not pinned: 2026-07-28 `requestState` round trips (that revision makes them stateless by design: any
 * replica may continue them) and `subscriptions/listen` streams (they live in their call, and end with
 * the replica's session). A lone replica is a straight pass-through: no balancing cost.
 */
export class UpstreamPool implements UpstreamTarget {
  readonly name: string;
  spec: CompiledUpstream;
  #replicas: UpstreamHandle[] = [];
  /** Set when there is exactly one replica: the hot path skips balancing. */
  #single: UpstreamHandle | undefined;
  #cursor = 0;
  /** The replica whose lists arrived last: a list_changed from any replica refreshes the pool's lists. */
  #listsFrom: UpstreamHandle | undefined;
  /** Lists remembered from an earlier run, so names stay stable while no replica has listed yet. */
  #remembered: UpstreamLists | undefined;
  #persisted: string | undefined;
  readonly #affinity = new ReplicaAffinity<UpstreamHandle>();
  readonly #deps: PoolDeps;
  #stopped = false;

  constructor(spec: CompiledUpstream, deps: PoolDeps) {
    this.spec = spec;
    this.name = spec.name;
    this.#deps = deps;
  }

  /** The upstream's connection identity (replicas have their own, derived from it). */
  get identity(): string {
    return this.spec.identity;
  }

  get replicas(): readonly UpstreamHandle[] {
    return this.#replicas;
  }

  /** Loads remembered lists, then starts every replica (they connect in the background). */
  async start(): Promise<void> {
    const stored = await this.#deps.store.getUpstreamCatalog(this.name).catch(() => undefined);
    if (stored !== undefined && stored.identity === this.spec.identity) this.#remembered = stored as unknown as UpstreamLists;
    await this.apply(this.spec);
  }

  /**
   * Same upstream identity, new settings: replicas whose identity is gone stop, new ones start, the rest
   * keep running with the new settings (timeouts, health interval).
   */
  async apply(spec: CompiledUpstream): Promise<void> {
    if (this.#stopped) return;
    this.spec = spec;
    const wanted = replicaSpecs(spec);
    const current = new Map(this.#replicas.map((h) => [h.identity, h]));
    const used = new Set<number>();
    for (const w of wanted) {
      const h = current.get(w.identity);
      if (h !== undefined) used.add(h.ordinal);
    }
    const next: UpstreamHandle[] = [];
    const starting: UpstreamHandle[] = [];
    wanted.forEach((w, i) => {
      let h = current.get(w.identity);
      if (h !== undefined) {
        current.delete(w.identity);
        h.spec = w;
      } else {
        const ordinal = freeOrdinal(used, i + 1);
        used.add(ordinal);
        h = this.#newReplica(w, ordinal, wanted.length);
        starting.push(h);
      }
      next.push(h);
    });
    this.#replicas = next;
    this.#single = next.length === 1 ? next[0] : undefined;
    if (this.#single !== undefined) this.#affinity.clearSubscriptions(); // a lone replica holds them all
    for (const h of next) h.label = next.length === 1 ? this.name : `${this.name}#${h.ordinal}`;
    // What is gone stops before anything new starts: a launched server may need its port back.
    await Promise.all(
      [...current.values()].map((h) => {
        this.#affinity.forget(h);
        if (this.#listsFrom === h) this.#listsFrom = undefined;
        return h.stop();
      }),
    );
    if (this.#stopped) return;
    for (const h of starting) h.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#replicas.map((h) => h.stop()));
  }

  /** Ready while any replica is; connecting until each has had its first attempt; else unhealthy. */
  get state(): UpstreamState {
    const one = this.#single;
    if (one !== undefined) return one.state;
    let firstAttempt = false;
    let stopped = 0;
    for (const r of this.#replicas) {
      if (r.state === 'ready') return 'ready';
      if (r.state === 'stopped') stopped++;
      else if (!r.attempted) firstAttempt = true;
    }
    if (firstAttempt) return 'connecting';
    return stopped === this.#replicas.length ? 'stopped' : 'unhealthy';
  }

  /** Why the upstream is not ready (undefined while it is). */
  get reason(): string | undefined {
    const one = this.#single;
    if (one !== undefined) return one.reason;
    if (this.state === 'ready') return undefined;
    return this.#whyNoneReady();
  }

  /** A ready replica's session (the first one): era, capabilities and instructions of the upstream. */
  get session(): UpstreamSession | undefined {
    const one = this.#single;
    if (one !== undefined) return one.session;
    for (const r of this.#replicas) if (r.state === 'ready') return r.session;
    return undefined;
  }

  /** The lists of the replica that listed last while ready; they serve the same server. */
  get lists(): UpstreamLists {
    const one = this.#single;
    if (one !== undefined) return one.listsFetchedAt !== undefined ? one.lists : (this.#remembered ?? EMPTY_LISTS);
    const from = this.#listsFrom;
    if (from !== undefined && from.state === 'ready') return from.lists;
    for (const r of this.#replicas) if (r.state === 'ready' && r.listsFetchedAt !== undefined) return r.lists;
    return from?.lists ?? this.#remembered ?? EMPTY_LISTS;
  }

  request(method: string, params: Record<string, unknown> | undefined, opts: CallOptions): Promise<JsonRpcResponse> {
    const one = this.#single;
    if (one !== undefined) return one.request(method, params, opts);
    const r = this.#route(method, params, opts.avoid);
    if (r instanceof GatewayFault) return Promise.reject(r);
    // Where this attempt went: a retry adds it to `avoid`.
    opts.replica = r.label;
    return r.request(method, params, opts);
  }

  /**
   * The session that holds the 2025-era subscription to `uri` while it is live; undefined when that
   * replica's session is gone (the subscription went with it). A reconnect yields a different session.
   */
  holderOf(uri: string): UpstreamSession | undefined {
    const one = this.#single;
    if (one !== undefined) return one.session;
    return (this.#affinity.subscription(uri) ?? this.#replicas[0])?.session;
  }

  /** The replica a task was created on, while it is remembered. */
  taskReplica(taskId: string): UpstreamHandle | undefined {
    return this.#affinity.task(taskId);
  }

  status(): ReplicaStatus[] {
    return this.#replicas.map((r) => {
      const s = r.session;
      const pid = (s as { pid?: unknown } | undefined)?.pid;
      return {
        name: r.label,
        state: r.state,
        reason: r.reason,
        since: r.since.toISOString(),
        era: s?.era,
        protocolVersion: s?.protocolVersion,
        pid: typeof pid === 'number' ? pid : undefined,
        outstanding: r.outstanding,
        calls: r.calls,
        connects: r.connects,
      };
    });
  }

  #route(method: string, params: Record<string, unknown> | undefined, avoid: readonly string[] | undefined): UpstreamHandle | GatewayFault {
    switch (method) {
      case 'tasks/get':
      case 'tasks/result':
      case 'tasks/cancel':
      case 'tasks/update': {
        const id = params?.taskId;
        const pinned = typeof id === 'string' ? this.#affinity.task(id) : undefined;
        // A task whose replica was removed is gone; any replica will say so.
        if (pinned !== undefined && pinned.state !== 'stopped') return pinned.state === 'ready' ? pinned : this.#pinnedDown(pinned, `task ${JSON.stringify(id)}`);
        break;
      }
      case 'resources/subscribe': {
        const r = this.#pick(avoid);
        if (r === undefined) return this.#unavailable();
        if (typeof params?.uri === 'string') this.#affinity.pinSubscription(params.uri, r);
        return r;
      }
      case 'resources/unsubscribe': {
        const uri = params?.uri;
        if (typeof uri !== 'string') break;
        // Unpinned: made while there was one replica, which is the first.
        const holder = this.#affinity.unpinSubscription(uri) ?? this.#replicas[0];
        if (holder !== undefined && holder.state !== 'stopped') return holder.state === 'ready' ? holder : this.#pinnedDown(holder, `the subscription to ${uri}`);
        break;
      }
    }
    return this.#pick(avoid) ?? this.#unavailable();
  }

  #pick(avoid: readonly string[] | undefined): UpstreamHandle | undefined {
    const start = this.#cursor < this.#replicas.length ? this.#cursor : 0;
    this.#cursor = start + 1;
    return leastOutstanding(this.#replicas, start, avoid, performance.now());
  }

  #whyNoneReady(): string {
    const n = this.#replicas.length;
    const each = this.#replicas.map((r) => `${r.label}: ${r.reason ?? r.state}`).join('; ');
    return `all ${n} replicas are unavailable: ${each}`;
  }

  #unavailable(): GatewayFault {
    return new NotSentFault(gatewayError('upstream_unavailable', `upstream "${this.name}" is unavailable: ${this.#whyNoneReady()}`, { upstream: this.name }));
  }

  #pinnedDown(r: UpstreamHandle, what: string): GatewayFault {
    const message = `upstream "${this.name}": ${what} is held by replica ${r.label}, which is unavailable: ${r.reason ?? r.state}`;
    return new NotSentFault(gatewayError('upstream_unavailable', message, { upstream: this.name, replica: r.label }));
  }

  #newReplica(spec: ReplicaSpec, ordinal: number, count: number): UpstreamHandle {
    const log = this.#deps.log.child(count > 1 ? { upstream: this.name, replica: ordinal } : { upstream: this.name });
    const h: UpstreamHandle = new UpstreamHandle(spec, ordinal, {
      log,
      store: this.#deps.store,
      clientInfo: this.#deps.clientInfo,
      onChange: (what) => this.#replicaChanged(h, what),
      onNotification: this.#deps.onNotification,
      onServerRequest: this.#deps.onServerRequest,
      onTaskResult: (result) => {
        const t = parseCreateTaskResult(result);
        if (t !== undefined) this.#affinity.pinTask(t.taskId, h, t.ttlMs);
      },
    });
    return h;
  }

  #replicaChanged(h: UpstreamHandle, what: 'state' | 'lists'): void {
    if (what === 'lists') {
      this.#listsFrom = h;
      this.#remember(h);
    }
    this.#deps.onChange();
  }

  /** Remembers the lists for the next start; replicas listing the same lists write them once. */
  #remember(h: UpstreamHandle): void {
    const json = JSON.stringify(h.lists);
    if (json === this.#persisted) return;
    this.#persisted = json;
    void this.#deps.store
      .putUpstreamCatalog(this.name, { identity: this.spec.identity, fetchedAt: h.listsFetchedAt ?? new Date().toISOString(), ...h.lists })
      .catch((err: unknown) => this.#deps.log.warn({ upstream: this.name, err: String(err) }, 'could not remember upstream lists'));
  }
}

/** `preferred` when no running replica uses it, else the smallest free ordinal. */
function freeOrdinal(used: ReadonlySet<number>, preferred: number): number {
  if (!used.has(preferred)) return preferred;
  let n = 1;
  while (used.has(n)) n++;
  return n;
}
