/** How a wait for a slot ended. */
export type SlotOutcome = 'acquired' | 'full' | 'timeout' | 'aborted' | 'closed';

interface Waiter {
  readonly max: number;
  readonly resolve: (o: SlotOutcome) => void;
  readonly signal: AbortSignal | undefined;
  timer: NodeJS.Timeout | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * Calls in flight for one concurrency key on this instance, with a bounded first-come-first-served
 * queue. The limit travels with each call (`max`), so a reload that changes it applies from the next
 * call on, while calls in flight keep their slots. A waiter leaves the queue when its exchange is
 * cancelled or its wait is up; a freed slot goes to the longest waiter whose limit has room.
 */
export class Semaphore {
  active = 0;
  readonly #queue: Waiter[] = [];

  get waiting(): number {
    return this.#queue.length;
  }

  get idle(): boolean {
    return this.active === 0 && this.#queue.length === 0;
  }

  /** Takes a slot at once when there is one and nobody waits ahead (first come, first served). */
  tryAcquire(max: number): boolean {
    if (this.active >= max || this.#queue.length > 0) return false;
    this.active++;
    return true;
  }

  /** Waits for a slot: 'full' at once when `queueSize` calls already wait. */
  acquire(max: number, queueSize: number, maxWaitMs: number, signal: AbortSignal | undefined): Promise<SlotOutcome> {
    if (this.tryAcquire(max)) return Promise.resolve('acquired');
    if (this.#queue.length >= queueSize) return Promise.resolve('full');
    if (signal?.aborted) return Promise.resolve('aborted');
    return new Promise<SlotOutcome>((resolve) => {
      const w: Waiter = { max, resolve, signal, timer: undefined, onAbort: undefined };
      w.timer = setTimeout(() => this.#leave(w, 'timeout'), maxWaitMs);
      if (signal !== undefined) {
        w.onAbort = () => this.#leave(w, 'aborted');
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.#queue.push(w);
    });
  }

  /** Gives a slot back and hands it on. The caller guarantees once per acquired slot (Admission does). */
  release(): void {
    if (this.active > 0) this.active--;
    this.#grant();
  }

  /** Ends every wait (the gateway is closing). */
  close(): void {
    for (const w of this.#queue.splice(0)) this.#settle(w, 'closed');
  }

  #grant(): void {
    // The head waits for a slot under its own limit; anyone behind it waits its turn.
    while (this.#queue.length > 0 && this.active < this.#queue[0]!.max) {
      const w = this.#queue.shift()!;
      this.active++;
      this.#settle(w, 'acquired');
    }
  }

  #leave(w: Waiter, outcome: SlotOutcome): void {
    const i = this.#queue.indexOf(w);
    if (i < 0) return;
    this.#queue.splice(i, 1);
    this.#settle(w, outcome);
    // The head may have left: whoever is next may fit now.
    if (i === 0) this.#grant();
  }

  #settle(w: Waiter, outcome: SlotOutcome): void {
    clearTimeout(w.timer);
    if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort);
    w.resolve(outcome);
  }
}
