// What `/readyz` reports: each check the gateway needs to take traffic, read from state the gateway
// already keeps (upstream pool states, the audit trail's refusal, the drain flag). The store ping is
// the only I/O, and it is shared and cached so that a storm of probes never reaches the store.
import type { ReloadStatus } from '../config/snapshot-store.ts';
import type { GatewayError } from '../errors/codes.ts';
import type { Store } from '../store/store.ts';
import type { UpstreamState } from '../upstream/handle.ts';

/** How long a store ping's answer is reused. */
const STORE_PING_TTL_MS = 1_000;
/**
 * The longest a probe waits for the store (stores bound their own ping too; this covers one that does
 * not). Probes commonly time out at one second: an answer later than that is no answer to the kubelet.
 */
const STORE_PING_TIMEOUT_MS = 1_000;

/** The slice of the Gateway readiness reads; structural, so unit tests can hand in fakes. */
export interface ReadinessSource {
  readonly snapshots: { readonly current: unknown; readonly generation: number; readonly lastReload: ReloadStatus };
  readonly store: Pick<Store, 'ping'>;
  readonly audit: { refusal(): GatewayError | undefined } | undefined;
  readonly registry: { handles(): readonly UpstreamView[] };
  readonly draining: boolean;
  /** Shutting down but still serving (drainDelaySeconds): not ready, so traffic moves elsewhere first. */
  readonly leaving: boolean;
}

export interface UpstreamView {
  readonly name: string;
  readonly spec: { readonly config: { readonly required: boolean } };
  readonly state: UpstreamState;
  readonly reason: string | undefined;
}

export interface StoreCheck {
  readonly ok: boolean;
  readonly error?: string;
}

export interface Readiness {
  readonly ready: boolean;
  readonly checks: {
    readonly config: { readonly ok: boolean; readonly generation: number; readonly lastReload: { ok: boolean; at: string; generation: number; error?: string } };
    readonly store: StoreCheck;
    readonly audit: { readonly ok: boolean; readonly enabled: boolean; readonly error?: string };
    readonly upstreams: {
      readonly ok: boolean;
      readonly required: readonly { name: string; state: UpstreamState; reason?: string }[];
      readonly optional: { readonly total: number; readonly ready: number };
    };
    readonly draining: { readonly ok: boolean };
  };
}

export interface ReadinessView {
  /**
   * Whether free-text reasons (upstream failures, store and reload errors) are included. They can name
   * internal hosts, paths and process output, so only the private admin listener shows them.
   */
  readonly detail: boolean;
}

/**
 * Ready when: a snapshot is in force, the store answers, the audit trail accepts records, every
 * `required` upstream is ready, and the gateway is not draining. Optional upstreams never count: a
 * gateway that serves the rest of its catalog is worth routing to. A failed reload does not count
 * either: the previous snapshot keeps serving, and the report says so.
 */
export async function readiness(src: ReadinessSource, view: ReadinessView): Promise<Readiness> {
  const store = await storePinger(src.store).check();
  // Everything else is read after the one await, so the answer reflects the moment it is sent.
  const reload = src.snapshots.lastReload;
  const config = {
    ok: src.snapshots.current !== undefined,
    generation: src.snapshots.generation,
    lastReload: { ok: reload.ok, at: reload.at.toISOString(), generation: reload.generation, ...(view.detail && reload.error !== undefined ? { error: reload.error } : {}) },
  };
  const refusal = src.audit?.refusal();
  const audit = { ok: refusal === undefined, enabled: src.audit !== undefined, ...(view.detail && refusal !== undefined ? { error: refusal.message } : {}) };
  const required: { name: string; state: UpstreamState; reason?: string }[] = [];
  let total = 0;
  let ready = 0;
  for (const p of src.registry.handles()) {
    const state = p.state;
    if (p.spec.config.required) {
      required.push({ name: p.name, state, ...(view.detail && p.reason !== undefined ? { reason: p.reason } : {}) });
      continue;
    }
    total++;
    if (state === 'ready') ready++;
  }
  required.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const upstreams = { ok: required.every((u) => u.state === 'ready'), required, optional: { total, ready } };
  const draining = { ok: !src.draining && !src.leaving };
  const storeCheck = view.detail || store.ok ? store : { ok: false };
  return {
    ready: config.ok && store.ok && audit.ok && upstreams.ok && draining.ok,
    checks: { config, store: storeCheck, audit, upstreams, draining },
  };
}

export interface StorePingerOptions {
  readonly ttlMs?: number;
  readonly timeoutMs?: number;
  /** Milliseconds, monotonic; injectable for tests. */
  readonly now?: () => number;
}

/**
 * One store ping at a time, its answer reused for `ttlMs` after it arrives: probes that come while a
 * ping is under way share it, so the store sees at most one ping in flight and about one per second.
 */
export class StorePinger {
  readonly #store: Pick<Store, 'ping'>;
  readonly #ttlMs: number;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  #last: { readonly at: number; readonly result: StoreCheck } | undefined;
  #inflight: Promise<StoreCheck> | undefined;

  constructor(store: Pick<Store, 'ping'>, opts: StorePingerOptions = {}) {
    this.#store = store;
    this.#ttlMs = opts.ttlMs ?? STORE_PING_TTL_MS;
    this.#timeoutMs = opts.timeoutMs ?? STORE_PING_TIMEOUT_MS;
    this.#now = opts.now ?? (() => performance.now());
  }

  check(): Promise<StoreCheck> {
    const last = this.#last;
    if (last !== undefined && this.#now() - last.at < this.#ttlMs) return Promise.resolve(last.result);
    return (this.#inflight ??= this.#ping());
  }

  async #ping(): Promise<StoreCheck> {
    let timer: NodeJS.Timeout | undefined;
    let result: StoreCheck;
    try {
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the store did not answer a ping within ${this.#timeoutMs} ms`)), this.#timeoutMs);
        // A probe must never be what keeps a stopping process alive.
        timer.unref();
      });
      // A store whose ping throws instead of rejecting is still a failed check, not a crashed probe.
      await Promise.race([Promise.resolve().then(() => this.#store.ping()), late]);
      result = { ok: true };
    } catch (err) {
      result = { ok: false, error: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
    }
    this.#last = { at: this.#now(), result };
    this.#inflight = undefined;
    return result;
  }
}

// Keyed by store: the data plane and the admin listener share one pinger, and a store that goes away
// takes its pinger with it.
const pingers = new WeakMap<object, StorePinger>();

/** The shared pinger of a store. */
export function storePinger(store: Pick<Store, 'ping'>): StorePinger {
  let p = pingers.get(store);
  if (p === undefined) {
    p = new StorePinger(store);
    pingers.set(store, p);
  }
  return p;
}
