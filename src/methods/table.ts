import type { MethodHandler } from './method.ts';
import { resourcesList, resourceTemplatesList, promptsList, toolsList } from './lists.ts';
import { discover, initialize, ping, setLevel } from './own.ts';
import { resourcesSubscribe, resourcesUnsubscribe, subscriptionsListen } from './subscriptions.ts';
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
]);
