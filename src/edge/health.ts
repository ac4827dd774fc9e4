// `/healthz` (the process serves) and `/readyz` (send it traffic), on the data plane and on the admin
// listener alike, for orchestrators and load balancers.
//
// Both are served before everything else on either listener: no authentication (probes carry no
// credentials), no exchange or audit record (a probe every few seconds would bury the trail), and no
// Host or Origin check. Kubernetes probes send `Host: <pod IP>:<port>`, which no allowedHosts list
// names, so a Host check would fail every probe of a gateway that is not on loopback. DNS rebinding,
// what the Host check defends against, gains nothing here: the data plane's answer withholds every
// free-text detail (see ReadinessView), and the full one is only on the admin listener, which is
// private by design.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJsonText } from './respond.ts';
import { readiness, type ReadinessSource, type ReadinessView } from './readiness.ts';

export const HEALTH_PATH = '/healthz';
export const READY_PATH = '/readyz';
export type ProbePath = typeof HEALTH_PATH | typeof READY_PATH;
export const PROBE_PATHS: readonly ProbePath[] = [HEALTH_PATH, READY_PATH];

const ALIVE = JSON.stringify({ status: 'ok' });
const NO_STORE = { 'cache-control': 'no-store' };

/** The probe a request URL (query allowed) names, or undefined. Exact paths only. */
export function probeOf(url: string | undefined): ProbePath | undefined {
  if (url === undefined) return undefined;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  return path === HEALTH_PATH || path === READY_PATH ? path : undefined;
}

/**
 * Answers a probe: GET or HEAD, anything else 405 with Allow. `/healthz` is 200 for as long as the
 * process answers, draining included (restarting a draining gateway would cut the calls it finishes);
 * `/readyz` is 200 or 503 with every check in the body.
 */
export async function serveProbe(src: ReadinessSource, req: IncomingMessage, res: ServerResponse, probe: ProbePath, view: ReadinessView): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const body = JSON.stringify({ error: { code: 'method_not_allowed', message: `${probe} takes GET or HEAD` } });
    sendJsonText(res, 405, body, { ...NO_STORE, allow: 'GET, HEAD' });
    return;
  }
  if (probe === HEALTH_PATH) {
    sendJsonText(res, 200, ALIVE, NO_STORE);
    return;
  }
  const r = await readiness(src, view);
  // Node leaves the body out of a HEAD answer; the status and length are the same as for GET.
  sendJsonText(res, r.ready ? 200 : 503, JSON.stringify(r), NO_STORE);
}

/** Structurally the `gateway` config section: the paths that share the data plane with the probes. */
export interface DataPlanePaths {
  readonly listen: { readonly path: string };
  readonly legacySse: { readonly enabled: boolean; readonly ssePath: string; readonly messagesPath: string };
}

/**
 * Config paths (under `gateway`) that would be shadowed by a probe path, with the message to show:
 * the probes are routed first, so an MCP endpoint at `/readyz` would never be reached.
 */
export function probePathConflicts(g: DataPlanePaths): { path: string[]; message: string }[] {
  const out: { path: string[]; message: string }[] = [];
  const taken = (p: string) => (PROBE_PATHS as readonly string[]).includes(p);
  if (taken(g.listen.path)) out.push({ path: ['listen', 'path'], message: `${g.listen.path} is the gateway's own probe path (${PROBE_PATHS.join(', ')}); choose another MCP endpoint path` });
  if (g.legacySse.enabled) {
    for (const key of ['ssePath', 'messagesPath'] as const) {
      const p = g.legacySse[key];
      if (taken(p)) out.push({ path: ['legacySse', key], message: `${p} is the gateway's own probe path (${PROBE_PATHS.join(', ')}); choose another ${key}` });
    }
  }
  return out;
}
