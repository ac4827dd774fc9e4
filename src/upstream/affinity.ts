// What a later call must find again on the replica that made it: a task lives in the memory of the
// replica that created it, and a 2025-era resource subscription in the session that made it.

/** Bound on remembered tasks (the task table's own default bound: a pin outliving its task costs memory only). */
const MAX_TASK_PINS = 10_000;
/** Longest a task is remembered, whatever its ttl (the task table's own cap). */
const MAX_TASK_TTL_MS = 24 * 3600_000;
/** Kept past the task's ttl: the upstream decides when it is really gone. */
const TASK_GRACE_MS = 10_000;
const SWEEP_EVERY_MS = 30_000;

interface TaskPin<R> {
  readonly replica: R;
  readonly expires: number;
}

export class ReplicaAffinity<R> {
  /** taskId → replica, oldest first (evicted first). */
  readonly #tasks = new Map<string, TaskPin<R>>();
  /** URI → replica holding its `resources/subscribe`. */
  readonly #subscriptions = new Map<string, R>();
  readonly #now: () => number;
  #nextSweep = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  pinTask(taskId: string, replica: R, ttlMs: number | null | undefined): void {
    const now = this.#now();
    if (now >= this.#nextSweep) this.#sweep(now);
    const ttl = typeof ttlMs === 'number' && Number.isFinite(ttlMs) && ttlMs >= 0 ? Math.min(ttlMs, MAX_TASK_TTL_MS) : MAX_TASK_TTL_MS;
    // Re-inserted so that it counts as the newest.
    this.#tasks.delete(taskId);
    if (this.#tasks.size >= MAX_TASK_PINS) this.#tasks.delete(this.#tasks.keys().next().value!);
    this.#tasks.set(taskId, { replica, expires: now + ttl + TASK_GRACE_MS });
  }

  /** The replica that created the task, while it may still know it. */
  task(taskId: string): R | undefined {
    const pin = this.#tasks.get(taskId);
    if (pin === undefined) return undefined;
    if (pin.expires <= this.#now()) {
      this.#tasks.delete(taskId);
      return undefined;
    }
    return pin.replica;
  }

  pinSubscription(uri: string, replica: R): void {
    this.#subscriptions.set(uri, replica);
  }

  subscription(uri: string): R | undefined {
    return this.#subscriptions.get(uri);
  }

  unpinSubscription(uri: string): R | undefined {
    const r = this.#subscriptions.get(uri);
    this.#subscriptions.delete(uri);
    return r;
  }

  clearSubscriptions(): void {
    this.#subscriptions.clear();
  }

  /** A replica is gone for good (removed by a reload): what it held is gone with it. */
  forget(replica: R): void {
    for (const [id, pin] of this.#tasks) if (pin.replica === replica) this.#tasks.delete(id);
    for (const [uri, r] of this.#subscriptions) if (r === replica) this.#subscriptions.delete(uri);
  }

  #sweep(now: number): void {
    this.#nextSweep = now + SWEEP_EVERY_MS;
    for (const [id, pin] of this.#tasks) if (pin.expires <= now) this.#tasks.delete(id);
  }
}
