// A real HTTP receiver on 127.0.0.1 for the webhook and OTLP sinks: keeps every request, answers
// with whatever the test scripts (by request number), and can stay silent to exercise timeouts.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Never answer (the client's timeout or abort ends it). */
  silent?: boolean;
}

export class Receiver {
  readonly requests: Received[] = [];
  /** Answer for the n-th request (0-based); default 200 with an empty JSON object. */
  answer: (n: number, req: Received) => Answer = () => ({ status: 200, body: '{}' });
  #server: Server | undefined;
  #port = 0;
  #held: ServerResponse[] = [];

  get port(): number {
    return this.#port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.#port}${path}`;
  }

  /** Accepted requests (2xx), in arrival order. */
  accepted: Received[] = [];

  async start(port = 0): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const got: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        const n = this.requests.length;
        this.requests.push(got);
        const a = this.answer(n, got);
        if (a.silent === true) {
          this.#held.push(res);
          return;
        }
        if (a.status >= 200 && a.status < 300) this.accepted.push(got);
        res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
        res.end(a.body ?? '');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    for (const res of this.#held) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A port that was free a moment ago (for a receiver that starts later). */
export async function freePort(): Promise<number> {
  const r = new Receiver();
  await r.start();
  const port = r.port;
  await r.stop();
  return port;
}
