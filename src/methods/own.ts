import { GATEWAY_TARGET } from '../pipeline/target.ts';
import type { Gateway } from '../core/gateway.ts';
import { gatewayError } from '../errors/codes.ts';
import { LEGACY_VERSIONS, LATEST_LEGACY_VERSION, META_SERVER_INFO, SUPPORTED_VERSIONS } from '../protocol/mcp.ts';
import type { MethodHandler } from './method.ts';
import { taskCapabilities } from './tasks.ts';
import type { Era } from '../protocol/mcp.ts';


/** What the gateway itself offers agents, whichever upstreams are behind it. */
export function gatewayCapabilities(gw: Gateway, era: Era | undefined): Record<string, unknown> {
  return {
    ...taskCapabilities(gw, era),
    tools: { listChanged: true },
    prompts: { listChanged: true },
    resources: { subscribe: true, listChanged: true },
    completions: {},
    logging: {},
  };
}

/** Upstream instructions, each under its upstream's name, unless the config sets its own. */
export function gatewayInstructions(gw: Gateway): string | undefined {
  const own = gw.snapshot.config.gateway.instructions;
  if (own !== undefined) return own;
  const parts: string[] = [];
  for (const h of gw.registry.handles()) {
    const text = h.session?.instructions;
    if (text) parts.push(`## ${h.name}\n${text}`);
  }
  return parts.length > 0 ? parts.join('\n\n') : undefined;
}

export const ping: MethodHandler = {
  resolve: () => GATEWAY_TARGET,
  handle: () => ({ result: {} }),
};

export const discover: MethodHandler = {
  resolve: () => GATEWAY_TARGET,
  handle(gw) {
    const result: Record<string, unknown> = {
      supportedVersions: [...SUPPORTED_VERSIONS],
      capabilities: gatewayCapabilities(gw, 'modern'),
      _meta: { [META_SERVER_INFO]: gw.serverInfo },
      ttlMs: 0,
      cacheScope: 'private',
    };
    const instructions = gatewayInstructions(gw);
    if (instructions !== undefined) result.instructions = instructions;
    return { result };
  },
};

/** The 2025-era handshake. The edge creates the session; this builds the answer. */
export const initialize: MethodHandler = {
  resolve: () => GATEWAY_TARGET,
  handle(gw, x) {
    const requested = x.params?.protocolVersion;
    if (typeof requested !== 'string') return { error: gatewayError('invalid_params', 'initialize needs params.protocolVersion') };
    // Negotiation per 2025-11-25: answer the client's version when we speak it, else our latest legacy one.
    const version = (LEGACY_VERSIONS as readonly string[]).includes(requested) ? requested : LATEST_LEGACY_VERSION;
    const result: Record<string, unknown> = { protocolVersion: version, capabilities: gatewayCapabilities(gw, 'legacy'), serverInfo: gw.serverInfo };
    const instructions = gatewayInstructions(gw);
    if (instructions !== undefined) result.instructions = instructions;
    return { result };
  },
};

const LEVELS = new Set(['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']);

export const setLevel: MethodHandler = {
  resolve: () => GATEWAY_TARGET,
  handle(_gw, x) {
    const level = x.params?.level;
    if (typeof level !== 'string' || !LEVELS.has(level)) return { error: gatewayError('invalid_params', `invalid log level ${JSON.stringify(level)}`) };
    if (x.origin.session !== undefined) x.origin.session.logLevel = level;
    return { result: {} };
  },
};
