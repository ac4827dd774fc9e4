// Progress tokens come from agents, so two agents can pick the same one. Each session hands the upstream
// its own tokens instead and maps progress notifications back to the call that asked, restoring the
// agent's token on the way out. A call whose deadline progress restarts gets a token of the gateway's own
// when the agent gave none; its notifications only keep the deadline alive.
import type { JsonRpcNotification } from '../protocol/jsonrpc.ts';

export type ProgressToken = string | number;

/** The call a token belongs to (a pending call satisfies this without an extra object). */
export interface ProgressSink {
  readonly onNotification: ((n: JsonRpcNotification) => void) | undefined;
  /** The agent's token; set by `replace`. */
  originalToken: ProgressToken | undefined;
  /** The token the upstream sees; set by `replace` or `issue`. */
  upstreamToken: number | undefined;
  /** Told of each progress notification for the call, before it is delivered (restarts its deadline). */
  progressed?(): void;
}

export class ProgressTokens {
  private next = 1;
  private readonly sinks = new Map<number, ProgressSink>();

  /**
   * Returns a copy of `meta` whose progressToken is a fresh session-unique token, remembered for `sink`
   * until `release`. `meta` itself is never modified: the caller may retry with it.
   */
  replace(meta: Record<string, unknown>, sink: ProgressSink): Record<string, unknown> {
    const original = meta.progressToken;
    if (typeof original !== 'string' && typeof original !== 'number') return meta;
    const token = this.next++;
    sink.originalToken = original;
    sink.upstreamToken = token;
    this.sinks.set(token, sink);
    return { ...meta, progressToken: token };
  }

  /**
   * A token of the gateway's own for `sink`, for the caller to put in the request's `_meta`: the
   * upstream's progress for it reaches `sink.progressed` and no one else.
   */
  issue(sink: ProgressSink): number {
    const token = this.next++;
    sink.originalToken = undefined;
    sink.upstreamToken = token;
    this.sinks.set(token, sink);
    return token;
  }

  release(sink: ProgressSink): void {
    if (sink.upstreamToken !== undefined) {
      this.sinks.delete(sink.upstreamToken);
      sink.upstreamToken = undefined;
    }
  }

  /**
   * Delivers a `notifications/progress` to the call whose token it names, with the agent's token put
   * back. Returns false when no live call owns the token (late progress after completion, or a token
   * the gateway never issued); the caller decides what to log.
   */
  route(n: JsonRpcNotification): boolean {
    const params = n.params;
    if (params === undefined) return false;
    const token = params.progressToken;
    const sink = typeof token === 'number' ? this.sinks.get(token) : undefined;
    if (sink === undefined) return false;
    sink.progressed?.();
    // The gateway's own token: the agent asked for no progress.
    if (sink.originalToken === undefined) return true;
    // The message was parsed by the session for this delivery only, so rewriting it in place is safe.
    params.progressToken = sink.originalToken;
    if (sink.onNotification !== undefined) sink.onNotification(n);
    return true;
  }

  get size(): number {
    return this.sinks.size;
  }
}
