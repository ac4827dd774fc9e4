// The 2026-07-28 request-metadata headers: Mcp-Method, Mcp-Name and the Mcp-Param-* headers that mirror
// tool arguments annotated with `x-mcp-header`, with the base64 sentinel for values a header cannot carry.
import type { Logger } from 'pino';
import { NAMED_METHODS } from '../../protocol/mcp.ts';

const PLAIN = /^[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?$/;
const SENTINEL = /^=\?base64\?.*\?=$/s;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A header value as the spec's Value Encoding rules want it. */
export function encodeHeaderValue(value: string): string {
  if (PLAIN.test(value) && !SENTINEL.test(value)) return value;
  return `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/** The Mcp-Name header value for a request, if its method names a tool, prompt or resource. */
export function mcpNameOf(method: string, params: Record<string, unknown> | undefined): string | undefined {
  const field = NAMED_METHODS[method];
  if (field === undefined || params === undefined) return undefined;
  const v = params[field];
  return typeof v === 'string' ? encodeHeaderValue(v) : undefined;
}

interface ParamHeader {
  header: string;
  path: readonly string[];
}

/** Keywords whose values are schemas (or maps/arrays of them); annotations are only looked for there. */
const SCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'];
const SCHEMA_ONE = ['additionalProperties', 'items', 'contains', 'not', 'if', 'then', 'else', 'propertyNames', 'unevaluatedItems', 'unevaluatedProperties', 'additionalItems'];
const SCHEMA_LIST = ['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items'];
const PRIMITIVE = new Set(['string', 'integer', 'boolean']);

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The headers a tool's inputSchema asks for, or why the tool definition is invalid. */
export function scanInputSchema(schema: unknown): ParamHeader[] | string {
  const found: ParamHeader[] = [];
  const seen = new Set<string>();
  const walk = (node: unknown, path: string[] | undefined): string | undefined => {
    if (!isObject(node)) return undefined;
    if ('x-mcp-header' in node) {
      const h = node['x-mcp-header'];
      if (path === undefined) return 'x-mcp-header on a property not reachable through "properties" alone';
      if (typeof h !== 'string' || !TOKEN.test(h)) return `x-mcp-header ${JSON.stringify(h)} is not an HTTP token`;
      const type = node.type;
      const types = Array.isArray(type) ? type.filter((t) => t !== 'null') : type === undefined ? [] : [type];
      if (types.some((t) => typeof t !== 'string' || !PRIMITIVE.has(t))) return `x-mcp-header "${h}" is on a parameter of type ${JSON.stringify(type)}`;
      const key = h.toLowerCase();
      if (seen.has(key)) return `x-mcp-header "${h}" is used twice`;
      seen.add(key);
      found.push({ header: `Mcp-Param-${h}`, path });
    }
    for (const kw of SCHEMA_MAPS) {
      const map = node[kw];
      if (!isObject(map)) continue;
      for (const name in map) {
        const why = walk(map[name], kw === 'properties' && path !== undefined ? [...path, name] : undefined);
        if (why !== undefined) return why;
      }
    }
    for (const kw of SCHEMA_ONE) {
      const why = isObject(node[kw]) ? walk(node[kw], undefined) : undefined;
      if (why !== undefined) return why;
    }
    for (const kw of SCHEMA_LIST) {
      const list = node[kw];
      if (!Array.isArray(list)) continue;
      for (const item of list) {
        const why = walk(item, undefined);
        if (why !== undefined) return why;
      }
    }
    return undefined;
  };
  const why = walk(schema, []);
  return why ?? found;
}

function valueAt(args: unknown, path: readonly string[]): unknown {
  let cur = args;
  for (const key of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

/** What one modern HTTP session learned from `tools/list` about each tool's mirrored parameters. */
export class ParamHeaderTable {
  private readonly byTool = new Map<string, ParamHeader[]>();

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
      const headers = scanInputSchema(tool.inputSchema);
      if (typeof headers === 'string') {
        logger.warn({ tool: tool.name, reason: headers }, 'tool excluded: invalid x-mcp-header annotation');
        this.byTool.delete(tool.name);
        kept ??= tools.slice(0, i);
        continue;
      }
      if (headers.length > 0) this.byTool.set(tool.name, headers);
      else this.byTool.delete(tool.name);
      kept?.push(tool);
    }
    if (kept !== undefined) result.tools = kept;
  }

  get empty(): boolean {
    return this.byTool.size === 0;
  }

  /** Adds the Mcp-Param-* headers a `tools/call` needs to `into`. */
  addHeaders(params: Record<string, unknown> | undefined, into: Record<string, string>): void {
    if (params === undefined || typeof params.name !== 'string') return;
    const specs = this.byTool.get(params.name);
    if (specs === undefined) return;
    for (const spec of specs) {
      const v = valueAt(params.arguments, spec.path);
      if (typeof v === 'string') into[spec.header] = encodeHeaderValue(v);
      else if (typeof v === 'boolean') into[spec.header] = v ? 'true' : 'false';
      else if (typeof v === 'number' && Number.isSafeInteger(v)) into[spec.header] = String(v);
    }
  }
}
