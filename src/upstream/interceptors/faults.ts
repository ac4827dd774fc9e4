// Which failures speak about the upstream: the breaker and the retries judge by this, the stats count it.
import { GatewayFault, type ErrorName } from '../../errors/codes.ts';
import { CancelledFault } from '../session.ts';

const TRANSPORT_FAILURES: ReadonlySet<ErrorName> = new Set<ErrorName>(['upstream_unavailable', 'upstream_timeout', 'upstream_failed']);

/**
 * The fault when `err` is a failure of the upstream or the way to it (unreachable, timed out, died
 * mid-call); undefined for everything else: the caller's own cancellation, errors the gateway made
 * about the request, and answers (JSON-RPC errors resolve, they never reject).
 */
export function transportFailure(err: unknown): GatewayFault | undefined {
  return err instanceof GatewayFault && !(err instanceof CancelledFault) && TRANSPORT_FAILURES.has(err.error.name) ? err : undefined;
}
