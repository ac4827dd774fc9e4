// W3C Trace Context: the trace an agent propagates, so audit records and the gateway's own spans join
// the agent's trace. A malformed value is ignored, as the specification asks (a receiver restarts the
// trace rather than failing the request).

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_PARENT = '0'.repeat(16);
/** The specification's limit on what a tracestate value may carry (32 members of 256 bytes each is more than anyone sends). */
const MAX_TRACESTATE = 512;

/** A parsed `traceparent` (and the `tracestate` that came with it): the agent's span the gateway's spans hang under. */
export interface TraceParent {
  /** 32 lowercase hex. */
  readonly traceId: string;
  /** The agent's span id: 16 lowercase hex. */
  readonly parentId: string;
  /** The trace-flags byte (bit 0: sampled). */
  readonly flags: number;
  /** The vendor list that came with it, unparsed; undefined when none or unusable. */
  readonly tracestate: string | undefined;
}

/** A `traceparent` value parsed, or undefined when it is absent or invalid. */
export function parseTraceparent(traceparent: unknown, tracestate?: unknown): TraceParent | undefined {
  if (typeof traceparent !== 'string' || traceparent.length > 512) return undefined;
  const value = traceparent.trim();
  const m = TRACEPARENT.exec(value);
  if (m === null) return undefined;
  const [, version, traceId, parentId, flags] = m;
  // Version ff is invalid; version 00 has exactly four fields.
  if (version === 'ff' || (version === '00' && value.length !== 55)) return undefined;
  if (traceId === ZERO_TRACE || parentId === ZERO_PARENT) return undefined;
  const state = typeof tracestate === 'string' && tracestate.length > 0 && tracestate.length <= MAX_TRACESTATE ? tracestate.trim() : undefined;
  return { traceId: traceId!, parentId: parentId!, flags: Number.parseInt(flags!, 16), tracestate: state === '' ? undefined : state };
}

/** The trace id of a `traceparent` value, or undefined when it is absent or invalid. */
export function traceIdOf(traceparent: unknown): string | undefined {
  return parseTraceparent(traceparent)?.traceId;
}

/**
 * The agent's trace context: the header first (HTTP), then `params._meta.traceparent` (MCP's
 * propagation inside the message, the only one on stdio). `tracestate` is taken from the same carrier
 * as the `traceparent` it belongs to.
 */
export function requestTrace(
  header: string | string[] | undefined,
  params: Record<string, unknown> | undefined,
  stateHeader?: string | string[] | undefined,
): TraceParent | undefined {
  if (header !== undefined) {
    const fromHeader = parseTraceparent(Array.isArray(header) ? header[0] : header, Array.isArray(stateHeader) ? stateHeader.join(',') : stateHeader);
    if (fromHeader !== undefined) return fromHeader;
  }
  const meta = params?._meta;
  if (meta === null || typeof meta !== 'object') return undefined;
  const m = meta as Record<string, unknown>;
  return m.traceparent === undefined ? undefined : parseTraceparent(m.traceparent, m.tracestate);
}

/** The `traceparent` value of a span: version 00. */
export function formatTraceparent(traceId: string, spanId: string, flags: number): string {
  return `00-${traceId}-${spanId}-${(flags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The trace context one upstream attempt carries: the gateway's attempt span as the parent of the upstream's work. */
export interface TraceHeaders {
  readonly traceparent: string;
  readonly tracestate: string | undefined;
}
