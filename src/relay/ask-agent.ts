import type { Exchange } from '../pipeline/exchange.ts';
import type { JsonRpcId, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../protocol/jsonrpc.ts';

/**
 * What the gateway declares to upstreams as their client: it can relay sampling, elicitation (both
 * modes) and roots to the agent whose call caused the request. Whether that agent can answer is
 * checked per request; a 2026-07-28 upstream gets the agent's own capabilities on each call.
 */
export const RELAY_CLIENT_CAPABILITIES: Readonly<Record<string, unknown>> = Object.freeze({
  sampling: {},
  elicitation: { form: {}, url: {} },
  roots: { listChanged: false },
});

/** The client capability a server->client request needs; undefined for methods agents never get. */
export function capabilityFor(method: string): 'elicitation' | 'sampling' | 'roots' | undefined {
  switch (method) {
    case 'elicitation/create':
      return 'elicitation';
    case 'sampling/createMessage':
      return 'sampling';
    case 'roots/list':
      return 'roots';
    default:
      return undefined;
  }
}

/**
 * Why the agent cannot be asked this, or undefined when it can: the method must be one agents serve,
 * and the agent must have declared the capability (and, for URL elicitation, its `url` mode; a bare
 * `elicitation: {}` means form mode, as the 2025-11-25 spec reads).
 */
export function refusalFor(method: string, params: Record<string, unknown> | undefined, caps: Record<string, unknown>): string | undefined {
  const cap = capabilityFor(method);
  if (cap === undefined) return `${method} is not a request the gateway relays to agents`;
  const declared = caps[cap];
  if (declared === undefined || declared === null || declared === false) return `the agent did not declare the ${cap} capability`;
  if (cap === 'elicitation' && params?.mode === 'url') {
    const modes = declared as Record<string, unknown>;
    if (typeof modes !== 'object' || modes.url === undefined) return 'the agent did not declare URL-mode elicitation';
  }
  return undefined;
}

export function refusal(id: JsonRpcId, message: string): JsonRpcResponse {
  return { jsonrpc: '2.0', id, error: { code: -32601, message } };
}

/**
 * The relay for a 2025-era agent: an upstream's server->client request goes to the agent that made
 * the call, in that call's context, and its answer goes back unchanged.
 */
export function askAgent(x: Exchange): (req: JsonRpcRequest) => Promise<JsonRpcResponse> {
  return async (req) => {
    const why = refusalFor(req.method, req.params, x.origin.clientCapabilities);
    if (why !== undefined) return refusal(req.id, why);
    const ask = x.origin.ask;
    if (ask === undefined) return refusal(req.id, 'the agent cannot be asked anything on this transport');
    const res = await ask(req.method, req.params, x.signal);
    return { ...res, id: req.id } as JsonRpcResponse;
  };
}

const LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

/**
 * Request-scoped notifications for the agent, with log messages below the agent's level dropped
 * (a 2026-07-28 request without `logLevel` gets none, as that revision asks).
 */
export function agentNotifier(x: Exchange): ((n: JsonRpcNotification) => void) | undefined {
  const notify = x.origin.notify;
  if (notify === undefined) return undefined;
  const min = x.origin.logLevel === undefined ? LEVELS.length : LEVELS.indexOf(x.origin.logLevel);
  return (n) => {
    if (n.method === 'notifications/message') {
      const level = LEVELS.indexOf(n.params?.level as string);
      if (level < 0 || level < min) return;
    }
    notify(n);
  };
}
