/**
 * The catalog definition of a tool target, for policy (class, trusted annotations). Symbol-keyed so that
 * records and logs, which serialize the target, never carry a whole tool definition.
 */
export const TARGET_DEF: unique symbol = Symbol('gatehouse.target.def');

/** What an exchange is about, resolved from the catalog before any filter runs. */
export interface Target {
  readonly kind: 'tool' | 'prompt' | 'resource' | 'completion' | 'list' | 'gateway';
  /** Upstream that serves it; absent for what the gateway answers itself. */
  readonly upstream?: string;
  /** Public name (or URI) the agent used. */
  readonly name?: string;
  /** The upstream's own name (or URI) for it. */
  readonly upstreamName?: string;
  /** Completions: whether the reference is a prompt or a resource. */
  readonly ref?: 'prompt' | 'resource';
  /**
   * The upstream serving it is down. Resolved anyway so that policy judges it like any other target:
   * the "unavailable" answer names the upstream, which a caller that may not use it must not learn.
   */
  readonly down?: true;
  readonly [TARGET_DEF]?: Readonly<Record<string, unknown>>;
}

/** The target of what the gateway answers itself (handshake, discovery, subscriptions). */
export const GATEWAY_TARGET: Target = Object.freeze({ kind: 'gateway' });
