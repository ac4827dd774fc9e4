import type { JsonRpcResponse } from '../protocol/jsonrpc.ts';
import type { Era } from '../protocol/mcp.ts';
import type { Phase } from './phases.ts';
import type { Principal } from './principal.ts';
import type { Target } from './target.ts';

export type Outcome = 'ok' | 'error' | 'denied' | 'malformed' | 'cancelled' | 'timeout' | 'upstream_error';

export interface DecisionRecord {
  readonly filter: string;
  readonly phase: Phase;
  readonly kind: 'continue' | 'respond' | 'deny' | 'error';
  readonly shadow: boolean;
  readonly error?: string;
  readonly micros: number;
}

/** A policy verdict: the effect and the rule that decided it (none: the default). */
export interface PolicyVerdictRecord {
  readonly effect: 'allow' | 'deny' | 'require_approval';
  readonly rule: string | undefined;
  readonly reason: 'rule' | 'default' | 'constraint' | 'error';
  readonly message: string;
}

/** What policy decided about an exchange, and what its shadow rules would have changed. */
export interface PolicyRecord extends PolicyVerdictRecord {
  readonly shadow: PolicyVerdictRecord | undefined;
}

/** The one record of a finished exchange that every observer receives. Frozen once built. */
export interface ExchangeRecord {
  readonly id: string;
  readonly time: string;
  readonly durationMs: number;
  readonly upstreamMs: number | undefined;
  readonly era: Era | undefined;
  readonly protocolVersion: string | undefined;
  readonly sessionId: string | undefined;
  readonly clientAddress: string | undefined;
  readonly principal: Principal;
  readonly method: string | undefined;
  readonly rpcId: string | number | undefined;
  readonly target: Target | undefined;
  readonly decisions: readonly DecisionRecord[];
  /** The policy decision, for governed calls under a policy (enforced unless the policy filter's decision is shadow). */
  readonly policy: PolicyRecord | undefined;
  readonly outcome: Outcome;
  /** `limit` names the traffic limit that refused the call, `retryAfterMs` when retrying may succeed. */
  readonly error:
    | { readonly code: number; readonly message: string; readonly source: 'gateway' | 'upstream'; readonly name?: string; readonly limit?: string; readonly retryAfterMs?: number }
    | undefined;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** W3C trace id (32 lowercase hex) the agent sent (`traceparent` header or `_meta.traceparent`). */
  readonly traceId: string | undefined;
  /** What the response cache did for this exchange, for methods it considers. */
  readonly cache: 'hit' | 'miss' | 'bypass' | undefined;
  /** The request params as received (observers must not log them: they may hold secrets). */
  readonly params: Readonly<Record<string, unknown>> | undefined;
  /** The answer written to the agent, when there was a JSON-RPC one. */
  readonly response: JsonRpcResponse | undefined;
}
