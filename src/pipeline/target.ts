/** What an exchange is about, resolved from the catalog before any filter runs. */
export interface Target {
  readonly kind: 'tool' | 'prompt' | 'resource' | 'completion' | 'list' | 'gateway';
  /** Upstream that serves it; absent for what the gateway answers itself. */
  readonly upstream?: string;
  /** Public name (or URI) the agent used. */
  readonly name?: string;
  /** The upstream's own name (or URI) for it. */
  readonly upstreamName?: string;
}

/** The target of what the gateway answers itself (handshake, discovery, subscriptions). */
export const GATEWAY_TARGET: Target = Object.freeze({ kind: 'gateway' });
