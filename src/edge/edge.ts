import type { IncomingMessage } from 'node:http';
import type { Gateway } from '../core/gateway.ts';
import type { Snapshot } from '../config/snapshot.ts';
import { compileHostGuard, type HostGuard } from './origin-guard.ts';
import { SessionTable } from './sessions.ts';
import { compileParamHeaders, type CompiledParamHeaders } from '../protocol/param-headers.ts';
import type { JsonRpcRequest } from '../protocol/jsonrpc.ts';
import type { Item } from '../catalog/catalog.ts';
import type { AgentSession } from './agent-session.ts';

/**
 * The edge's long-lived state: the 2025-era session table and the host guard compiled for the
 * snapshot in force (rebuilt when the snapshot or the bound port changes, never per request).
 */
export class Edge {
  readonly gw: Gateway;
  readonly sessions: SessionTable<AgentSession>;
  port = 0;
  #guardFor: Snapshot | undefined;
  #guardPort = -1;
  #guard: HostGuard | undefined;
  readonly #paramHeaders = new WeakMap<Item, CompiledParamHeaders | null>();

  constructor(gw: Gateway) {
    this.gw = gw;
    const limits = gw.snapshot.config.gateway.limits;
    this.sessions = new SessionTable<AgentSession>({
      maxSessions: limits.maxSessions,
      sessionIdleSeconds: limits.sessionIdleSeconds,
      onExpire: (_id, s) => closeSession(s),
    });
  }

  guard(snapshot: Snapshot): HostGuard {
    if (this.#guard === undefined || this.#guardFor !== snapshot || this.#guardPort !== this.port) {
      const g = snapshot.config.gateway;
      this.#guard = compileHostGuard({ listenHost: g.listen.host, listenPort: this.port, allowedOrigins: g.allowedOrigins, allowedHosts: g.allowedHosts });
      this.#guardFor = snapshot;
      this.#guardPort = this.port;
    }
    return this.#guard;
  }

  /**
   * The `x-mcp-header` mirror rules of the tool a 2026-07-28 tools/call names, compiled once per
   * tool definition. Tools with invalid annotations have none (the upstream side rejects them).
   */
  paramHeaders(r: JsonRpcRequest): CompiledParamHeaders | undefined {
    if (r.method !== 'tools/call' || typeof r.params?.name !== 'string') return undefined;
    const e = this.gw.registry.catalog.toolIndex.get(r.params.name);
    if (e === undefined) return undefined;
    let c = this.#paramHeaders.get(e.def);
    if (c === undefined) {
      const compiled = compileParamHeaders(e.def.inputSchema);
      c = 'invalid' in compiled ? null : compiled;
      this.#paramHeaders.set(e.def, c);
    }
    return c ?? undefined;
  }

  /** Tells every open 2025-era GET stream that a list changed. */
  broadcast(method: string): void {
    const msg = { jsonrpc: '2.0', method };
    for (const s of this.sessions.values()) {
      if (s.stream !== undefined && !s.stream.closed) s.stream.send(msg);
    }
  }

  closeAll(): void {
    for (const s of this.sessions.values()) closeSession(s);
    this.sessions.closeAll();
  }
}

export function closeSession(s: AgentSession): void {
  s.stream?.close();
  s.stream = undefined;
  if (s.inflight !== undefined) for (const c of s.inflight.values()) c.abort(new Error('session closed'));
  s.requests?.failAll('the agent session closed');
  const cleanup = s.cleanup;
  s.cleanup = undefined;
  if (cleanup !== undefined) for (const fn of cleanup) fn();
}

export function clientAddress(req: IncomingMessage): string | undefined {
  return req.socket.remoteAddress;
}
