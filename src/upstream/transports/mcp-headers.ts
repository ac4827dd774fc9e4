// The 2026-07-28 request-metadata headers the gateway sends as a Streamable HTTP client: Mcp-Method,
// Mcp-Name, and the Mcp-Param-* headers of tool arguments annotated with `x-mcp-header`. The encoding
// and the annotation rules are the protocol's (src/protocol/); what lives here is applying them to one
// message and the per-session memory of each tool's annotations.
import type { Logger } from 'pino';
import type { JsonRpcMessage, JsonRpcResponse } from '../../protocol/jsonrpc.ts';
import { encodeHeaderValue } from '../../protocol/header-values.ts';
import { MODERN_VERSION, NAMED_METHODS } from '../../protocol/mcp.ts';
import { addParamHeaders, compileParamHeaders, type ParamHeader } from '../../protocol/param-headers.ts';

/** Bound on the tools/list pages read to relearn x-mcp-header annotations after a -32020. */
const MAX_LIST_PAGES = 50;

/** One `tools/list` page request, as the session makes it (its answers pass through `learn`). */
export type ListTools = (params: Record<string, unknown>) => Promise<JsonRpcResponse>;

/**
 * Adds what a 2026-07-28 POST carries besides its body to `into`: MCP-Protocol-Version, and for a
 * request or notification Mcp-Method, Mcp-Name and (on tools/call) the Mcp-Param-* headers.
 */
export function addModernHeaders(msg: JsonRpcMessage, paramHeaders: ParamHeaderTable, into: Record<string, string>): Record<string, string> {
  into['mcp-protocol-version'] = MODERN_VERSION;
  if (!('method' in msg)) return into;
  into['mcp-method'] = msg.method;
  const name = mcpNameOf(msg.method, msg.params);
  if (name !== undefined) into['mcp-name'] = name;
  if (msg.method === 'tools/call') paramHeaders.addHeaders(msg.params, into);
  return into;
}

/** The Mcp-Name header value for a request, if its method names a tool, prompt or resource. */
export function mcpNameOf(method: string, params: Record<string, unknown> | undefined): string | undefined {
  // Own keys only: a method named `constructor` must not find Object.prototype members.
  const field = Object.hasOwn(NAMED_METHODS, method) ? NAMED_METHODS[method] : undefined;
  if (field === undefined || params === undefined) return undefined;
  const v = params[field];
  return typeof v === 'string' ? encodeHeaderValue(v) : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** What one modern HTTP session learned from `tools/list` about each tool's mirrored parameters. */
export class ParamHeaderTable {
  private readonly byTool = new Map<string, readonly ParamHeader[]>();
  private refreshing: Promise<void> | undefined = undefined;

  /**
   * Learns from one `tools/list` result page and removes the tools whose annotations are invalid, as
   * the spec requires of Streamable HTTP clients (one bad tool must not hide the others).
   */
  learn(result: Record<string, unknown>, logger: Logger): void {
    const tools = result.tools;
    if (!Array.isArray(tools)) return;
    let kept: unknown[] | undefined;
    for (let i = 0; i < tools.length; i++) {
      const tool: unknown = tools[i];
      if (!isObject(tool) || typeof tool.name !== 'string') {
        kept?.push(tool);
        continue;
      }
      const compiled = compileParamHeaders(tool.inputSchema);
      if ('invalid' in compiled) {
        logger.warn({ tool: tool.name, reason: compiled.invalid }, 'tool excluded: invalid x-mcp-header annotation');
        this.byTool.delete(tool.name);
        kept ??= tools.slice(0, i);
        continue;
      }
      if (compiled.params.length > 0) this.byTool.set(tool.name, compiled.params);
      else this.byTool.delete(tool.name);
      kept?.push(tool);
    }
    if (kept !== undefined) result.tools = kept;
  }

  /** Adds the Mcp-Param-* headers a `tools/call` needs to `into` (lowercase keys, like the rest). */
  addHeaders(params: Record<string, unknown> | undefined, into: Record<string, string>): void {
    if (this.byTool.size === 0 || params === undefined || typeof params.name !== 'string') return;
    const specs = this.byTool.get(params.name);
    if (specs !== undefined) addParamHeaders(specs, params.arguments, into);
  }

  /**
   * Relearns every tool's annotations, as the spec asks after a -32020 (missing or stale Mcp-Param-*):
   * reads tools/list to its end through `list`, whose answers reach `learn`. Concurrent callers share
   * one pass; a failing page ends it, and the retry that follows reports what the server says.
   */
  refresh(list: ListTools): Promise<void> {
    this.refreshing ??= listAll(list).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }
}

async function listAll(list: ListTools): Promise<void> {
  let cursor: string | undefined;
  for (let page = 0; page < MAX_LIST_PAGES; page++) {
    const res = await list(cursor === undefined ? {} : { cursor }).catch(() => undefined);
    if (res === undefined || !('result' in res) || typeof res.result.nextCursor !== 'string') return;
    cursor = res.result.nextCursor;
  }
}
