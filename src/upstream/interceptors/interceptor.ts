import type { CompiledUpstream, Snapshot } from '../../config/snapshot.ts';
import type { JsonRpcResponse } from '../../protocol/jsonrpc.ts';
import type { CallOptions } from '../session.ts';

/** What a call is sent to: one logical upstream (all its replicas behind one name). */
export interface UpstreamTarget {
  readonly name: string;
  request(method: string, params: Record<string, unknown> | undefined, opts: CallOptions): Promise<JsonRpcResponse>;
}

/** One attempt at one upstream call. */
export interface UpstreamCallRequest {
  readonly upstream: UpstreamTarget;
  readonly method: string;
  readonly params: Record<string, unknown> | undefined;
  readonly opts: CallOptions;
}

export type UpstreamCall = (req: UpstreamCallRequest) => Promise<JsonRpcResponse>;

/**
 * Upstream concerns wrap the call. The router's order, outermost first: breaker (judges whole calls),
 * retry (repeats attempts), timeout (one deadline per attempt); see router.ts for why.
 * Built once per snapshot and upstream; whatever is inside retry runs once per attempt.
 */
export type UpstreamInterceptor = (next: UpstreamCall) => UpstreamCall;

/** Built once per snapshot and upstream: the snapshot gives tool classes and the like. */
export type InterceptorFactory = (spec: CompiledUpstream, snapshot: Snapshot) => UpstreamInterceptor | undefined;

export function chain(interceptors: readonly UpstreamInterceptor[], terminal: UpstreamCall): UpstreamCall {
  let call = terminal;
  for (let i = interceptors.length - 1; i >= 0; i--) call = interceptors[i]!(call);
  return call;
}
