import type { Origin } from '../pipeline/exchange.ts';
import type { JsonRpcRequest, JsonRpcResponse } from '../protocol/jsonrpc.ts';
import { AgentRequests, type RequestWriter } from '../relay/agent-requests.ts';
import type { AgentSession } from './agent-session.ts';

/**
 * How a 2025-era session's request asks the agent something (sampling, elicitation, roots): on the
 * request's own stream when it has one (`primary`), else on the session stream. The answer comes back
 * as a JSON-RPC response the edge hands to `answerAgent`.
 */
export function sessionAsk(session: AgentSession, primary: RequestWriter | undefined): NonNullable<Origin['ask']> {
  return (method: string, params: Record<string, unknown> | undefined, signal: AbortSignal): Promise<JsonRpcResponse> => {
    const requests = (session.requests ??= new AgentRequests());
    const write = (req: JsonRpcRequest): boolean => {
      if (primary !== undefined && primary(req)) return true;
      const s = session.stream;
      return s !== undefined && !s.closed && s.send(req).ok;
    };
    return requests.ask(write, method, params, signal);
  };
}

/** Applies an agent's answer to a relayed request. False when the session sent no request with that id. */
export function answerAgent(session: AgentSession, res: JsonRpcResponse): boolean {
  return session.requests?.answer(res) ?? false;
}

/**
 * The log level a 2025-era session relays: what `logging/setLevel` set, or everything the upstream
 * sends when the agent never asked (a direct connection would show those too).
 */
export function sessionLogLevel(session: AgentSession): string {
  return session.logLevel ?? 'debug';
}
