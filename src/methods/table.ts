import type { MethodHandler } from './method.ts';
import { resourcesList, resourceTemplatesList, promptsList, toolsList } from './lists.ts';
import { discover, initialize, ping, setLevel } from './own.ts';
import { resourcesSubscribe, resourcesUnsubscribe, subscriptionsListen } from './subscriptions.ts';
import { tasksCancel, tasksGet, tasksList, tasksResult, tasksUpdate } from './tasks.ts';
import { completionComplete, promptsGet, resourcesRead, toolsCall } from './targets.ts';

/** Every agent->gateway request the gateway serves. Anything else is "method not found". */
export const METHODS: ReadonlyMap<string, MethodHandler> = new Map<string, MethodHandler>([
  ['ping', ping],
  ['initialize', initialize],
  ['server/discover', discover],
  ['logging/setLevel', setLevel],
  ['tools/list', toolsList],
  ['tools/call', toolsCall],
  ['prompts/list', promptsList],
  ['prompts/get', promptsGet],
  ['resources/list', resourcesList],
  ['resources/templates/list', resourceTemplatesList],
  ['resources/read', resourcesRead],
  ['completion/complete', completionComplete],
  ['resources/subscribe', resourcesSubscribe],
  ['resources/unsubscribe', resourcesUnsubscribe],
  ['subscriptions/listen', subscriptionsListen],
  ['tasks/get', tasksGet],
  ['tasks/result', tasksResult],
  ['tasks/list', tasksList],
  ['tasks/cancel', tasksCancel],
  ['tasks/update', tasksUpdate],
]);

/**
 * Methods one era removed or never had. 2026-07-28 dropped the handshake, `ping`, `logging/setLevel`
 * and `resources/(un)subscribe` (per-request metadata and `subscriptions/listen` replace them); a
 * modern request for one is "method not found" (HTTP 404), as that revision asks.
 */
const ERA_ONLY: ReadonlyMap<string, 'legacy' | 'modern'> = new Map([
  ['initialize', 'legacy'],
  ['ping', 'legacy'],
  ['logging/setLevel', 'legacy'],
  ['resources/subscribe', 'legacy'],
  ['resources/unsubscribe', 'legacy'],
  ['subscriptions/listen', 'modern'],
]);

/** The handler for `method` as an agent of `era` may call it. */
export function methodFor(method: string, era: 'legacy' | 'modern' | undefined): MethodHandler | undefined {
  const only = ERA_ONLY.get(method);
  if (only !== undefined && era !== undefined && only !== era) return undefined;
  return METHODS.get(method);
}
