/**
 * `x-mcp-header` (2026-07-28 tools page, section x-mcp-header; Streamable HTTP, Custom Headers from
 * Tool Parameters): which tool arguments are mirrored as `Mcp-Param-*` headers, and the text each value
 * is mirrored as. The one place these rules live: the edge checks agents' headers with them, the
 * upstream transports build the headers they send with them.
 */
import { clipForMessage, encodeHeaderValue } from './header-values.ts';

/** One annotation of a tool's `inputSchema`, compiled once per tool (tools/list). */
export interface ParamHeader {
  /** The annotation as written, e.g. `Region`. */
  readonly name: string;
  /** `Mcp-Param-Region`: for messages and for sending. */
  readonly headerName: string;
  /** `mcp-param-region`: the key in Node's lowercased `IncomingHttpHeaders` and in outgoing header records. */
  readonly headerKey: string;
  /** Chain of `properties` keys from the schema root to the annotated property. */
  readonly path: readonly string[];
  readonly type: 'string' | 'integer' | 'boolean';
}

export interface CompiledParamHeaders {
  readonly params: readonly ParamHeader[];
}

export const NO_PARAM_HEADERS: CompiledParamHeaders = Object.freeze({ params: Object.freeze([]) });

const X_MCP_HEADER = 'x-mcp-header';
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PRIMITIVE_TYPES = new Set(['string', 'integer', 'boolean']);
// Bounds the recursion: a schema from an upstream must not be able to exhaust the stack.
const MAX_SCHEMA_DEPTH = 64;
// Keywords whose subschemas are off the static `properties` chain: an annotation under them is invalid.
const SINGLE_SUBSCHEMA = ['items', 'contains', 'additionalProperties', 'unevaluatedProperties', 'unevaluatedItems', 'propertyNames', 'not', 'if', 'then', 'else', 'additionalItems'];
const LIST_SUBSCHEMAS = ['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items'];
const MAP_SUBSCHEMAS = ['patternProperties', 'dependentSchemas', '$defs', 'definitions', 'dependencies'];

/**
 * Compiles the annotations, or says why the tool definition is invalid (the spec has clients drop
 * such tools from tools/list). A schema without annotations compiles to `NO_PARAM_HEADERS`.
 */
export function compileParamHeaders(inputSchema: unknown): CompiledParamHeaders | { invalid: string } {
  const params: ParamHeader[] = [];
  const seen = new Map<string, string>();

  const visit = (node: unknown, path: string[], reachable: boolean, depth: number): string | undefined => {
    if (!isObject(node)) return undefined;
    if (depth > MAX_SCHEMA_DEPTH) return `inputSchema is nested deeper than ${MAX_SCHEMA_DEPTH} levels`;
    const where = path.length === 0 ? 'the schema root' : `property '${path.join('.')}'`;
    if (Object.hasOwn(node, X_MCP_HEADER)) {
      if (!reachable || path.length === 0) {
        return `x-mcp-header on ${where} is not statically reachable through 'properties' keys`;
      }
      const name = node[X_MCP_HEADER];
      if (typeof name !== 'string' || name.length === 0) return `x-mcp-header on ${where} must be a non-empty string`;
      if (!TOKEN.test(name)) return `x-mcp-header '${clipForMessage(name)}' on ${where} is not an HTTP token (RFC 9110 tchar)`;
      const type = node.type;
      // One primitive type, as the spec says: `number`, type lists and a missing type are all refused.
      if (typeof type !== 'string' || !PRIMITIVE_TYPES.has(type)) {
        return `x-mcp-header on ${where} needs type string, integer or boolean, not ${JSON.stringify(type) ?? 'none'}`;
      }
      const lower = name.toLowerCase();
      const prior = seen.get(lower);
      if (prior !== undefined) return `x-mcp-header '${name}' on ${where} repeats '${prior}' (names are case-insensitive)`;
      seen.set(lower, name);
      params.push({ name, headerName: `Mcp-Param-${name}`, headerKey: `mcp-param-${lower}`, path, type: type as ParamHeader['type'] });
    }
    const properties = node.properties;
    if (isObject(properties)) {
      for (const [key, child] of Object.entries(properties)) {
        const fault = visit(child, [...path, key], reachable, depth + 1);
        if (fault !== undefined) return fault;
      }
    }
    for (const k of SINGLE_SUBSCHEMA) {
      const fault = visit(node[k], path, false, depth + 1);
      if (fault !== undefined) return fault;
    }
    for (const k of LIST_SUBSCHEMAS) {
      const list = node[k];
      if (!Array.isArray(list)) continue;
      for (const child of list) {
        const fault = visit(child, path, false, depth + 1);
        if (fault !== undefined) return fault;
      }
    }
    for (const k of MAP_SUBSCHEMAS) {
      const map = node[k];
      if (!isObject(map)) continue;
      for (const child of Object.values(map)) {
        const fault = visit(child, path, false, depth + 1);
        if (fault !== undefined) return fault;
      }
    }
    return undefined;
  };

  const fault = visit(inputSchema, [], true, 0);
  if (fault !== undefined) return { invalid: fault };
  return params.length === 0 ? NO_PARAM_HEADERS : { params };
}

/**
 * The argument at an annotation's exact property path (own keys only), or undefined when the call
 * gives none: then no header is sent, and none may be expected.
 */
export function argumentAt(args: unknown, path: readonly string[]): unknown {
  let node = args;
  for (const key of path) {
    if (!isObject(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
  }
  return node;
}

/**
 * The text a client mirrors for an argument value (Value Encoding, type conversion), or undefined when
 * it sends no header: null, absent, structured values, and integers beyond the IEEE 754 safe range.
 * Any other number is mirrored too, since a provided value must have its header; the server then
 * refuses a non-integer on its own terms rather than as a missing header.
 */
export function paramHeaderText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value))) return String(value);
  return undefined;
}

/** Adds the encoded `Mcp-Param-*` headers of one `tools/call` to `into`, under lowercase keys. */
export function addParamHeaders(params: readonly ParamHeader[], args: unknown, into: Record<string, string>): void {
  for (const param of params) {
    const text = paramHeaderText(argumentAt(args, param.path));
    if (text !== undefined) into[param.headerKey] = encodeHeaderValue(text);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
