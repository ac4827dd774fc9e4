/**
 * The values behind the 2026-07-28 mirrored headers: how they are encoded (Value Encoding: `Mcp-Name`
 * and `Mcp-Param-*` carry a plain visible-ASCII value, or `=?base64?{base64 of UTF-8}?=` when the value
 * has other characters, leading/trailing whitespace, is empty, or itself looks like the sentinel), and
 * which tool arguments have one (`x-mcp-header`, compiled per tool). Checking them against a request
 * is modern-headers.ts.
 */

export const SENTINEL_PREFIX = '=?base64?';
export const SENTINEL_SUFFIX = '?=';

const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The header form of `value`: as-is when it is a safe plain field value, else the Base64 sentinel. */
export function encodeHeaderValue(value: string): string {
  if (isPlainSafe(value)) return value;
  return `${SENTINEL_PREFIX}${Buffer.from(value, 'utf8').toString('base64')}${SENTINEL_SUFFIX}`;
}

/**
 * The value a received `Mcp-Name` / `Mcp-Param-*` header stands for, or undefined when it is not
 * acceptable: characters outside visible ASCII, space and tab (RFC 9110 field values; Node passes
 * obs-text through as latin1), or a sentinel whose payload is not canonical Base64 of valid UTF-8.
 */
export function decodeHeaderValue(header: string): string | undefined {
  if (header.startsWith(SENTINEL_PREFIX) && header.endsWith(SENTINEL_SUFFIX) && header.length >= SENTINEL_PREFIX.length + SENTINEL_SUFFIX.length) {
    const payload = header.slice(SENTINEL_PREFIX.length, header.length - SENTINEL_SUFFIX.length);
    // Buffer's decoder skips junk silently; the spec's "invalid characters → reject" needs the strict check.
    if (!CANONICAL_BASE64.test(payload)) return undefined;
    try {
      return utf8.decode(Buffer.from(payload, 'base64'));
    } catch {
      return undefined;
    }
  }
  return hasOnlyFieldChars(header) ? header : undefined;
}

/** True when `value` can travel as a header value unchanged (and would be read back unchanged). */
export function isPlainSafe(value: string): boolean {
  const n = value.length;
  if (n === 0) return false;
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(n - 1);
  // HTTP parsers strip leading and trailing whitespace, so such values would not round-trip.
  if (first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09) return false;
  if (value.startsWith(SENTINEL_PREFIX) && value.endsWith(SENTINEL_SUFFIX)) return false;
  return hasOnlyFieldChars(value);
}

function hasOnlyFieldChars(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c > 0x7e) return false;
  }
  return true;
}

/** Shortens a value for an error message, keeping messages and logs bounded. */
export function clipForMessage(value: string, max = 64): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

/**
 * `x-mcp-header` annotations of one tool's `inputSchema`, compiled once per tool (tools/list) so each
 * `tools/call` only walks a few fixed paths. See the 2026-07-28 tools page, section x-mcp-header.
 */
export interface ParamHeader {
  /** The annotation as written, e.g. `Region`. */
  readonly name: string;
  /** `Mcp-Param-Region`: for messages and for sending. */
  readonly headerName: string;
  /** `mcp-param-region`: the key in Node's lowercased `IncomingHttpHeaders`. */
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
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    if (depth > MAX_SCHEMA_DEPTH) return `inputSchema is nested deeper than ${MAX_SCHEMA_DEPTH} levels`;
    const schema = node as Record<string, unknown>;
    const where = path.length === 0 ? 'the schema root' : `property '${path.join('.')}'`;
    if (Object.hasOwn(schema, X_MCP_HEADER)) {
      if (!reachable || path.length === 0) {
        return `x-mcp-header on ${where} is not statically reachable through 'properties' keys`;
      }
      const name = schema[X_MCP_HEADER];
      if (typeof name !== 'string' || name.length === 0) return `x-mcp-header on ${where} must be a non-empty string`;
      if (!TOKEN.test(name)) return `x-mcp-header '${clipForMessage(name)}' on ${where} is not an HTTP token (RFC 9110 tchar)`;
      const type = schema.type;
      if (typeof type !== 'string' || !PRIMITIVE_TYPES.has(type)) {
        return `x-mcp-header on ${where} needs type string, integer or boolean, not ${JSON.stringify(type) ?? 'none'}`;
      }
      const lower = name.toLowerCase();
      const prior = seen.get(lower);
      if (prior !== undefined) return `x-mcp-header '${name}' on ${where} repeats '${prior}' (names are case-insensitive)`;
      seen.set(lower, name);
      params.push({ name, headerName: `Mcp-Param-${name}`, headerKey: `mcp-param-${lower}`, path, type: type as ParamHeader['type'] });
    }
    const properties = schema.properties;
    if (properties !== null && typeof properties === 'object' && !Array.isArray(properties)) {
      for (const [key, child] of Object.entries(properties)) {
        const fault = visit(child, [...path, key], reachable, depth + 1);
        if (fault !== undefined) return fault;
      }
    }
    for (const k of SINGLE_SUBSCHEMA) {
      const fault = visit(schema[k], path, false, depth + 1);
      if (fault !== undefined) return fault;
    }
    for (const k of LIST_SUBSCHEMAS) {
      const list = schema[k];
      if (!Array.isArray(list)) continue;
      for (const child of list) {
        const fault = visit(child, path, false, depth + 1);
        if (fault !== undefined) return fault;
      }
    }
    for (const k of MAP_SUBSCHEMAS) {
      const map = schema[k];
      if (map === null || typeof map !== 'object' || Array.isArray(map)) continue;
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
