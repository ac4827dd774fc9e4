import type { GatewayError } from '../errors/codes.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import type { Target } from '../pipeline/target.ts';
import type { Gateway } from '../core/gateway.ts';

/** Either a result for the agent or a gateway error. Upstream JSON-RPC errors arrive as `upstreamError`. */
export type MethodOutcome =
  | { readonly result: Record<string, unknown> }
  | { readonly error: GatewayError }
  | { readonly upstreamError: { code: number; message: string; data?: unknown } };

/**
 * How the gateway serves one MCP method. `resolve` runs before any filter so that policy can see
 * the target; `handle` runs only if every phase let the exchange continue.
 */
export interface MethodHandler {
  resolve?(gw: Gateway, x: Exchange): Target | GatewayError;
  handle(gw: Gateway, x: Exchange): Promise<MethodOutcome> | MethodOutcome;
}

export function isGatewayError(v: unknown): v is GatewayError {
  return typeof v === 'object' && v !== null && 'name' in v && 'message' in v && !('kind' in v);
}
