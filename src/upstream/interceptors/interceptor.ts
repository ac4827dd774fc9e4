import type { CompiledUpstream } from '../../config/snapshot.ts';
import type { JsonRpcResponse } from '../../protocol/jsonrpc.ts';
import type { UpstreamHandle } from '../handle.ts';
import type { CallOptions } from '../session.ts';

/** One attempt at one upstream call. */
export interface UpstreamCallRequest {
  readonly upstream: UpstreamHandle;
  readonly method: string;
  readonly params: Record<string, unknown> | undefined;
  readonly opts: CallOptions;
}

export type UpstreamCall = (req: UpstreamCallRequest) => Promise<JsonRpcResponse>;

/**
 * Upstream concerns wrap the call, outermost first: credentials, timeout, retry, breaker.
 * Built once per snapshot and upstream; they run per attempt.
 */
export type UpstreamInterceptor = (next: UpstreamCall) => UpstreamCall;

export type InterceptorFactory = (spec: CompiledUpstream) => UpstreamInterceptor | undefined;

export function chain(interceptors: readonly UpstreamInterceptor[], terminal: UpstreamCall): UpstreamCall {
  let call = terminal;
  for (let i = interceptors.length - 1; i >= 0; i--) call = interceptors[i]!(call);
  return call;
}
