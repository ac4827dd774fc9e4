import { once } from 'node:events';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Gateway } from '../core/gateway.ts';
import { GatewayFault, httpStatusOf } from '../errors/codes.ts';
import { authenticate } from '../identity/authenticator.ts';
import { challengeFor } from '../identity/challenge.ts';
import { credentialsFromRequest } from '../identity/credentials.ts';
import { compileHostGuard } from '../edge/origin-guard.ts';
import { readBody } from '../edge/read-body.ts';
import { createListener, listenOn } from '../edge/listen.ts';
import { auditRoutes } from './audit-routes.ts';
import { keyRoutes } from './key-routes.ts';
import { policyRoutes } from './policy-routes.ts';
import { AdminError, AdminRouter, type AdminResponse, type AdminStream } from './routes.ts';
import { tokenRoutes } from './token-routes.ts';
import { trafficRoutes } from './traffic-routes.ts';
import { metricsEndpoint, metricsMatch, servePublicMetrics } from './metrics-route.ts';
import { buildAdminBody, type AdminEvent } from '../audit/build-entry.ts';
import { ANONYMOUS } from '../pipeline/principal.ts';
import { probeOf, serveProbe } from '../edge/health.ts';

const MAX_ADMIN_BODY = 64 * 1024;

export interface AdminPlane {
  readonly server: Server;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The admin listener: its own port, its own authentication (admin keys, or tokens carrying the admin
 * role), JSON in and out. The data plane never serves these routes, and this listener never serves MCP.
 */
export async function startAdminPlane(gw: Gateway): Promise<AdminPlane> {
  const cfg = gw.snapshot.config.admin;
  if (cfg === undefined) throw new Error('startAdminPlane called without an admin section');
  const router = new AdminRouter([...keyRoutes, ...tokenRoutes, ...policyRoutes, ...auditRoutes, ...trafficRoutes, { method: 'GET', path: '/v1/whoami', action: 'whoami', handle: async (r) => ({ status: 200, body: { principal: r.principal } }) }]);
  let port = 0;
  const onRequest: RequestListener = (req, res) => {
    handle(gw, router, req, res, port).catch((err: unknown) => {
      gw.log.error({ err }, 'admin request failed');
      if (!res.headersSent) send(res, 500, { error: { code: 'internal_error', message: 'internal error' } });
      else res.destroy();
    });
  };
  const server = await createListener({ headersTimeout: 10_000, requestTimeout: 30_000 }, cfg.listen.tls, gw.snapshot.dir, 'admin.listen.tls', onRequest);
  const bound = await listenOn(server, cfg.listen.host, cfg.listen.port, cfg.listen.tls !== undefined);
  port = bound.port;
  return {
    server,
    url: bound.origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(gw: Gateway, router: AdminRouter, req: IncomingMessage, res: ServerResponse, port: number): Promise<void> {
  // Probes come before the Host check and authentication, and leave no record: why in edge/health.ts.
  const probe = probeOf(req.url);
  if (probe !== undefined) return serveProbe(gw, req, res, probe, { detail: true });
  const snap = gw.snapshot;
  const cfg = snap.config.admin;
  const l = snap.auth.admin;
  if (cfg === undefined || l === undefined) return send(res, 503, { error: { code: 'admin_disabled', message: 'the admin API is not configured' } });
  // Same DNS-rebinding guard as the data plane; no browser origin is allowed to call the admin API yet.
  const guard = compileHostGuard({ listenHost: cfg.listen.host, listenPort: port, allowedOrigins: [], allowedHosts: [] });
  if (!guard.checkHost(req.headers.host)) return send(res, 403, { error: { code: 'forbidden_host', message: 'Forbidden: Host header not allowed' } });
  if (req.headers.origin !== undefined && !guard.checkOrigin(req.headers.origin)) return send(res, 403, { error: { code: 'forbidden_origin', message: 'Forbidden: Origin not allowed' } });

  const url = new URL(req.url ?? '/', 'http://admin');
  // Scrapers without credentials (telemetry.metrics.public) are served here, unaudited: why in metrics-route.ts.
  const metrics = metricsEndpoint(gw, url.pathname);
  if (metrics?.public === true) return servePublicMetrics(gw, req, res);
  const started = new Date();
  const t0 = performance.now();
  const auth = await authenticate(l, credentialsFromRequest(req, undefined), gw.identity);
  if (auth.kind === 'refused') {
    await recordAdmin(gw, req, { principal: auth.principal ?? ANONYMOUS, action: 'authenticate', status: httpStatusOf(auth.error), time: started, durationMs: performance.now() - t0, error: auth.error.message });
    gw.log.warn({ reason: auth.failure.reason, method: auth.decision.filter, clientAddress: req.socket.remoteAddress, path: req.url }, 'admin request refused');
    const challenge = challengeFor(l, auth.failure, { metadataUrl: undefined, scopes: [], realm: 'gatehouse-admin' });
    return send(res, httpStatusOf(auth.error), { error: { code: auth.error.name, message: auth.error.message } }, challenge === undefined ? undefined : { 'www-authenticate': challenge });
  }
  const found = metrics !== undefined ? metricsMatch(req.method) : router.match(req.method ?? 'GET', url.pathname);
  if (found === undefined) return send(res, 404, { error: { code: 'not_found', message: `no admin route ${url.pathname}` } });
  if ('allowed' in found) return send(res, 405, { error: { code: 'method_not_allowed', message: `${url.pathname} takes ${found.allowed.join(', ')}` } }, { allow: found.allowed.join(', ') });

  let out: AdminResponse;
  const event = { principal: auth.principal, action: found.route.action, time: started, subject: subjectOf(found.params) };
  try {
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    out = await found.route.handle({ gw, principal: auth.principal, params: found.params, query: url.searchParams, body });
  } catch (err) {
    if (!(err instanceof AdminError)) {
      await recordAdmin(gw, req, { ...event, status: 500, durationMs: performance.now() - t0, error: 'internal error' });
      throw err;
    }
    if (!(await recordAdmin(gw, req, { ...event, status: err.status, durationMs: performance.now() - t0, error: err.message }))) return sendAuditUnavailable(res);
    return send(res, err.status, { error: { code: err.code, message: err.message } });
  }
  // Like an agent's answer, an admin answer goes out once its audit entry is durable.
  if (!(await recordAdmin(gw, req, { ...event, status: out.status, durationMs: performance.now() - t0 }))) return sendAuditUnavailable(res);
  gw.log.info({ action: found.route.action, principal: auth.principal.id, authMethod: auth.principal.authMethod, credentialId: auth.principal.credentialId, params: found.params, status: out.status }, 'admin action');
  if (out.stream !== undefined) return pipeStream(res, out.status, out.stream);
  send(res, out.status, out.body);
}

/**
 * Streams a body as it is produced. Once the head is out a failure can only cut the connection, so
 * the client sees a truncated body (no final chunk), never a clean end of a partial one.
 */
async function pipeStream(res: ServerResponse, status: number, s: AdminStream): Promise<void> {
  res.writeHead(status, { 'content-type': s.contentType, 'cache-control': 'no-store' });
  const gone = () => new Error('the admin client closed the connection');
  const closed = new Promise<never>((_resolve, reject) => res.once('close', () => reject(gone())));
  closed.catch(() => {});
  try {
    await s.pipe((chunk) => {
      if (res.destroyed) throw gone();
      if (res.write(chunk)) return;
      return Promise.race([once(res, 'drain').then(() => undefined), closed]);
    });
    res.end();
  } catch (err) {
    const clientLeft = res.destroyed;
    res.destroy();
    // A client that hung up is not the gateway's failure; anything else is logged by the caller.
    if (!clientLeft) throw err;
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'];
  let buf: Buffer;
  try {
    buf = await readBody(req, MAX_ADMIN_BODY);
  } catch (err) {
    if (err instanceof GatewayFault) throw new AdminError(httpStatusOf(err.error), err.error.name, err.error.message);
    throw err;
  }
  if (buf.length === 0) return {};
  if (type !== undefined && !/^application\/json\b/i.test(type)) throw new AdminError(415, 'unsupported_media_type', 'send the body as application/json');
  try {
    return JSON.parse(buf.toString('utf8')) as unknown;
  } catch (err) {
    throw new AdminError(400, 'invalid_json', `the body is not JSON: ${(err as Error).message}`);
  }
}

/** Records an admin request in the audit trail; false when the trail could not keep it. */
async function recordAdmin(gw: Gateway, req: IncomingMessage, e: Omit<AdminEvent, 'clientAddress'>): Promise<boolean> {
  if (gw.audit === undefined) return true;
  const address = req.socket.remoteAddress;
  try {
    await gw.audit.event(buildAdminBody(address === undefined ? e : { ...e, clientAddress: address }));
    return true;
  } catch {
    return false;
  }
}

function sendAuditUnavailable(res: ServerResponse): void {
  send(res, 503, { error: { code: 'audit_unavailable', message: 'the audit trail cannot record this action; retry later' } }, { 'retry-after': '5' });
}

/** The route parameters (`{id}`), as the subject the action touched. */
function subjectOf(params: Readonly<Record<string, string>>): string | undefined {
  const values = Object.values(params);
  return values.length === 0 ? undefined : values.join('/');
}

function send(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}
