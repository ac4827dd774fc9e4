// One live upstream session and the calls sent on it. The count serves two purposes: the replica pool
// balances on it (fewest outstanding calls), and a session taken out of rotation by a failed health check
// is closed only once the calls already on it are done, so the check itself never fails a call in flight.
import type { JsonRpcResponse } from '../protocol/jsonrpc.ts';
import type { CallOptions, UpstreamSession } from './session.ts';

/** Told about every settled call: the handle learns of created tasks and of transport failures. */
export interface LeaseOwner {
  noteResponse(res: JsonRpcResponse): void;
  noteFailure(err: unknown): void;
  /** Closing the session failed (it is unusable either way): for the log. */
  closeFailed(err: unknown): void;
}

export class SessionLease {
  readonly session: UpstreamSession;
  /**
   * Calls with a deadline in flight: the load the balancer compares, and what a retired session waits
   * for. Calls without one (listen streams, a blocking tasks/result) are neither load nor waited for:
   * they would hold a retired session open for good.
   */
  outstanding = 0;
  readonly #owner: LeaseOwner;
  #retired = false;
  #closing: Promise<void> | undefined;
  #deadline: NodeJS.Timeout | undefined;
  #onClosed: (() => void) | undefined;

  // Bound once per session, so a call allocates no closures of its own.
  readonly #settled = (res: JsonRpcResponse): JsonRpcResponse => {
    this.outstanding--;
    this.#owner.noteResponse(res);
    if (this.#retired && this.outstanding === 0) void this.close();
    return res;
  };
  readonly #failed = (err: unknown): never => {
    this.outstanding--;
    this.#owner.noteFailure(err);
    if (this.#retired && this.outstanding === 0) void this.close();
    throw err;
  };

  constructor(session: UpstreamSession, owner: LeaseOwner) {
    this.session = session;
    this.#owner = owner;
  }

  send(method: string, params: Record<string, unknown> | undefined, opts: CallOptions): Promise<JsonRpcResponse> {
    if (opts.timeoutMs === 0) return this.session.request(method, params, opts);
    this.outstanding++;
    return this.session.request(method, params, opts).then(this.#settled, this.#failed);
  }

  /**
   * Takes the session out of rotation: it closes as soon as its calls with a deadline are done, and at
   * the latest after `maxWaitMs` (the longest such a call may take). `onClosed` runs once it is closed.
   */
  retire(maxWaitMs: number, onClosed: () => void): void {
    if (this.#retired) return;
    this.#retired = true;
    this.#onClosed = onClosed;
    if (this.outstanding === 0) {
      void this.close();
      return;
    }
    this.#deadline = setTimeout(() => void this.close(), maxWaitMs);
    this.#deadline.unref();
  }

  /** Closes the session now (failing what is still in flight). Idempotent; never rejects. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearTimeout(this.#deadline);
      try {
        await this.session.close();
      } catch (err) {
        this.#owner.closeFailed(err);
      } finally {
        this.#onClosed?.();
      }
    })();
    return this.#closing;
  }
}
