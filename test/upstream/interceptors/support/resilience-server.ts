// The modern fixture (test/fixtures/modern-server.ts) plus two tools for the resilience tests, served
// over stdio (`node resilience-server.ts`) or in-process over Streamable HTTP (`startResilienceHttp`).
//
//   sleepy_progress {ms, every}  works `ms` ms, sending progress every `every` ms when it has a token
//   slow_first {key, ms}         per key, the first call sleeps `ms`; later ones answer "call N for key"
//
// Both report `started <tool> <id>` and `cancelled <tool> <id>` (stderr over stdio; `state.events`
// in-process), so tests see cancellations and how often the upstream was reached without timing.
import { createMcpHandler, type McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod';
import { createFixtureServer } from '../../../fixtures/modern-server.ts';
import { serveFetchHandler } from '../../../support/fetch-server.ts';

export interface ResilienceServerState {
  /** `started slow_first 3`, `cancelled sleepy_progress 4`, ... in order. */
  readonly events: string[];
  /** Calls per slow_first key (shared by every server instance of one state: HTTP makes one per request). */
  readonly firstCalls: Map<string, number>;
}

export function newState(report?: (line: string) => void): ResilienceServerState {
  const events: string[] = [];
  if (report !== undefined) {
    const push = events.push.bind(events);
    events.push = (...lines: string[]) => {
      for (const l of lines) report(l);
      return push(...lines);
    };
  }
  return { events, firstCalls: new Map() };
}

export function createResilienceServer(state: ResilienceServerState): McpServer {
  const server = createFixtureServer();
  const report = (event: 'started' | 'cancelled', tool: string, id: string | number) => state.events.push(`${event} ${tool} ${id}`);

  server.registerTool(
    'sleepy_progress',
    {
      description: 'Works for `ms` milliseconds, sending a progress notification every `every` ms when the request has a progress token; stops early when cancelled',
      inputSchema: z.object({ ms: z.number().int().min(0).max(600_000), every: z.number().int().min(1).max(60_000) }),
    },
    async ({ ms, every }, ctx) => {
      report('started', 'sleepy_progress', ctx.mcpReq.id);
      const token = ctx.mcpReq._meta?.progressToken;
      const until = Date.now() + ms;
      let sent = 0;
      for (let left = ms; left > 0; left = until - Date.now()) {
        await sleep(Math.min(every, left), ctx.mcpReq.signal, () => report('cancelled', 'sleepy_progress', ctx.mcpReq.id));
        if (token !== undefined && Date.now() < until) {
          sent++;
          await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress: sent } });
        }
      }
      return { content: [{ type: 'text', text: `worked ${ms}ms, ${sent} progress notifications` }] };
    },
  );

  server.registerTool(
    'slow_first',
    {
      description: 'The first call for `key` sleeps `ms` milliseconds; later calls answer at once with how many calls the key has had',
      inputSchema: z.object({ key: z.string(), ms: z.number().int().min(0).max(600_000) }),
    },
    async ({ key, ms }, ctx) => {
      const n = (state.firstCalls.get(key) ?? 0) + 1;
      state.firstCalls.set(key, n);
      report('started', 'slow_first', ctx.mcpReq.id);
      if (n === 1) await sleep(ms, ctx.mcpReq.signal, () => report('cancelled', 'slow_first', ctx.mcpReq.id));
      return { content: [{ type: 'text', text: `call ${n} for ${key}` }] };
    },
  );
  return server;
}

function sleep(ms: number, signal: AbortSignal, onAbort: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const abort = () => {
      clearTimeout(timer);
      onAbort();
      reject(new Error('cancelled'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', abort);
      resolve();
    }, ms);
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
  });
}

export interface ResilienceHttp {
  readonly url: string;
  readonly state: ResilienceServerState;
  close(): Promise<void>;
}

/** In-process over Streamable HTTP on 127.0.0.1 (port 0). */
export async function startResilienceHttp(): Promise<ResilienceHttp> {
  const state = newState();
  const handler = createMcpHandler(() => createResilienceServer(state), { onerror: () => undefined });
  const served = await serveFetchHandler(handler.fetch, { path: '/mcp' });
  return {
    url: served.url,
    state,
    async close() {
      await handler.close();
      await served.close();
    },
  };
}

if (import.meta.main) {
  const state = newState((line) => process.stderr.write(`${line}\n`));
  serveStdio(() => createResilienceServer(state), { onerror: (e) => process.stderr.write(`resilience-server: ${e.message}\n`) });
}
