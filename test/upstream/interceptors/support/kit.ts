// Router tests without a whole gateway: a snapshot holding just what the interceptors read, and
// targets that stand for an upstream (real sessions, or a scripted stand-in for breaker states).
import { fileURLToPath } from 'node:url';
import type { CompiledUpstream, Snapshot } from '../../../../src/config/snapshot.ts';
import type { UpstreamConfig } from '../../../../src/config/schema/upstream.ts';
import { gatewayError, GatewayFault } from '../../../../src/errors/codes.ts';
import type { JsonRpcResponse } from '../../../../src/protocol/jsonrpc.ts';
import { compileToolClasses } from '../../../../src/policy/tool-class.ts';
import type { UpstreamTarget } from '../../../../src/upstream/interceptors/interceptor.ts';
import { NotSentFault, type CallOptions, type UpstreamSession } from '../../../../src/upstream/session.ts';

export const RESILIENCE_SERVER = fileURLToPath(new URL('./resilience-server.ts', import.meta.url));

/** The resilience server as a gateway's stdio upstream `res`, its stderr (what it started and was told to cancel) appended to `stderrFile`. */
export function resilienceUpstream(stderrFile: string, over: Record<string, unknown>): Record<string, unknown> {
  return { name: 'res', transport: 'stdio', command: '/bin/sh', args: ['-c', 'exec "$0" "$1" 2>>"$2"', process.execPath, RESILIENCE_SERVER, stderrFile], ...over };
}

let generation = 1_000;

/** A snapshot of `configs`; `identity` defaults to `<name>-1` (equal identity: the same running upstream). */
export function snapshotOf(configs: UpstreamConfig[], identities: Record<string, string> = {}): Snapshot {
  const upstreams: CompiledUpstream[] = configs.map((c) => ({ name: c.name, config: c, identity: identities[c.name] ?? `${c.name}-1`, prefix: c.name, dir: process.cwd() }));
  return {
    generation: ++generation,
    upstreams,
    upstreamByName: new Map(upstreams.map((u) => [u.name, u])),
    toolClasses: compileToolClasses(configs, 'high_risk_write'),
  } as unknown as Snapshot;
}

/** Sends every attempt to the next session in `sessions` (the last one repeats): a pool failing over. */
export class SessionTarget implements UpstreamTarget {
  readonly name: string;
  readonly sessions: UpstreamSession[];
  /** Index of the session each attempt went to. */
  readonly used: number[] = [];

  constructor(name: string, sessions: UpstreamSession[]) {
    this.name = name;
    this.sessions = sessions;
  }

  request(method: string, params: Record<string, unknown> | undefined, opts: CallOptions): Promise<JsonRpcResponse> {
    const i = Math.min(this.used.length, this.sessions.length - 1);
    this.used.push(i);
    return this.sessions[i]!.request(method, params, opts);
  }
}

export type Behaviour = 'ok' | 'rpc-error' | 'failed' | 'timeout' | 'not-sent' | 'hang';

/** A scripted upstream: answers or fails as told, and counts what reached it. */
export class ScriptedTarget implements UpstreamTarget {
  readonly name: string;
  behaviour: Behaviour = 'ok';
  /** This many calls fail as not sent before `behaviour` applies. */
  failNext = 0;
  calls = 0;
  /** Settles calls left hanging by `hang`. */
  readonly pending: Array<(r: JsonRpcResponse) => void> = [];

  constructor(name: string) {
    this.name = name;
  }

  async request(method: string, _params: Record<string, unknown> | undefined, opts: CallOptions): Promise<JsonRpcResponse> {
    this.calls++;
    if (this.failNext > 0) {
      this.failNext--;
      throw new NotSentFault(gatewayError('upstream_unavailable', `upstream "${this.name}": the replica went away`, { upstream: this.name }));
    }
    switch (this.behaviour) {
      case 'ok':
        return { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: `ok ${method}` }] } };
      case 'rpc-error':
        return { jsonrpc: '2.0', id: 1, error: { code: -32602, message: 'bad arguments' } };
      case 'failed':
        throw new GatewayFault(gatewayError('upstream_failed', `upstream "${this.name}": the process exited`, { upstream: this.name }));
      case 'timeout':
        throw new GatewayFault(gatewayError('upstream_timeout', `${method} on upstream "${this.name}" got no answer within 1 ms`, { upstream: this.name }));
      case 'not-sent':
        throw new NotSentFault(gatewayError('upstream_unavailable', `upstream "${this.name}" has no ready replica`, { upstream: this.name }));
      case 'hang':
        return new Promise((resolve, reject) => {
          this.pending.push(resolve);
          opts.signal?.addEventListener('abort', () => reject(opts.signal!.reason), { once: true });
        });
    }
  }
}

/** Looks targets up by name, as the registry does. */
export function lookup(...targets: UpstreamTarget[]): { get(name: string): UpstreamTarget | undefined } {
  const by = new Map(targets.map((t) => [t.name, t]));
  return { get: (name) => by.get(name) };
}

/** A GatewayFault's error name, for assert.rejects predicates. */
export function faultNamed(name: string): (err: unknown) => boolean {
  return (err) => err instanceof GatewayFault && err.error.name === name;
}
