// The audit entry: what is hashed, chained, stored and exported for one exchange (or one event of the
// audit trail itself). Plain JSON values only, so its canonical form (RFC 8785) is well defined.
import type { Outcome } from '../pipeline/record.ts';

/** Format version of an entry; bump with a new verifier branch, never edit the meaning of v1. */
export const AUDIT_ENTRY_VERSION = 1;
/** `prev` of the first entry of a chain. */
export const GENESIS = '0'.repeat(64);

export type AuditEntryType =
  /** One finished exchange: every request, allowed or refused. */
  | 'exchange'
  /** Records that could not be kept (buffer full while failing closed), or a sink that fell behind. */
  | 'gap'
  /** An action on the admin API. */
  | 'admin';

export interface AuditPrincipal {
  id: string;
  agent: string;
  agentName?: string;
  user?: string;
  userSource?: 'credential' | 'proxy_assertion';
  tenant?: string;
  authMethod: string;
  authSource: string;
  credentialId?: string;
  roles?: string[];
}

export interface AuditTarget {
  kind: string;
  upstream?: string;
  /** Public name or URI the agent used. */
  name?: string;
  upstreamName?: string;
  /** Tool class from policy (`read_only`, `high_risk_write`, ...) when a policy is configured. */
  class?: string;
  /** `sha256:<hex>` of the tool definition's canonical JSON at call time. */
  definitionHash?: string;
}

export interface AuditVerdict {
  effect: 'allow' | 'deny' | 'require_approval';
  rule?: string;
  reason: 'rule' | 'default' | 'constraint' | 'error';
  message?: string;
}

export interface AuditPolicy extends AuditVerdict {
  /** What the shadow rules would have decided, when it differs. */
  shadow?: AuditVerdict;
  /** The whole policy ran in shadow mode: the decision was recorded, not enforced. */
  enforced: boolean;
}

export interface AuditResultSummary {
  /** Bytes of the JSON answer written to the agent. */
  size: number;
  /** `content[].type` values in order of first appearance (`text`, `image`, `resource_link`, ...), and `structured` when structuredContent was present. */
  contentTypes?: string[];
  isError?: boolean;
  /** Items in a list result (tools, prompts, resources, templates). */
  items?: number;
  /** Redacted result content, only when `audit.results: content` applies to the target. */
  content?: unknown;
}

export interface AuditGap {
  reason: 'buffer_full' | 'sink_behind' | 'pruned_before_delivery' | 'store_unavailable';
  /** Records that could not be kept (buffer_full) or not delivered (pruned_before_delivery). */
  lost: number;
  sink?: string;
  /** Time range covered (ISO 8601). */
  from: string;
  to: string;
  detail?: string;
}

export interface AuditAdmin {
  /** The route's action name (`keys.create`, `policy.explain`, ...). */
  action: string;
  /** HTTP status answered. */
  status: number;
  /** What it acted on (a key id, a record id), when the route names one. */
  subject?: string;
}

/**
 * One entry of the audit trail. `chain`, `seq` and `prev` place it in its hash chain; its hash is
 * SHA-256 over the canonical JSON of exactly this object.
 */
export interface AuditEntry {
  v: typeof AUDIT_ENTRY_VERSION;
  type: AuditEntryType;
  /** The chain (one per gateway instance: `audit.chain`). */
  chain: string;
  /** 1-based position in the chain. */
  seq: number;
  /** Hex hash of the previous entry of the chain; GENESIS for seq 1 (or the prune anchor). */
  prev: string;
  /** UUIDv7 of the exchange (time-ordered); for other types a fresh UUIDv7. */
  id: string;
  /** When the exchange started (ISO 8601 UTC, ms). */
  time: string;
  durationMs?: number;
  upstreamMs?: number;
  principal?: AuditPrincipal;
  client?: { address?: string };
  /** MCP session id (2025 era), when the exchange had one. */
  session?: string;
  /** JSON-RPC id of the request. */
  requestId?: string | number;
  /** W3C trace id (32 hex) from the agent's traceparent, when it sent one. */
  traceId?: string;
  era?: 'modern' | 'legacy';
  protocolVersion?: string;
  method?: string;
  target?: AuditTarget;
  /** Arguments after redaction (tools/call arguments, prompts/get arguments, resource URI params). */
  args?: unknown;
  /** `hmac-sha256:<kid>:<hex>` of the canonical original arguments (keyed, so a redacted secret cannot be guessed back). */
  argsDigest?: string;
  /** JSON paths that redaction replaced, in document order. */
  redacted?: string[];
  policy?: AuditPolicy;
  outcome?: Outcome;
  /** `limit`: the traffic limit that refused the call; `retryAfterMs`: when the gateway said retrying may succeed. */
  error?: { code: number; message: string; source: 'gateway' | 'upstream'; name?: string; limit?: string; retryAfterMs?: number };
  /** Response cache: `hit` served without reaching the upstream; `miss` stored or joined a call; `bypass` not cacheable. Absent for uncached methods. */
  cache?: 'hit' | 'miss' | 'bypass';
  bytesIn?: number;
  bytesOut?: number;
  result?: AuditResultSummary;
  gap?: AuditGap;
  admin?: AuditAdmin;
}

/** The columns a store keeps beside the entry text, for searching. Derived from the entry, never set apart from it. */
export interface AuditColumns {
  type: AuditEntryType;
  time: string;
  agent: string | null;
  user: string | null;
  tenant: string | null;
  upstream: string | null;
  /** Public tool/prompt/resource name. */
  target: string | null;
  targetKind: string | null;
  toolClass: string | null;
  method: string | null;
  /** Policy effect, or null when no policy decided. */
  decision: string | null;
  outcome: string | null;
  session: string | null;
}

export function columnsOf(e: AuditEntry): AuditColumns {
  return {
    type: e.type,
    time: e.time,
    agent: e.principal?.agent ?? null,
    user: e.principal?.user ?? null,
    tenant: e.principal?.tenant ?? null,
    upstream: e.target?.upstream ?? e.gap?.sink ?? null,
    target: e.target?.name ?? null,
    targetKind: e.target?.kind ?? null,
    toolClass: e.target?.class ?? null,
    method: e.method ?? e.admin?.action ?? null,
    decision: e.policy?.effect ?? null,
    outcome: e.outcome ?? null,
    session: e.session ?? null,
  };
}
