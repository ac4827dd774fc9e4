import type { JsonRpcId } from '../protocol/jsonrpc.ts';
import type { SseWriter } from './sse-writer.ts';

/**
 * A 2025-era agent session. Kept small (thousands may sit idle): what the handshake declared,
 * the optional GET stream, and the requests in flight so notifications/cancelled can reach them.
 */
export interface AgentSession {
  readonly id: string;
  readonly protocolVersion: string;
  readonly clientCapabilities: Record<string, unknown>;
  readonly clientInfo: { name?: string; version?: string } | undefined;
  readonly principalId: string;
  initialized: boolean;
  logLevel: string | undefined;
  stream: SseWriter | undefined;
  inflight: Map<JsonRpcId, AbortController> | undefined;
}
