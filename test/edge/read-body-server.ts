import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { readBody } from '../../src/edge/read-body.ts';
import { GatewayFault, httpStatusOf } from '../../src/errors/codes.ts';

// Shared by the read-body tests: a real server on 127.0.0.1 whose handler uses readBody, and raw sockets.
export const LIMIT = 1024;

interface Seen {
  outcome: Promise<{ ok: true; bytes: Buffer } | { ok: false; error: unknown; paused: boolean; dataListeners: number }>;
}

/** A real server whose handler reads with `readBody` and reports what happened to the test. */
export async function startServer(t: { after(fn: () => unknown): void }, options: { maxHeaderSize?: number } = {}) {
  const seen: Seen[] = [];
  const server: Server = createServer({ maxHeaderSize: options.maxHeaderSize ?? 16 * 1024 }, (req: IncomingMessage, res: ServerResponse) => {
    const outcome = readBody(req, LIMIT).then(
      (bytes) => {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`got ${bytes.length}`);
        return { ok: true as const, bytes };
      },
      (error: unknown) => {
        const status = error instanceof GatewayFault ? httpStatusOf(error.error) : 500;
        // What the edge must do: Connection: close so the unread rest of the body is never read.
        if (!res.destroyed) res.writeHead(status, { connection: 'close' }).end(error instanceof Error ? error.message : 'error');
        return { ok: false as const, error, paused: req.isPaused(), dataListeners: req.listenerCount('data') };
      },
    );
    seen.push({ outcome });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, seen };
}

/** Opens a raw connection; `response` resolves with everything the server sent once it closes the socket. */
export function raw(port: number): { socket: Socket; response: Promise<string> } {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  const response = new Promise<string>((resolve) => {
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', () => undefined);
  });
  return { socket, response };
}

export function firstData(socket: Socket): Promise<string> {
  return new Promise((resolve) => socket.once('data', (c: Buffer) => resolve(c.toString('latin1'))));
}

