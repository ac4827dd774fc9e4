// Delays between delivery attempts, and a sleep the runner can cut short.

export interface RetryPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
}

/**
 * Exponential backoff with full jitter: attempt n waits uniformly in [initial, min(max, initial·2ⁿ)],
 * so many gateways whose receiver came back do not all retry in the same instant.
 */
export function backoffDelay(attempt: number, retry: RetryPolicy, random: () => number = Math.random): number {
  const cap = Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** Math.min(Math.max(attempt, 1), 30));
  const low = Math.min(retry.initialDelayMs, cap);
  return Math.round(low + random() * (cap - low));
}

/** A sleep that `cut()` ends, and `poke()` too when the sleep is wakeable (idle, not backing off). */
export class Pause {
  /** A poke that landed while nobody slept: the next idle sleep is skipped, so no wake-up is lost. */
  #poked = false;
  #interrupt: ((byPoke: boolean) => void) | undefined;

  /** Clears and returns whether a poke arrived since the last call. */
  takePoke(): boolean {
    const p = this.#poked;
    this.#poked = false;
    return p;
  }

  poke(): void {
    this.#poked = true;
    this.#interrupt?.(true);
  }

  cut(): void {
    this.#interrupt?.(false);
  }

  sleep(ms: number, wakeable: boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      const interrupt = (byPoke: boolean): void => {
        if (byPoke && !wakeable) return;
        done();
      };
      const done = (): void => {
        clearTimeout(timer);
        if (this.#interrupt === interrupt) this.#interrupt = undefined;
        resolve();
      };
      // Unref'd: an idle or backing-off sink must not keep the process alive on its own.
      const timer = setTimeout(done, ms);
      timer.unref();
      this.#interrupt = interrupt;
    });
  }
}
