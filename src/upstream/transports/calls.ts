// In-flight requests of one session: the session's own id space, timeouts and aborts. A call is one
// object whose methods serve as its abort listener and timer callback, so starting a call allocates no
// closures, and its listener leaves the caller's signal as soon as the call settles.
import type { JsonRpcId, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../../protocol/jsonrpc.ts';
import { GatewayFault, gatewayError } from '../../errors/codes.ts';
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

  arm(signal: AbortSignal | undefined, timeoutMs: number): void {
    if (signal !== undefined) {
      this.signal = signal;
      signal.addEventListener('abort', this);
    }
    if (timeoutMs > 0) {
      this.timeoutMs = timeoutMs;
      this.timer = setTimeout(onTimer, timeoutMs, this);
    }
  }

  /** EventListener for the caller's signal. */
  handleEvent(): void {
    if (this.settled) return;
    const reason: unknown = this.signal?.reason;
    this.fail(reason instanceof Error ? reason : new GatewayFault(gatewayError('upstream_failed', `${this.table.describe(this.method)} was cancelled`)));
    this.table.hook.cancelUpstream(this, 'abort');
  }

  onTimeout(): void {
    if (this.settled) return;
    this.timer = undefined;
    const message = `${this.table.describe(this.method)} got no answer within ${this.timeoutMs} ms`;
    this.fail(new GatewayFault(gatewayError('upstream_timeout', message, { upstream: this.table.upstream, method: this.method, timeoutMs: this.timeoutMs })));
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
  open(method: string, onNotification: ((n: JsonRpcNotification) => void) | undefined, signal: AbortSignal | undefined, timeoutMs: number): PendingCall {
    if (signal?.aborted) {
      const reason: unknown = signal.reason;
      throw reason instanceof Error ? reason : new GatewayFault(gatewayError('upstream_failed', `${this.describe(method)} was cancelled before it was sent`));
    }
    const call = new PendingCall(this, this.nextId++, method, onNotification);
    this.calls.set(call.id, call);
    call.arm(signal, timeoutMs);
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
