import type { JsonRpcId } from '../protocol/jsonrpc.ts';
import type { AgentRequests } from '../relay/agent-requests.ts';
import type { ResourceListener } from '../relay/subscriptions.ts';

/**
 * A session's own way to the agent, outside any one request: the 2025-era GET stream, a legacy
 * HTTP+SSE connection, or stdout in stdio mode. `send` reports whether the message was written.
 */
export interface SessionStream {
  send(message: object): { readonly ok: boolean };
  readonly closed: boolean;
  close(): void;
}

/**
 * A 2025-era agent session. Kept small (thousands may sit idle): what the handshake declared,
 * the optional session stream, the requests in flight so notifications/cancelled can reach them,
 * and the server->client requests relayed to the agent that await its answer.
 */
export interface AgentSession {
  readonly id: string;
  readonly protocolVersion: string;
  readonly clientCapabilities: Record<string, unknown>;
  readonly clientInfo: { name?: string; version?: string } | undefined;
  readonly principalId: string;
  initialized: boolean;
  logLevel: string | undefined;
  stream: SessionStream | undefined;
  inflight: Map<JsonRpcId, AbortController> | undefined;
  /** Created on first use: most sessions never see a server->client request. */
  requests: AgentRequests | undefined;
  /** Resource subscriptions (`resources/subscribe`), created on first use. */
  resources: ResourceListener | undefined;
  /** Run once when the session ends (released subscriptions and the like). */
  cleanup: (() => void)[] | undefined;
  /**
   * Whether the transport has one channel for everything (legacy HTTP+SSE, stdio): request-scoped
   * messages then go on the session stream. Streamable HTTP answers on each POST's own stream.
   */
  readonly singleChannel?: boolean;
}

/** Whether the session's client declared a capability (`sampling`, `elicitation`, `roots`). */
export function declares(caps: Record<string, unknown>, capability: string): boolean {
  const v = caps[capability];
  return v !== undefined && v !== null && v !== false;
}
