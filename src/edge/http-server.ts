import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gatewayError } from '../errors/codes.ts';
import type { Gateway } from '../core/gateway.ts';
import { Edge } from './edge.ts';
import { listChangedMethods } from './catalog-changes.ts';
import { handleDelete, handleGet } from './get-delete.ts';
import { handleLegacySse, legacySseRoute } from './legacy-sse-edge.ts';
import { handlePost } from './post.ts';
import { refuse } from './refuse.ts';
import { sendJson } from './respond.ts';

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
  const server = createServer({ maxHeaderSize: cfg.limits.maxHeaderBytes, requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 65_000 }, (req, res) => {
    dispatch(edge, req, res).catch((err: unknown) => {
      gw.log.error({ err }, 'unhandled edge error');
      if (!res.headersSent) sendJson(res, 500, { jsonrpc: '2.0', id: null, error: { code: -32603, message: 'internal error' } });
      else res.destroy();
    });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // Node answers oversized headers itself; make the status explicit and never crash on a bad client.
    if (!socket.writable) return socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.listen.port, cfg.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  edge.port = addr.port;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}${cfg.listen.path}`;
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
  const legacy = legacySseRoute(snap.config.gateway.legacySse, path);
  if (legacy === undefined && path !== snap.config.gateway.listen.path) {
    return refuse(edge, req, res, gatewayError('method_not_found', `no MCP endpoint at ${path}`));
  }
  const guard = edge.guard(snap);
  if (!guard.checkHost(req.headers.host)) return refuse(edge, req, res, gatewayError('forbidden_host', 'Forbidden: Host header not allowed'));
  if (!guard.checkOrigin(req.headers.origin)) return refuse(edge, req, res, gatewayError('forbidden_origin', 'Forbidden: Origin not allowed'));
  if (legacy !== undefined) return handleLegacySse(edge, req, res, legacy);
  switch (req.method) {
    case 'POST':
      return handlePost(edge, req, res);
    case 'GET':
      return handleGet(edge, req, res);
    case 'DELETE':
      return handleDelete(edge, req, res);
    default:
      return refuse(edge, req, res, gatewayError('method_not_allowed', `method ${req.method} not allowed`), { allow: 'POST, GET, DELETE' });
  }
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
