import { gatewayError, GatewayFault } from '../errors/codes.ts';
import type { JsonRpcId, JsonRpcRequest, JsonRpcResponse } from '../protocol/jsonrpc.ts';

/** Where a server->client request is written: a POST's stream, a session stream, stdout. */
export type RequestWriter = (req: JsonRpcRequest) => boolean;

interface Waiting {
  readonly resolve: (res: JsonRpcResponse) => void;
  readonly reject: (err: unknown) => void;
  readonly cleanup: () => void;
}

const DEFAULT_TIMEOUT_MS = 300_000;

/**
 * The server->client requests one 2025-era agent session has outstanding (sampling, elicitation,
 * roots relayed from an upstream). Ids are the gateway's own (`gh-1`, `gh-2`…) so an agent's answer
 * can only resolve a request this session was sent; an answer to anything else is reported, not applied.
 */
export class AgentRequests {
  #next = 1;
  readonly #waiting = new Map<JsonRpcId, Waiting>();

  get size(): number {
    return this.#waiting.size;
  }

  /**
   * Writes `method` to the agent and resolves with its answer (result or error, id restored to ours).
   * Rejects with a GatewayFault when it cannot be written, when `signal` aborts (the call that caused
   * it ended) or after `timeoutMs` (a human may take a while: five minutes by default).
   */
  ask(write: RequestWriter, method: string, params: Record<string, unknown> | undefined, signal?: AbortSignal, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<JsonRpcResponse> {
    if (signal?.aborted) return Promise.reject(new GatewayFault(gatewayError('upstream_failed', `${method} was not sent: the call that needed it has ended`)));
    const id = `gh-${this.#next++}`;
    const { promise, resolve, reject } = Promise.withResolvers<JsonRpcResponse>();
    const onAbort = (): void => {
      this.#waiting.get(id)?.cleanup();
      reject(new GatewayFault(gatewayError('upstream_failed', `${method} was abandoned: the call that needed it has ended`)));
    };
    const timer = setTimeout(() => {
      this.#waiting.get(id)?.cleanup();
      reject(new GatewayFault(gatewayError('upstream_timeout', `the agent did not answer ${method} within ${timeoutMs} ms`, { timeoutMs })));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      this.#waiting.delete(id);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#waiting.set(id, { resolve, reject, cleanup });
    const msg: JsonRpcRequest = params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params };
    if (!write(msg)) {
      cleanup();
      return Promise.reject(new GatewayFault(gatewayError('upstream_failed', `${method} could not be delivered: the agent has no open stream`)));
    }
    return promise;
  }

  /** Applies an agent's answer. False when no request of this session has that id. */
  answer(res: JsonRpcResponse): boolean {
    const id = res.id;
    if (id === null) return false;
    const w = this.#waiting.get(id);
    if (w === undefined) return false;
    w.cleanup();
    w.resolve(res);
    return true;
  }

  /** The session ended: everything outstanding fails. */
  failAll(reason: string): void {
    for (const w of [...this.#waiting.values()]) {
      w.cleanup();
      w.reject(new GatewayFault(gatewayError('upstream_failed', reason)));
    }
  }
}
