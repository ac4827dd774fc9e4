// Span attribute names. Where OpenTelemetry has a convention it is used: the MCP and GenAI ones are
// still drafts (incubating), which OpenTelemetry asks instrumentations to copy rather than import, so
// they are spelled out here. The gateway's own start with `gatehouse.`. Attributes never carry
// arguments, results, credentials, or who the user is: the audit record, joined by
// `gatehouse.exchange.id` or the trace id, keeps those under its own access rules.
import type { Exchange } from '../../pipeline/exchange.ts';
import type { Outcome } from '../../pipeline/record.ts';

export const MCP_METHOD = 'mcp.method.name';
export const MCP_SESSION = 'mcp.session.id';
export const MCP_PROTOCOL_VERSION = 'mcp.protocol.version';
export const JSONRPC_REQUEST_ID = 'jsonrpc.request.id';
export const RPC_STATUS_CODE = 'rpc.response.status_code';
export const TOOL_NAME = 'gen_ai.tool.name';
export const OPERATION = 'gen_ai.operation.name';
export const ERROR_TYPE = 'error.type';
export const CLIENT_ADDRESS = 'client.address';

export const EXCHANGE_ID = 'gatehouse.exchange.id';
export const OUTCOME = 'gatehouse.outcome';
export const DECISION = 'gatehouse.decision';
export const DECIDED_BY = 'gatehouse.decision.filter';
export const POLICY_EFFECT = 'gatehouse.policy.effect';
export const POLICY_RULE = 'gatehouse.policy.rule';
export const AGENT = 'gatehouse.agent';
export const TARGET_KIND = 'gatehouse.target.kind';
export const UPSTREAM = 'gatehouse.upstream';
export const REPLICA = 'gatehouse.replica';
export const ATTEMPT = 'gatehouse.attempt';
export const CACHE = 'gatehouse.cache';
export const PHASE = 'gatehouse.phase';
export const FILTER = 'gatehouse.filter';
export const SHADOW = 'gatehouse.shadow';

/** Outcomes that are failures of the gateway or its upstreams (span status ERROR); denials and the caller's own mistakes are not. */
export function isFailure(outcome: Outcome): boolean {
  return outcome === 'error' || outcome === 'timeout';
}

/**
 * The exchange span's name: `{method} {target}` as the MCP conventions ask, the target only where it
 * is a name from the catalog (a tool or prompt that exists), never what an agent typed, so the names
 * stay few. A method the gateway does not serve is not named at all.
 */
export function exchangeSpanName(x: Exchange): string {
  if (x.error?.name === 'method_not_found') return 'mcp unknown method';
  const t = x.target;
  if (t !== undefined && t.name !== undefined && (t.kind === 'tool' || t.kind === 'prompt')) return `${x.method} ${t.name}`;
  return x.method;
}

/** How the pipeline ended, for `gatehouse.decision`: a filter that refused or answered, else `continue`. */
export function pipelineDecision(x: Exchange): { decision: 'continue' | 'deny' | 'respond'; filter: string | undefined } {
  const ds = x.decisions;
  if (ds !== undefined) {
    for (let i = ds.length - 1; i >= 0; i--) {
      const d = ds[i]!;
      if (d.shadow) continue;
      if (d.kind === 'deny' || d.kind === 'error') return { decision: 'deny', filter: d.filter };
      if (d.kind === 'respond') return { decision: 'respond', filter: d.filter };
    }
  }
  return { decision: 'continue', filter: undefined };
}
