import { GATEWAY_TARGET } from '../pipeline/target.ts';
import type { Gateway } from '../core/gateway.ts';
import { gatewayError } from '../errors/codes.ts';
import { META_SUBSCRIPTION_ID } from '../protocol/mcp.ts';
import type { ResourceListener } from '../relay/subscriptions.ts';
import type { AgentSession } from '../edge/agent-session.ts';
import type { MethodHandler, MethodOutcome } from './method.ts';
import { resourceTarget } from './targets.ts';
import { routeResource } from '../catalog/catalog.ts';
import { maySubscribe } from '../policy/filter.ts';


/** The session's listener: updates go on its session stream (the GET stream, or the one channel). */
function sessionListener(gw: Gateway, s: AgentSession): ResourceListener {
  if (s.resources !== undefined) return s.resources;
  const l: ResourceListener = {
    uris: new Set(),
    updated(uri) {
      const stream = s.stream;
      if (stream === undefined || stream.closed) return;
      stream.send({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri } });
    },
  };
  s.resources = l;
  (s.cleanup ??= []).push(() => gw.subscriptions.drop(l));
  return l;
}

/** 2025 era: `resources/subscribe` for the session. */
export const resourcesSubscribe: MethodHandler = {
  resolve: resourceTarget('resources/subscribe'),
  async handle(gw, x) {
    const s = x.origin.session;
    if (s === undefined) return { error: gatewayError('method_not_found', 'resources/subscribe needs a 2025-era session; use subscriptions/listen') };
    const err = await gw.subscriptions.subscribe(sessionListener(gw, s), x.params!.uri as string);
    return err === undefined ? { result: {} } : { error: err };
  },
};

export const resourcesUnsubscribe: MethodHandler = {
  resolve: resourceTarget('resources/unsubscribe'),
  handle(gw, x) {
    const s = x.origin.session;
    if (s?.resources !== undefined) gw.subscriptions.unsubscribe(s.resources, x.params!.uri as string);
    return { result: {} };
  },
};

/**
 * 2026-07-28: `subscriptions/listen` holds the request open and streams what the filter asks for,
 * acknowledgement first, each message tagged with the subscription id (the request's id). It ends when
 * the agent closes the stream (or cancels on stdio), or gracefully when the gateway shuts down.
 */
export const subscriptionsListen: MethodHandler = {
  resolve: () => GATEWAY_TARGET,
  async handle(gw, x): Promise<MethodOutcome> {
    const notify = x.origin.notify;
    if (notify === undefined || x.rpcId === undefined) return { error: gatewayError('invalid_request', 'subscriptions/listen needs a response stream (Accept: text/event-stream)') };
    const filter = (x.params?.notifications ?? {}) as Record<string, unknown>;
    if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) return { error: gatewayError('invalid_params', 'Invalid params: notifications must be an object') };
    const sid = x.rpcId;
    const tag = (method: string, params: Record<string, unknown> = {}) => ({ jsonrpc: '2.0' as const, method, params: { ...params, _meta: { [META_SUBSCRIPTION_ID]: sid } } });
    const uris = Array.isArray(filter.resourceSubscriptions) ? filter.resourceSubscriptions.filter((u): u is string => typeof u === 'string') : [];
    const listener: ResourceListener = { uris: new Set(), updated: (uri) => notify(tag('notifications/resources/updated', { uri })) };
    const honored: string[] = [];
    for (const uri of uris) {
      if (!maySubscribe(x.snapshot.policy, x, uri, routeResource(gw.registry.catalog, uri))) continue;
      if ((await gw.subscriptions.subscribe(listener, uri)) === undefined) honored.push(uri);
    }
    const acknowledged: Record<string, unknown> = {};
    for (const k of ['toolsListChanged', 'promptsListChanged', 'resourcesListChanged'] as const) if (filter[k] === true) acknowledged[k] = true;
    if (uris.length > 0) acknowledged.resourceSubscriptions = honored;
    notify(tag('notifications/subscriptions/acknowledged', { notifications: acknowledged }));

    const { promise: ended, resolve } = Promise.withResolvers<'client' | 'server'>();
    const removeList = gw.subscriptions.addListListener({
      tools: acknowledged.toolsListChanged === true,
      prompts: acknowledged.promptsListChanged === true,
      resources: acknowledged.resourcesListChanged === true,
      send: (n) => notify(tag(n.method, n.params)),
      end: () => resolve('server'),
    });
    const onAbort = () => resolve('client');
    if (x.signal.aborted) onAbort();
    x.signal.addEventListener('abort', onAbort, { once: true });
    const why = await ended;
    x.signal.removeEventListener('abort', onAbort);
    removeList();
    gw.subscriptions.drop(listener);
    if (why === 'client') return { error: gatewayError('upstream_failed', 'the subscription was cancelled by the client') };
    return { result: { _meta: { [META_SUBSCRIPTION_ID]: sid } } };
  },
};
