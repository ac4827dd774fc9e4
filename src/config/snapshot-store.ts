export interface ReloadStatus {
  readonly ok: boolean;
  readonly at: Date;
  /** The generation in force after the attempt (unchanged when it failed). */
  readonly generation: number;
  readonly error?: string;
}

export type SnapshotListener<T> = (next: T, prev: T) => void;

/** The pino-compatible slice the store logs through. */
export interface SnapshotStoreLogger {
  error(obj: object, msg: string): void;
}

export interface SnapshotStoreOptions {
  logger?: SnapshotStoreLogger;
  now?: () => Date;
}

interface State<T> {
  readonly value: T;
  readonly generation: number;
}

const consoleLogger: SnapshotStoreLogger = {
  error: (obj, msg) => console.error(msg, obj),
};

/**
 * Holds the snapshot in force. An exchange reads `current` once and keeps that value, so a swap never changes
 * the config under a request in flight. Snapshot and generation live in one object so that a reader can never
 * see one without the other.
 */
export class SnapshotStore<T> {
  #state: State<T>;
  #lastReload: ReloadStatus;
  readonly #listeners = new Set<SnapshotListener<T>>();
  readonly #logger: SnapshotStoreLogger;
  readonly #now: () => Date;
  // Reloads run one after another, so a slow load that started first can never overwrite a newer one.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(initial: T, opts: SnapshotStoreOptions = {}) {
    this.#logger = opts.logger ?? consoleLogger;
    this.#now = opts.now ?? (() => new Date());
    this.#state = { value: initial, generation: 1 };
    this.#lastReload = Object.freeze({ ok: true, at: this.#now(), generation: 1 });
  }

  get current(): T {
    return this.#state.value;
  }

  get generation(): number {
    return this.#state.generation;
  }

  get lastReload(): ReloadStatus {
    return this.#lastReload;
  }

  /** Puts `next` in force, then tells listeners; a listener that fails is logged and cannot undo the swap. */
  swap(next: T): void {
    const prev = this.#state;
    this.#state = { value: next, generation: prev.generation + 1 };
    this.#lastReload = Object.freeze({ ok: true, at: this.#now(), generation: prev.generation + 1 });
    for (const fn of [...this.#listeners]) this.#notify(fn, next, prev.value);
  }

  /** Calls `fn(next, prev)` after every swap; returns the unsubscribe function. */
  subscribe(fn: SnapshotListener<T>): () => void {
    this.#listeners.add(fn);
    return () => {
      this.#listeners.delete(fn);
    };
  }

  /**
   * Builds the next snapshot with `load` and swaps only if that succeeds. On failure the snapshot in force keeps
   * serving and `lastReload` says why.
   */
  reloadFrom(load: () => Promise<T>): Promise<{ ok: true } | { ok: false; error: string }> {
    const run = this.#queue.then(async () => {
      let next: T;
      try {
        next = await load();
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        this.#lastReload = Object.freeze({ ok: false, at: this.#now(), generation: this.#state.generation, error });
        return { ok: false as const, error };
      }
      this.swap(next);
      return { ok: true as const };
    });
    this.#queue = run;
    return run;
  }

  #notify(fn: SnapshotListener<T>, next: T, prev: T): void {
    try {
      const r = fn(next, prev) as unknown;
      // Typed as sync, but an async listener's rejection must not surface as an unhandled rejection.
      if (r && typeof (r as PromiseLike<unknown>).then === 'function') {
        (r as Promise<unknown>).then(undefined, (err: unknown) => this.#logListenerError(err));
      }
    } catch (err) {
      this.#logListenerError(err);
    }
  }

  #logListenerError(err: unknown): void {
    try {
      this.#logger.error({ err }, 'config snapshot listener failed');
    } catch {
      // A broken logger must not break a swap either.
    }
  }
}
