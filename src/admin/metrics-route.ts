// Prometheus metrics on the admin listener (telemetry.metrics). Authenticated and audited like every
// admin route unless `public: true`; then served before authentication, and not audited: there is no
// principal to record, and an entry per anonymous scrape would let anyone who reaches the port grow
// the audit trail at will.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Gateway } from '../core/gateway.ts';
import type { AdminResponse, AdminRoute } from './routes.ts';

/** The metrics endpoint's settings when `path` is it and metrics are on (by the configuration in force). */
export function metricsEndpoint(gw: Gateway, path: string): { readonly public: boolean } | undefined {
  const cfg = gw.snapshot.config.telemetry.metrics;
  if (gw.metrics === undefined || !cfg.enabled || path !== cfg.path) return undefined;
  return cfg;
}

/** The authenticated metrics route (its path comes from the configuration; see metricsMatch). */
export const metricsRoute: AdminRoute = {
  method: 'GET',
  path: '/metrics',
  action: 'metrics.read',
  handle: async (r): Promise<AdminResponse> => {
    const text = await render(r.gw);
    return { status: 200, body: undefined, stream: { contentType: r.gw.metrics!.contentType, pipe: async (write) => void (await write(text)) } };
  },
};

/** The admin router's answer for the metrics path: the route for GET, "method not allowed" otherwise. */
export function metricsMatch(method: string | undefined): { route: AdminRoute; params: Record<string, string> } | { allowed: string[] } {
  return method === 'GET' ? { route: metricsRoute, params: {} } : { allowed: ['GET'] };
}

/** A scrape of public metrics: no credentials asked, no audit entry. */
export async function servePublicMetrics(gw: Gateway, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET') {
    const text = JSON.stringify({ error: { code: 'method_not_allowed', message: `${gw.snapshot.config.telemetry.metrics.path} takes GET` } });
    res.writeHead(405, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), allow: 'GET', 'cache-control': 'no-store' });
    res.end(text);
    return;
  }
  const text = await render(gw);
  res.writeHead(200, { 'content-type': gw.metrics!.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function render(gw: Gateway): Promise<string> {
  const m = gw.metrics;
  if (m === undefined) throw new Error('metrics route reached without metrics');
  return m.render();
}
