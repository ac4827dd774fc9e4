import type { GatewayError } from '../errors/codes.ts';

/**
 * What a filter decided. Filters return values instead of throwing, so the runner sees every decision:
 * it can time it, record it for audit and "explain", and run a filter in shadow mode.
 */
export type Decision =
  | { readonly kind: 'continue' }
  | { readonly kind: 'respond'; readonly result: Record<string, unknown> }
  | { readonly kind: 'deny'; readonly error: GatewayError };

export const CONTINUE: Decision = Object.freeze({ kind: 'continue' });

export function deny(error: GatewayError): Decision {
  return { kind: 'deny', error };
}

export function respond(result: Record<string, unknown>): Decision {
  return { kind: 'respond', result };
}
