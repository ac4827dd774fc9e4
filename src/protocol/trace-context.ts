// W3C Trace Context: the trace id an agent propagates, so audit records and traces can be joined
// with the agent's own telemetry. Only the id is taken; a malformed header is ignored, as the
// specification asks (a receiver restarts the trace rather than failing the request).

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_PARENT = '0'.repeat(16);

/** The trace id of a `traceparent` value, or undefined when it is absent or invalid. */
export function traceIdOf(traceparent: unknown): string | undefined {
  if (typeof traceparent !== 'string' || traceparent.length > 512) return undefined;
  const m = TRACEPARENT.exec(traceparent.trim());
  if (m === null) return undefined;
  const [, version, traceId, parent] = m;
  // Version ff is invalid; version 00 has exactly four fields.
  if (version === 'ff' || (version === '00' && traceparent.trim().length !== 55)) return undefined;
  if (traceId === ZERO_TRACE || parent === ZERO_PARENT) return undefined;
  return traceId;
}

/** The header first (HTTP), then `params._meta.traceparent` (MCP's propagation inside the message, stdio). */
export function requestTraceId(header: string | string[] | undefined, params: Record<string, unknown> | undefined): string | undefined {
  const fromHeader = traceIdOf(Array.isArray(header) ? header[0] : header);
  if (fromHeader !== undefined) return fromHeader;
  const meta = params?._meta;
  return meta !== null && typeof meta === 'object' ? traceIdOf((meta as Record<string, unknown>).traceparent) : undefined;
}
