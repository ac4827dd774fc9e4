import { randomBytes } from 'node:crypto';
import type { JsonRpcErrorObject, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../protocol/jsonrpc.ts';

/** A server->client request from a 2025-era upstream, waiting for a 2026-07-28 agent's retry to answer it. */
export interface PendingInput {
  readonly key: string;
  readonly method: string;
  readonly params: Record<string, unknown> | undefined;
  readonly settle: (answer: { result: Record<string, unknown> } | { error: JsonRpcErrorObject }) => void;
}

export type ParkedOutcome = { readonly kind: 'done'; readonly response: JsonRpcResponse } | { readonly kind: 'failed'; readonly error: unknown } | { readonly kind: 'input'; readonly pending: readonly PendingInput[] };

const SHORT = { 'elicitation/create': 'elicitation', 'sampling/createMessage': 'sampling', 'roots/list': 'roots' } as Record<string, string>;

/**
 * One upstream call held open across a 2026-07-28 agent's round trips: the 2025-era upstream asked
 * for input mid-call, the agent got `input_required`, and the call waits here for the retry that
 * carries the answers. `round` changes on every `input_required` issued, so an older state (a replay)
 * no longer matches.
 */
export class ParkedCall {
  readonly id = randomBytes(12).toString('base64url');
  readonly controller = new AbortController();
  readonly pending = new Map<string, PendingInput>();
  round = 0;
  #seq = 0;
  #outcome: { kind: 'done'; response: JsonRpcResponse } | { kind: 'failed'; error: unknown } | undefined;
  #wake: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;

  /** Request-scoped notifications (progress) go to whichever agent request is driving the call now. */
  notify: ((n: JsonRpcNotification) => void) | undefined = undefined;

  /** The upstream call this object drives; set once, right after the call is made. */
  attach(call: Promise<JsonRpcResponse>): void {
    call.then(
      (response) => this.#settle({ kind: 'done', response }),
      (error: unknown) => this.#settle({ kind: 'failed', error }),
    );
  }

  /** The upstream's request, answered when the agent's retry carries the answer (or failed on expiry). */
  ask(req: JsonRpcRequest): Promise<JsonRpcResponse> {
    const { promise, resolve } = Promise.withResolvers<JsonRpcResponse>();
    const key = `${SHORT[req.method] ?? 'input'}_${++this.#seq}`;
    this.pending.set(key, {
      key,
      method: req.method,
      params: req.params,
      settle: (answer) => {
        this.pending.delete(key);
        resolve('result' in answer ? { jsonrpc: '2.0', id: req.id, result: answer.result } : { jsonrpc: '2.0', id: req.id, error: answer.error });
      },
    });
    // Requests that arrive together go out together: wait one turn before waking the waiter.
    setImmediate(() => this.#wakeUp());
    return promise;
  }

  /** Resolves when the upstream call ended or needs input the agent has not been asked for yet. */
  async next(): Promise<ParkedOutcome> {
    for (;;) {
      if (this.#outcome !== undefined) return this.#outcome;
      if (this.pending.size > 0) return { kind: 'input', pending: [...this.pending.values()] };
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** Keeps the call at most `ms` more; then it is abandoned (upstream requests fail, the call is cancelled). */
  expireIn(ms: number, onExpire: () => void): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.abandon('the agent did not retry in time');
      onExpire();
    }, ms);
    this.#timer.unref();
  }

  abandon(reason: string): void {
    clearTimeout(this.#timer);
    for (const p of [...this.pending.values()]) p.settle({ error: { code: -32603, message: `no answer from the agent: ${reason}` } });
    this.controller.abort(new Error(reason));
  }

  get finished(): boolean {
    return this.#outcome !== undefined;
  }

  #settle(o: { kind: 'done'; response: JsonRpcResponse } | { kind: 'failed'; error: unknown }): void {
    this.#outcome = o;
    clearTimeout(this.#timer);
    this.#wakeUp();
  }

  #wakeUp(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }
}

/** The calls parked in this gateway process, by id. In-process only (see docs: sticky routing for MRTR). */
export class ParkedCalls {
  readonly #calls = new Map<string, ParkedCall>();
  maxParked: number;

  constructor(maxParked = 10_000) {
    this.maxParked = maxParked;
  }

  get size(): number {
    return this.#calls.size;
  }

  add(p: ParkedCall, ttlMs: number): boolean {
    if (!this.#calls.has(p.id) && this.#calls.size >= this.maxParked) return false;
    this.#calls.set(p.id, p);
    p.expireIn(ttlMs, () => this.#calls.delete(p.id));
    return true;
  }

  /** Puts back a call a retry took out but may not drive (stale or malformed retry); its expiry is unchanged. */
  restore(p: ParkedCall): void {
    if (!p.finished) this.#calls.set(p.id, p);
  }

  /** Takes a parked call out for a retry to drive; the retry puts it back if it needs another round. */
  take(id: string): ParkedCall | undefined {
    const p = this.#calls.get(id);
    if (p !== undefined) this.#calls.delete(id);
    return p;
  }

  closeAll(): void {
    for (const p of this.#calls.values()) p.abandon('the gateway is shutting down');
    this.#calls.clear();
  }
}
