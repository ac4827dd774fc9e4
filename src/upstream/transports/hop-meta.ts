// `_meta` that describes one hop (protocol version, client identity and capabilities, log level) belongs
// to the agent->gateway hop; the gateway->upstream hop carries the gateway's own values (modern) or none
// (legacy, where the handshake carried them). Params are copied, never modified: callers may retry.
import { HOP_META_KEYS, META_CLIENT_CAPABILITIES, META_CLIENT_INFO, META_PROTOCOL_VERSION, MODERN_VERSION, type Era } from '../../protocol/mcp.ts';
import type { ProgressSink, ProgressTokens } from '../progress-tokens.ts';

export type HopMeta = Readonly<Record<string, unknown>>;

/** The gateway's own per-request `_meta` for modern upstreams: built once per session. */
export function modernHopMeta(clientInfo: { name: string; version: string }, capabilities: Record<string, unknown>): HopMeta {
  return Object.freeze({
    [META_PROTOCOL_VERSION]: MODERN_VERSION,
    [META_CLIENT_CAPABILITIES]: capabilities,
    [META_CLIENT_INFO]: Object.freeze({ name: clientInfo.name, version: clientInfo.version }),
  });
}

function hasHopKey(meta: Record<string, unknown>): boolean {
  for (const key of HOP_META_KEYS) if (key in meta) return true;
  return false;
}

function withoutHopKeys(meta: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in meta) if (!HOP_META_KEYS.includes(key)) out[key] = meta[key];
  return out;
}

/**
 * The params to put on the wire for one request. `sink` (the pending call) gets a session-unique
 * progress token when the agent asked for progress, or with `ownToken` (its deadline is restarted by
 * progress) a token of the gateway's own when the agent did not; notifications pass no sink.
 */
export function outgoingParams(
  params: Record<string, unknown> | undefined,
  era: Era,
  hop: HopMeta,
  progress: ProgressTokens | undefined,
  sink: ProgressSink | undefined,
  ownToken = false,
): Record<string, unknown> | undefined {
  const raw = params?._meta;
  const meta = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined;
  const own = ownToken && sink !== undefined && progress !== undefined;
  if (era === 'legacy') {
    if (meta === undefined) return own ? { ...params, _meta: { progressToken: progress.issue(sink) } } : params;
    const wantsProgress = sink !== undefined && meta.progressToken !== undefined;
    if (!wantsProgress && !own && !hasHopKey(meta)) return params;
    let next = hasHopKey(meta) ? withoutHopKeys(meta) : meta;
    if (wantsProgress && progress !== undefined) next = progress.replace(next, sink);
    if (own && sink.upstreamToken === undefined) next = { ...next, progressToken: progress.issue(sink) };
    return { ...params, _meta: next };
  }
  let next: Record<string, unknown>;
  if (meta === undefined) next = { ...hop };
  else {
    next = hasHopKey(meta) ? withoutHopKeys(meta) : { ...meta };
    Object.assign(next, hop);
    if (sink !== undefined && progress !== undefined && next.progressToken !== undefined) next = progress.replace(next, sink);
  }
  // `next` is this request's own copy here.
  if (own && sink.upstreamToken === undefined) next.progressToken = progress.issue(sink);
  return params === undefined ? { _meta: next } : { ...params, _meta: next };
}
