// Serves a web-standard fetch handler (the shape the MCP SDK v2 produces) on node:http, for test
// fixtures. The SDK points Node users at @modelcontextprotocol/node for this; that package is not a
// dependency, and the adapter a fixture needs is small.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FetchHandler = (request: Request, options?: { parsedBody?: unknown }) => Promise<Response>;

export interface ServeOptions {
  host?: string;
  port?: number;
  /** The one path served; anything else gets 404. */
  path: string;
}

export interface ServedFetch {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function serveFetchHandler(handler: FetchHandler, opts: ServeOptions): Promise<ServedFetch> {
  const host = opts.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    handle(handler, opts.path, req, res).catch((err: unknown) => {
      process.stderr.write(`fetch-server: ${(err as Error).stack ?? String(err)}\n`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host}:${port}${opts.path}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(handler: FetchHandler, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
  if (url.pathname !== path) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  // Closing the response early is how an HTTP client cancels a request in the 2026-07-28 revision;
  // the SDK watches the request's signal for it.
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });

  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const body = hasBody ? await readBody(req) : undefined;
  if (body === null) {
    res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' }).end('body too large');
    return;
  }
  // Handing the SDK the parsed body spares it a second read and parse (it threads parsedBody through
  // both eras); bodies that are not JSON go through as bytes so the SDK answers with its own error.
  let parsedBody: unknown;
  if (body !== undefined && body.length > 0) {
    try {
      parsedBody = JSON.parse(body.toString('utf8'));
    } catch {
      parsedBody = undefined;
    }
  }
  const request = new Request(url, { method: req.method, headers, body: parsedBody === undefined ? body : undefined, signal: abort.signal });
  const response = await handler(request, parsedBody === undefined ? undefined : { parsedBody });
  await writeResponse(response, res);
}

/** The same bound as the SDK's own body reads. */
const MAX_BODY = 4 * 1024 * 1024;

/** The whole body, or null when it is larger than MAX_BODY. */
function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      // Past the bound the rest is read and dropped, so the 413 can still be written.
      if (size > MAX_BODY) {
        chunks.length = 0;
        resolve(null);
      } else chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function writeResponse(response: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  if (response.body === null) {
    res.writeHead(response.status, headers).end();
    return;
  }
  const type = response.headers.get('content-type') ?? '';
  if (!type.startsWith('text/event-stream')) {
    const buf = Buffer.from(await response.arrayBuffer());
    headers['content-length'] = String(buf.length);
    res.writeHead(response.status, headers).end(buf);
    return;
  }
  res.writeHead(response.status, headers);
  res.flushHeaders();
  const reader = response.body.getReader();
  const stop = () => void reader.cancel().catch(() => {});
  res.once('close', stop);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || res.destroyed) break;
      res.write(value);
    }
  } catch {
    // The stream was cancelled because the client went away: nothing left to write to.
  } finally {
    res.off('close', stop);
    res.end();
  }
}

/** `PORT` from the environment: unset or empty means 0 (any free port). */
export function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 0;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be an integer 0..65535, got '${raw}'`);
  return port;
}

/**
 * A fixture process's HTTP life as the test harness expects it: announce `listening URL` on stdout
 * (startNodeScript waits for that line), and on SIGTERM or SIGINT close the MCP handler, then the
 * server, then exit.
 */
export function announceUntilSignal(served: Pick<ServedFetch, 'url' | 'close'>, handler?: { close(): Promise<void> }): void {
  process.stdout.write(`listening ${served.url}\n`);
  const stop = () => void (handler?.close() ?? Promise.resolve()).finally(() => served.close().finally(() => process.exit(0)));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Runs a fixture's main; a failure is one `label: message` line on stderr and exit code 1. */
export function runFixture(label: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(`${label}: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
