// A small 2026-07-28 MCP server built on the official SDK 2.x, for the upstream tests: served over
// Streamable HTTP in-process (127.0.0.1, port 0) or over stdio when run as a script with `stdio`.
import { z } from 'zod';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { serveFetchHandler } from '../../support/fetch-server.ts';

export interface ModernServerState {
  /** Lower-cased request headers of every HTTP request received, in order. */
  requests: Array<{ method: string; headers: Record<string, string> }>;
  /** Request ids (as the server saw them) whose handler observed cancellation. */
  cancelled: unknown[];
}

export function buildServer(state: ModernServerState): McpServer {
  const server = new McpServer({ name: 'modern-fixture', version: '1.2.3' }, { capabilities: { tools: {} }, instructions: 'fixture instructions' });
  server.registerTool('echo', { description: 'Echoes', inputSchema: z.object({ message: z.string() }) }, async ({ message }) => ({
    content: [{ type: 'text', text: `Echo: ${message}` }],
  }));
  server.registerTool('whoami', { description: 'Reports the request envelope it got', inputSchema: z.object({}) }, async (_args, ctx) => ({
    content: [{ type: 'text', text: JSON.stringify({ envelope: ctx.mcpReq.envelope ?? null, meta: ctx.mcpReq._meta ?? null }) }],
  }));
  server.registerTool(
    'structured',
    { description: 'Structured', inputSchema: z.object({}), outputSchema: z.object({ n: z.number(), tags: z.array(z.string()) }) },
    async () => ({ content: [{ type: 'text', text: '{"n":7}' }], structuredContent: { n: 7, tags: ['a', 'b'] }, _meta: { 'example.com/x': 1 } }),
  );
  server.registerTool(
    'slow',
    { description: 'Waits, reporting progress', inputSchema: z.object({ steps: z.number().int(), stepMs: z.number().int() }) },
    async ({ steps, stepMs }, ctx) => {
      const token = ctx.mcpReq._meta?.progressToken;
      for (let i = 1; i <= steps; i++) {
        await new Promise((r) => setTimeout(r, stepMs));
        if (ctx.mcpReq.signal.aborted) {
          state.cancelled.push(ctx.mcpReq.id);
          throw new Error('cancelled');
        }
        if (token !== undefined) await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress: i, total: steps } });
      }
      return { content: [{ type: 'text', text: `done ${steps}` }] };
    },
  );
  server.registerTool(
    'regional',
    { description: 'Mirrors its region into a header', inputSchema: z.object({ region: z.string().meta({ 'x-mcp-header': 'Region' }), q: z.string() }) },
    async ({ region, q }) => ({ content: [{ type: 'text', text: `${region}:${q}` }] }),
  );
  server.registerTool(
    'badly-annotated',
    { description: 'An x-mcp-header on a number: invalid', inputSchema: z.object({ n: z.number().meta({ 'x-mcp-header': 'N' }) }) },
    async () => ({ content: [{ type: 'text', text: 'never listed' }] }),
  );
  return server;
}

export interface RunningHttp {
  url: string;
  state: ModernServerState;
  close(): Promise<void>;
}

/** `legacy: 'reject'` is a modern-only server; `'stateless'` also serves the 2025 era. */
export async function startModernHttp(legacy: 'reject' | 'stateless'): Promise<RunningHttp> {
  const state: ModernServerState = { requests: [], cancelled: [] };
  const handler = createMcpHandler(() => buildServer(state), { legacy });
  const served = await serveFetchHandler((request, options) => {
    const headers: Record<string, string> = {};
    request.headers.forEach((v, k) => {
      headers[k] = v;
    });
    state.requests.push({ method: request.method, headers });
    return handler.fetch(request, options);
  }, { path: '/mcp' });
  return {
    url: served.url,
    state,
    async close() {
      await handler.close();
      await served.close();
    },
  };
}

if (process.argv[2] === 'stdio') {
  const { serveStdio } = await import('@modelcontextprotocol/server/stdio');
  const state: ModernServerState = { requests: [], cancelled: [] };
  // `stdio strict`: modern only, `initialize` is refused.
  serveStdio(() => buildServer(state), { legacy: process.argv[3] === 'strict' ? 'reject' : 'serve' });
}
