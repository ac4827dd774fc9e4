import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { gatewayError } from '../errors/codes.ts';
import type { Gateway } from '../core/gateway.ts';
import { Edge } from './edge.ts';
import { listChangedMethods } from './catalog-changes.ts';
import { handleDelete, handleGet } from './get-delete.ts';
import { handleLegacySse, legacySseRoute } from './legacy-sse-edge.ts';
import { handlePost } from './post.ts';
import { refuse } from './refuse.ts';
import { sendJson } from './respond.ts';
import { authenticateHttp } from './authenticate.ts';
import { isMetadataPath, resourceMetadata } from '../identity/resource-metadata.ts';
import { createListener, listenOn } from './listen.ts';
import { probeOf, serveProbe } from './health.ts';

/** Where the gateway publishes the public keys of the tokens it mints. */
export const JWKS_PATH = '/.well-known/jwks.json';

export interface DataPlane {
  readonly edge: Edge;
  readonly server: Server;
  readonly url: string;
  /** Stops accepting, lets in-flight exchanges finish (up to drainSeconds), then closes streams. */
  drain(): Promise<boolean>;
}

/**
 * The data plane listener. Only transport hygiene lives here: host and origin checks, routing by
 * path and method. Nothing about policy.
 */
export async function startDataPlane(gw: Gateway): Promise<DataPlane> {
  const edge = new Edge(gw);
  const cfg = gw.snapshot.config.gateway;
  const onRequest: RequestListener = (req, res) => {
    dispatch(edge, req, res).catch((err: unknown) => {
      gw.log.error({ err }, 'unhandled edge error');
      if (!res.headersSent) sendJson(res, 500, { jsonrpc: '2.0', id: null, error: { code: -32603, message: 'internal error' } });
      else res.destroy();
    });
  };
  const options = { maxHeaderSize: cfg.limits.maxHeaderBytes, requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 65_000 };
  const server = await createListener(options, cfg.listen.tls, gw.snapshot.dir, 'gateway.listen.tls', onRequest);
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // Node answers oversized headers itself; make the status explicit and never crash on a bad client.
    if (!socket.writable) return socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });
  const bound = await listenOn(server, cfg.listen.host, cfg.listen.port, cfg.listen.tls !== undefined);
  edge.port = bound.port;
  gw.identity.setBoundPort(bound.port);
  const url = `${bound.origin}${cfg.listen.path}`;
  const unsubscribe = gw.registry.onCatalogChange((next, prev) => {
    for (const method of listChangedMethods(next, prev)) edge.broadcast(method);
  });

  return {
    edge,
    server,
    url,
    async drain() {
      gw.beginDrain();
      server.close();
      server.closeIdleConnections();
      const ok = await gw.drained(gw.snapshot.config.gateway.drainSeconds * 1000);
      unsubscribe();
      edge.closeAll();
      server.closeAllConnections();
      return ok;
    },
  };
}

async function dispatch(edge: Edge, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const snap = edge.gw.snapshot;
  const path = pathOf(req.url);
  // Probes come before the Host check and authentication, and leave no record: why in health.ts.
  const probe = probeOf(path);
  if (probe !== undefined) return serveProbe(edge.gw, req, res, probe, { detail: false });
  const g = snap.config.gateway;
  const guard = edge.guard(snap);
  // Public documents: no credentials, any origin may read them; the Host check still applies.
  const metadata = snap.auth.data.bearer && isMetadataPath(path, g.listen.path);
  const jwks = path === JWKS_PATH && snap.auth.data.methods.some((m) => m.type === 'gateway_token');
  if (metadata || jwks) {
    if (!guard.checkHost(req.headers.host)) return refuse(edge, req, res, gatewayError('forbidden_host', 'Forbidden: Host header not allowed'));
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(edge, req, res, gatewayError('method_not_allowed', `${path} takes GET`), { allow: 'GET' });
    const body = metadata ? resourceMetadata(snap, edge.gw.identity.canonical().resource) : await edge.gw.identity.tokens.jwks(Date.now());
    return void sendJson(res, 200, body, { 'cache-control': 'public, max-age=300', 'access-control-allow-origin': '*' });
  }
  const legacy = legacySseRoute(g.legacySse, path);
  if (legacy === undefined && path !== g.listen.path) {
    return refuse(edge, req, res, gatewayError('method_not_found', `no MCP endpoint at ${path}`));
  }
  if (!guard.checkHost(req.headers.host)) return refuse(edge, req, res, gatewayError('forbidden_host', 'Forbidden: Host header not allowed'));
  if (!guard.checkOrigin(req.headers.origin)) return refuse(edge, req, res, gatewayError('forbidden_origin', 'Forbidden: Origin not allowed'));
  // Authentication before the body is read: a caller without credentials makes the gateway parse nothing.
  const auth = await authenticateHttp(edge, req, res);
  if (auth === undefined) return;
  if (legacy !== undefined) return handleLegacySse(edge, req, res, legacy, auth);
  switch (req.method) {
    case 'POST':
      return handlePost(edge, req, res, auth);
    case 'GET':
      return handleGet(edge, req, res, auth);
    case 'DELETE':
      return handleDelete(edge, req, res, auth);
    default:
      return refuse(edge, req, res, gatewayError('method_not_allowed', `method ${req.method} not allowed`), { allow: 'POST, GET, DELETE' });
  }
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
