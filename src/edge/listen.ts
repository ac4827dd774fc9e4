import { createServer, type RequestListener, type Server, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { loadTlsOptions, type TlsConfig } from './tls-options.ts';

/** An HTTP or, with `tls`, HTTPS server (certificates read now, with errors naming `tlsAt`). */
export async function createListener(options: ServerOptions, tls: TlsConfig | undefined, dir: string, tlsAt: string, onRequest: RequestListener): Promise<Server> {
  return tls === undefined ? createServer(options, onRequest) : createHttpsServer({ ...options, ...(await loadTlsOptions(tls, dir, tlsAt)) }, onRequest);
}

/** Binds `server`, rejecting on EADDRINUSE and the like; resolves with the origin it serves (port 0 resolved). */
export async function listenOn(server: Server, host: string, port: number, tls: boolean): Promise<{ port: number; origin: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return { port: addr.port, origin: `${tls ? 'https' : 'http'}://${h}:${addr.port}` };
}
