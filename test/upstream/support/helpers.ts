// Shared bits of the upstream tests: a quiet logger, recorded session events, config builders.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import type { JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../../../src/protocol/jsonrpc.ts';
import type { HttpUpstreamConfig, SseUpstreamConfig, StdioUpstreamConfig } from '../../../src/config/schema/upstream.ts';
import { httpUpstreamSchema, sseUpstreamSchema, stdioUpstreamSchema } from '../../../src/config/schema/upstream.ts';
import type { ConnectDeps } from '../../../src/upstream/connect.ts';
import type { SessionEvents } from '../../../src/upstream/session.ts';

export const SERVER_EVERYTHING = fileURLToPath(new URL('../../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));
export const SERVER_MEMORY = fileURLToPath(new URL('../../../node_modules/@modelcontextprotocol/server-memory/dist/index.js', import.meta.url));
export const FAKE_STDIO = fileURLToPath(new URL('./fake-stdio-server.mjs', import.meta.url));
export const MODERN_SERVER = fileURLToPath(new URL('./modern-server.ts', import.meta.url));
export const LOOPBACK = fileURLToPath(new URL('../../../scripts/loopback.mjs', import.meta.url));

export function quietLogger(): Logger {
  return pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
}

export class RecordedEvents implements SessionEvents {
  notifications: JsonRpcNotification[] = [];
  serverRequests: JsonRpcRequest[] = [];
  closes: Array<Error | undefined> = [];
  answer: (req: JsonRpcRequest) => Promise<JsonRpcResponse> = async (req) => ({ jsonrpc: '2.0', id: req.id, result: {} });
  private closeWaiters: Array<() => void> = [];

  onNotification(n: JsonRpcNotification): void {
    this.notifications.push(n);
  }

  onServerRequest(req: JsonRpcRequest): Promise<JsonRpcResponse> {
    this.serverRequests.push(req);
    return this.answer(req);
  }

  onClose(reason: Error | undefined): void {
    this.closes.push(reason);
    for (const w of this.closeWaiters.splice(0)) w();
  }

  closed(): Promise<void> {
    if (this.closes.length > 0) return Promise.resolve();
    return new Promise((r) => this.closeWaiters.push(r));
  }
}

export function deps(events: SessionEvents, extra: Partial<ConnectDeps> = {}): ConnectDeps {
  return { logger: quietLogger(), events, configDir: process.cwd(), clientInfo: { name: 'gatehouse-test', version: '0.0.0' }, ...extra };
}

// Built through the schema so that every default a new setting brings is filled in.
const common = { timeoutMs: 20_000, connectTimeoutMs: 20_000, healthIntervalMs: 0 };

export function stdioConfig(args: string[], over: Partial<StdioUpstreamConfig> = {}): StdioUpstreamConfig {
  return stdioUpstreamSchema.parse({ ...common, name: 'up', transport: 'stdio', command: process.execPath, args, ...over });
}

export function httpConfig(url: string, over: Partial<HttpUpstreamConfig> = {}): HttpUpstreamConfig {
  return httpUpstreamSchema.parse({ ...common, name: 'up', transport: 'streamable-http', url, ...over });
}

export function sseConfig(url: string, over: Partial<SseUpstreamConfig> = {}): SseUpstreamConfig {
  return sseUpstreamSchema.parse({ ...common, name: 'up', transport: 'sse', url, ...over });
}

/** Whether the process runs (a zombie waiting for its reaper counts as gone). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return process.platform !== 'linux';
  }
}

/** Polls until `check` holds; fails the test after `ms` (a generous bound, not a timing assertion). */
export async function eventually(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function textOf(res: JsonRpcResponse): string {
  if (!('result' in res)) throw new Error(`expected a result, got ${JSON.stringify(res)}`);
  const content = res.result.content as Array<{ text?: string }> | undefined;
  return content?.[0]?.text ?? '';
}
