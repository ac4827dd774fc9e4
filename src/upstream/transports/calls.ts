// In-flight requests of one session: the session's own id space, timeouts and aborts. A call is one
// object whose methods serve as its abort listener and timer callback, so starting a call allocates no
// closures, and its listener leaves the caller's signal as soon as the call settles.
// A deadline that progress restarts is kept lazily: progress only records when it came, and the one
// timer, when it fires, re-arms itself for whatever is left (never past the hard maximum). So a
// server reporting progress every few milliseconds costs no timer churn.
import type { JsonRpcId, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../../protocol/jsonrpc.ts';
import { GatewayFault, gatewayError } from '../../errors/codes.ts';
import { CancelledFault, type CallOptions } from '../session.ts';
import type { ProgressSink, ProgressToken, ProgressTokens } from '../progress-tokens.ts';

/** Told when a call ends early so the transport can stop the upstream work. */
export interface CancelHook {
  cancelUpstream(call: PendingCall, reason: 'abort' | 'timeout'): void;
}

export class PendingCall implements ProgressSink {
  readonly id: number;
  readonly method: string;
  readonly promise: Promise<JsonRpcResponse>;
  readonly onNotification: ((n: JsonRpcNotification) => void) | undefined;
  onServerRequest: ((req: JsonRpcRequest) => Promise<JsonRpcResponse>) | undefined = undefined;
  relayKey: string | undefined = undefined;
  originalToken: ProgressToken | undefined = undefined;
  upstreamToken: number | undefined = undefined;
  /** Per-call state a transport may need (the HTTP request's AbortController). */
  controller: AbortController | undefined = undefined;
  settled = false;
  private resolveFn: (r: JsonRpcResponse) => void;
  private rejectFn: (e: unknown) => void;
  private signal: AbortSignal | undefined = undefined;
  private timer: NodeJS.Timeout | undefined = undefined;
  private timeoutMs = 0;
  /** Epoch ms after which progress no longer helps; 0 when progress does not restart the deadline. */
  private hardDeadline = 0;
  private hardTimeoutMs = 0;
  /** Epoch ms of the attempt's start or its latest progress (only kept with a hard deadline). */
  private lastProgress = 0;
  private timeoutSource: string | undefined = undefined;
  private readonly table: CallTable;

  constructor(table: CallTable, id: number, method: string, onNotification: ((n: JsonRpcNotification) => void) | undefined) {
    this.table = table;
    this.id = id;
    this.method = method;
    this.onNotification = onNotification;
    const { promise, resolve, reject } = Promise.withResolvers<JsonRpcResponse>();
    this.promise = promise;
    this.resolveFn = resolve;
    this.rejectFn = reject;
  }

  arm(signal: AbortSignal | undefined, timeoutMs: number, opts: CallOptions | undefined): void {
    if (signal !== undefined) {
      this.signal = signal;
      signal.addEventListener('abort', this);
    }
    if (timeoutMs > 0) {
      this.timeoutMs = timeoutMs;
      let first = timeoutMs;
      if (opts !== undefined) {
        this.timeoutSource = opts.timeoutSource;
        const hard = opts.hardTimeoutMs;
        if (opts.resetOnProgress === true && hard !== undefined && hard > 0) {
          const now = Date.now();
          this.hardTimeoutMs = hard;
          this.hardDeadline = now + hard;
          this.lastProgress = now;
          if (hard < first) first = hard;
        }
      }
      this.timer = setTimeout(onTimer, first, this);
    }
  }

  /** Whether progress restarts the deadline: the session then asks for progress if the agent did not. */
  get resetsOnProgress(): boolean {
    return this.hardDeadline > 0;
  }

  /** ProgressSink: the upstream reported progress for this call. */
  progressed(): void {
    if (this.hardDeadline > 0 && !this.settled) this.lastProgress = Date.now();
  }

  /** EventListener for the caller's signal. */
  handleEvent(): void {
    if (this.settled) return;
    const reason: unknown = this.signal?.reason;
    this.fail(reason instanceof Error ? reason : new CancelledFault(gatewayError('upstream_failed', `${this.table.describe(this.method)} was cancelled`)));
    this.table.hook.cancelUpstream(this, 'abort');
  }

  onTimeout(): void {
    if (this.settled) return;
    this.timer = undefined;
    let hardFired = false;
    if (this.hardDeadline > 0) {
      const restarted = this.lastProgress + this.timeoutMs;
      const due = restarted < this.hardDeadline ? restarted : this.hardDeadline;
      const left = due - Date.now();
      if (left > 0) {
        this.timer = setTimeout(onTimer, left, this);
        return;
      }
      hardFired = due === this.hardDeadline;
    }
    const what = this.table.describe(this.method);
    const source = this.timeoutSource === undefined ? '' : ` (${this.timeoutSource})`;
    const message = hardFired
      ? `${what} got no answer within its hard maximum of ${this.hardTimeoutMs} ms (maxTimeoutMs); progress kept restarting its ${this.timeoutMs} ms deadline${source}`
      : this.hardDeadline > 0
        ? `${what} got neither an answer nor progress for ${this.timeoutMs} ms${source}`
        : `${what} got no answer within ${this.timeoutMs} ms${source}`;
    const detail: Record<string, unknown> = { upstream: this.table.upstream, method: this.method, timeoutMs: hardFired ? this.hardTimeoutMs : this.timeoutMs };
    detail.deadline = hardFired ? 'maxTimeoutMs' : (this.timeoutSource ?? 'call');
    this.fail(new GatewayFault(gatewayError('upstream_timeout', message, detail)));
    this.table.hook.cancelUpstream(this, 'timeout');
  }

  succeed(response: JsonRpcResponse): void {
    if (this.settled) return;
    this.cleanup();
    this.resolveFn(response);
  }

  fail(err: unknown): void {
    if (this.settled) return;
    this.cleanup();
    this.rejectFn(err);
  }

  private cleanup(): void {
    this.settled = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.signal !== undefined) this.signal.removeEventListener('abort', this);
    this.timer = undefined;
    this.signal = undefined;
    this.table.forget(this);
  }
}

function onTimer(call: PendingCall): void {
  call.onTimeout();
}

export class CallTable {
  readonly upstream: string;
  readonly hook: CancelHook;
  readonly progress: ProgressTokens;
  private nextId = 1;
  private readonly calls = new Map<number, PendingCall>();

  constructor(upstream: string, hook: CancelHook, progress: ProgressTokens) {
    this.upstream = upstream;
    this.hook = hook;
    this.progress = progress;
  }

  /** Registers a call. Throws the abort reason when the signal is already aborted. */
  open(method: string, onNotification: ((n: JsonRpcNotification) => void) | undefined, signal: AbortSignal | undefined, timeoutMs: number, opts?: CallOptions): PendingCall {
    if (signal?.aborted) {
      const reason: unknown = signal.reason;
      throw reason instanceof Error ? reason : new CancelledFault(gatewayError('upstream_failed', `${this.describe(method)} was cancelled before it was sent`));
    }
    const call = new PendingCall(this, this.nextId++, method, onNotification);
    this.calls.set(call.id, call);
    call.arm(signal, timeoutMs, opts);
    return call;
  }

  /** The live call a response id names. Ids we issue are integers; tolerate servers that stringify them. */
  get(id: JsonRpcId | null | undefined): PendingCall | undefined {
    if (typeof id === 'number') return this.calls.get(id);
    if (typeof id === 'string' && /^[0-9]{1,15}$/.test(id)) return this.calls.get(Number(id));
    return undefined;
  }

  forget(call: PendingCall): void {
    this.calls.delete(call.id);
    this.progress.release(call);
  }

  /**
   * For a message no stream attributes to a call: the one live call that can take it, or the newest of
   * several that all belong to the same agent (`relayKey`). Undefined when none or when ambiguous.
   */
  soleOwner(accepts: (c: PendingCall) => boolean): PendingCall | undefined {
    let found: PendingCall | undefined;
    for (const c of this.calls.values()) {
      if (c.settled || !accepts(c)) continue;
      if (found !== undefined && (found.relayKey === undefined || found.relayKey !== c.relayKey)) return undefined;
      found = c;
    }
    return found;
  }

  failAll(err: Error): void {
    for (const call of [...this.calls.values()]) call.fail(err);
  }

  get size(): number {
    return this.calls.size;
  }

  describe(method: string): string {
    return `${method} on upstream "${this.upstream}"`;
  }
}
