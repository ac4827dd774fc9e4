import type { Gateway } from '../core/gateway.ts';
import { gatewayError, GatewayFault } from '../errors/codes.ts';
import type { MethodOutcome } from '../methods/method.ts';
import { forward, withField } from '../methods/forward.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import { TARGET_DEF } from '../pipeline/target.ts';
import type { JsonRpcRequest, JsonRpcResponse } from '../protocol/jsonrpc.ts';
import { agentNotifier, askAgent, refusal, refusalFor } from './ask-agent.ts';
import { ParkedCall } from './parked.ts';
import { requestDigest, type SealedState, type StateBinding } from './request-state.ts';

/**
 * tools/call, prompts/get and resources/read: the requests on which an upstream may need input from
 * the agent (sampling, elicitation, roots). Four combinations of eras meet here:
 *
 * - 2025 agent, 2025 upstream: the upstream's server->client request is relayed to the agent's session.
 * - 2025 agent, 2026 upstream: each `input_required` round is turned into server->client requests to
 *   the agent, and the gateway retries the upstream with the answers.
 * - 2026 agent, 2026 upstream: `input_required` passes through; the upstream's `requestState` is sealed
 *   inside the gateway's own, which binds it to the principal, the request and an expiry.
 * - 2026 agent, 2025 upstream: the upstream call is parked here; the agent gets `input_required`, and
 *   its retry carries the answers the parked call is waiting for.
 */
export async function relayCall(gw: Gateway, x: Exchange, params: Record<string, unknown> | undefined): Promise<MethodOutcome> {
  const upstream = x.target!.upstream!;
  const upstreamEra = gw.registry.get(upstream)?.session?.era ?? 'legacy';
  if (x.origin.era !== 'modern') {
    if (upstreamEra === 'modern') return legacyAgentModernUpstream(gw, x, withoutRetryFields(params));
    return forward(gw, x, params, { onServerRequest: askAgent(x) });
  }
  const token = x.params?.requestState;
  if (token !== undefined) {
    const binding = bindingOf(gw, x);
    const opened = gw.relay.sealer.open(token, { principal: binding.p, request: binding.r, digest: binding.d, now: Date.now() });
    if (!opened.ok) return { error: gatewayError('invalid_params', `Invalid params: ${opened.reason}`) };
    const state = opened.state;
    if (state.k === 'parked') return resumeParked(gw, x, state);
    if (state.u !== upstream) return { error: gatewayError('invalid_params', 'Invalid params: requestState belongs to another upstream') };
    return modernPassThrough(gw, x, params, state.s);
  }
  if (upstreamEra === 'modern') return modernPassThrough(gw, x, params, undefined);
  // The 2025 `task` parameter means nothing in 2026-07-28 and must not turn this call into a task.
  const base = withoutRetryFields(params);
  return startParked(gw, x, base !== undefined && 'task' in base ? withField(base, 'task', undefined) : base);
}

function bindingOf(gw: Gateway, x: Exchange): StateBinding {
  return { p: x.principal.id, r: `${x.method} ${x.target!.name}`, d: requestDigest(x.params), e: Date.now() + gw.relay.ttlMs };
}

function withoutRetryFields(params: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (params === undefined || (!('requestState' in params) && !('inputResponses' in params))) return params;
  const { requestState: _s, inputResponses: _r, ...rest } = params;
  return rest;
}

/** 2026 agent, 2026 upstream. The common case (no retry) forwards the agent's params as they are. */
async function modernPassThrough(gw: Gateway, x: Exchange, params: Record<string, unknown> | undefined, upstreamState: string | undefined): Promise<MethodOutcome> {
  let p = params;
  if (params !== undefined && 'requestState' in params) {
    const { requestState: _ours, ...rest } = params;
    p = upstreamState === undefined ? rest : { ...rest, requestState: upstreamState };
  }
  const out = await forward(gw, x, p, { clientCapabilities: x.origin.clientCapabilities });
  if ('result' in out && out.result.resultType === 'input_required') {
    const s = out.result.requestState;
    const sealed: SealedState = { k: 'wrapped', u: x.target!.upstream!, ...(typeof s === 'string' ? { s } : {}), ...bindingOf(gw, x) };
    out.result.requestState = gw.relay.sealer.seal(sealed);
  }
  return out;
}

/** 2025 agent, 2026 upstream: drive the rounds on the agent's behalf. */
async function legacyAgentModernUpstream(gw: Gateway, x: Exchange, base: Record<string, unknown> | undefined): Promise<MethodOutcome> {
  let p = base;
  const ask = askAgent(x);
  for (let round = 0; round <= gw.relay.maxRounds; round++) {
    const out = await forward(gw, x, p, { clientCapabilities: x.origin.clientCapabilities });
    if (!('result' in out) || out.result.resultType !== 'input_required') return out;
    if (round === gw.relay.maxRounds) break;
    const requests = out.result.inputRequests;
    const responses: Record<string, unknown> = {};
    if (requests !== null && typeof requests === 'object') {
      for (const [key, r] of Object.entries(requests as Record<string, unknown>)) {
        const req = r as { method?: unknown; params?: unknown } | null;
        if (req === null || typeof req !== 'object' || typeof req.method !== 'string') {
          return { error: gatewayError('upstream_protocol_error', `upstream "${x.target!.upstream}" sent a malformed input request "${key}"`, { upstream: x.target!.upstream }) };
        }
        const answer = await ask({ jsonrpc: '2.0', id: key, method: req.method, params: req.params as Record<string, unknown> | undefined });
        if ('error' in answer) return { upstreamError: answer.error };
        responses[key] = answer.result;
      }
    }
    const state = out.result.requestState;
    p = { ...base, inputResponses: responses, ...(typeof state === 'string' ? { requestState: state } : {}) };
  }
  return { error: gatewayError('upstream_protocol_error', `upstream "${x.target!.upstream}" still needed input after ${gw.relay.maxRounds} rounds`, { upstream: x.target!.upstream }) };
}

/** 2026 agent, 2025 upstream: make the call and wait for its result or its first question. */
function startParked(gw: Gateway, x: Exchange, params: Record<string, unknown> | undefined): Promise<MethodOutcome> {
  const parked = new ParkedCall();
  const caps = x.origin.clientCapabilities;
  const onServerRequest = (req: JsonRpcRequest): Promise<JsonRpcResponse> => {
    const why = refusalFor(req.method, req.params, caps);
    return why !== undefined ? Promise.resolve(refusal(req.id, why)) : parked.ask(req);
  };
  const t0 = performance.now();
  const call = gw.router.call(x.snapshot, x.target!.upstream!, x.method, params, {
    signal: parked.controller.signal,
    onNotification: (n) => parked.notify?.(n),
    onServerRequest,
    relayKey: `parked:${parked.id}`,
    toolDef: x.target!.kind === 'tool' ? x.target![TARGET_DEF] : undefined,
  });
  parked.attach(call);
  void call.finally(() => (x.upstreamMs = performance.now() - t0)).catch(() => undefined);
  return driveParked(gw, x, parked);
}

/** A retry carrying answers for a parked call. */
async function resumeParked(gw: Gateway, x: Exchange, state: Extract<SealedState, { k: 'parked' }>): Promise<MethodOutcome> {
  const parked = gw.relay.parked.take(state.id);
  if (parked === undefined) {
    return { error: gatewayError('invalid_params', 'Invalid params: requestState refers to a call that is no longer waiting (answered, expired, or held by another gateway instance)') };
  }
  if (parked.round !== state.n) {
    gw.relay.parked.restore(parked);
    return { error: gatewayError('invalid_params', 'Invalid params: requestState was already used; retry with the latest one') };
  }
  const responses = x.params?.inputResponses;
  if (responses !== undefined && (responses === null || typeof responses !== 'object' || Array.isArray(responses))) {
    gw.relay.parked.restore(parked);
    return { error: gatewayError('invalid_params', 'Invalid params: inputResponses must be an object keyed by the input request keys') };
  }
  const given = (responses ?? {}) as Record<string, unknown>;
  for (const p of [...parked.pending.values()]) {
    const v = given[p.key];
    // A missing or unusable answer leaves the question open: the agent is asked again.
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) p.settle({ result: v as Record<string, unknown> });
  }
  return driveParked(gw, x, parked);
}

async function driveParked(gw: Gateway, x: Exchange, parked: ParkedCall): Promise<MethodOutcome> {
  parked.notify = agentNotifier(x);
  const onAbort = (): void => parked.abandon('the agent cancelled the request');
  x.signal.addEventListener('abort', onAbort, { once: true });
  let o;
  try {
    o = await parked.next();
  } finally {
    x.signal.removeEventListener('abort', onAbort);
    parked.notify = undefined;
  }
  if (o.kind === 'done') return 'error' in o.response ? { upstreamError: o.response.error } : { result: o.response.result };
  if (o.kind === 'failed') {
    if (o.error instanceof GatewayFault) return { error: o.error.error };
    if (x.signal.aborted) return { error: gatewayError('upstream_failed', 'the call was cancelled', { upstream: x.target!.upstream }) };
    throw o.error;
  }
  parked.round++;
  if (!gw.relay.parked.add(parked, gw.relay.ttlMs)) {
    parked.abandon('too many calls waiting for agent input');
    return { error: gatewayError('upstream_failed', 'the gateway holds too many calls waiting for agent input; retry later') };
  }
  const inputRequests: Record<string, unknown> = {};
  for (const p of o.pending) inputRequests[p.key] = p.params === undefined ? { method: p.method } : { method: p.method, params: p.params };
  const requestState = gw.relay.sealer.seal({ k: 'parked', id: parked.id, n: parked.round, ...bindingOf(gw, x) });
  return { result: { resultType: 'input_required', inputRequests, requestState } };
}
