import type { JsonRpcResponse } from '../protocol/jsonrpc.ts';
import type { Decision } from './decision.ts';
import type { Exchange } from './exchange.ts';
import type { Phase } from './phases.ts';

/**
 * One compiled filter instance. Built once per snapshot by compile(); holds no per-request state.
 * onResponse runs in reverse phase order on the way out (guard(out) first).
 */
export interface Filter {
  /** Instance name from config: labels metrics and audit. */
  readonly name: string;
  readonly phase: Phase;
  /** Decide and record, but do not enforce. */
  readonly shadow: boolean;
  onRequest?(x: Exchange): Decision | Promise<Decision>;
  onResponse?(x: Exchange, res: JsonRpcResponse): JsonRpcResponse | Promise<JsonRpcResponse>;
}
