import type { IncomingHttpHeaders } from 'node:http';
import { gatewayError, type GatewayError } from '../errors/codes.ts';
import type { JsonRpcRequest } from '../protocol/jsonrpc.ts';
import { META_PROTOCOL_VERSION, NAMED_METHODS } from '../protocol/mcp.ts';
import { clipForMessage, decodeHeaderValue, encodeHeaderValue } from '../protocol/header-values.ts';
import { addParamHeaders, argumentAt, paramHeaderText, type CompiledParamHeaders, type ParamHeader } from '../protocol/param-headers.ts';

/**
 * Server Validation of the 2026-07-28 Streamable HTTP transport: the mirrored headers must agree with
 * the body, or the request is refused with `header_mismatch` (-32020, HTTP 400). Runs on every modern
 * POST, so it only reads: no parsing beyond the headers it compares.
 *
 * Stricter than the table's minimum in one place, on purpose: an `Mcp-Param-*` header the body gives
 * no value for is a mismatch too, because an intermediary may already have routed on it.
 */

const PROTOCOL_VERSION_HEADER = 'mcp-protocol-version';
const METHOD_HEADER = 'mcp-method';
const NAME_HEADER = 'mcp-name';
const DECIMAL = /^-?\d+(?:\.\d+)?$/;

export function validateModernHeaders(
  headers: IncomingHttpHeaders,
  body: JsonRpcRequest,
  paramHeaders?: CompiledParamHeaders,
): GatewayError | undefined {
  const params = body.params;
  const meta = params?._meta;
  const bodyVersion = isObject(meta) ? meta[META_PROTOCOL_VERSION] : undefined;
  const versionHeader = headers[PROTOCOL_VERSION_HEADER];
  if (versionHeader === undefined) return missing('MCP-Protocol-Version');
  if (versionHeader !== bodyVersion) return mismatch('MCP-Protocol-Version', versionHeader, bodyVersion, '_meta protocolVersion');

  const methodHeader = headers[METHOD_HEADER];
  if (methodHeader === undefined) return missing('Mcp-Method');
  if (methodHeader !== body.method) return mismatch('Mcp-Method', methodHeader, body.method, 'method');

  const nameField = namedField(body.method);
  if (nameField !== undefined) {
    const nameHeader = headers[NAME_HEADER];
    if (nameHeader === undefined) return missing('Mcp-Name');
    if (typeof nameHeader !== 'string') return invalidChars('Mcp-Name', nameHeader.join(', '));
    const decoded = decodeHeaderValue(nameHeader);
    if (decoded === undefined) return invalidChars('Mcp-Name', nameHeader);
    const bodyName = params?.[nameField];
    if (decoded !== bodyName) return mismatch('Mcp-Name', decoded, bodyName, `params.${nameField}`);
  }

  if (paramHeaders !== undefined && paramHeaders.params.length > 0 && body.method === 'tools/call') {
    const args = params?.arguments;
    for (const param of paramHeaders.params) {
      const failure = checkParamHeader(headers[param.headerKey], argumentAt(args, param.path), param);
      if (failure !== undefined) return failure;
    }
  }
  return undefined;
}

/**
 * The headers a modern request must carry, built from its body: what the gateway sends when it calls a
 * 2026-07-28 upstream. Keys are lowercase; `paramHeaders` is the upstream tool's compiled schema.
 */
export function modernRequestHeaders(body: JsonRpcRequest, paramHeaders?: CompiledParamHeaders): Record<string, string> {
  const params = body.params;
  const meta = params?._meta;
  const out: Record<string, string> = { [METHOD_HEADER]: body.method };
  const version = isObject(meta) ? meta[META_PROTOCOL_VERSION] : undefined;
  if (typeof version === 'string') out[PROTOCOL_VERSION_HEADER] = version;
  const nameField = namedField(body.method);
  const name = nameField === undefined ? undefined : params?.[nameField];
  if (typeof name === 'string') out[NAME_HEADER] = encodeHeaderValue(name);
  if (paramHeaders !== undefined && body.method === 'tools/call') addParamHeaders(paramHeaders.params, params?.arguments, out);
  return out;
}

/**
 * The version check that follows `validateModernHeaders`: `unsupported_protocol_version` with
 * `data.supported` and `data.requested` (the shape of the spec's UnsupportedProtocolVersionError).
 */
export function checkProtocolVersion(version: string | undefined, supported: readonly string[]): GatewayError | undefined {
  if (version === undefined) return missing('MCP-Protocol-Version');
  if (supported.includes(version)) return undefined;
  return gatewayError('unsupported_protocol_version', `Unsupported protocol version: ${clipForMessage(version)}`, {
    supported: [...supported],
    requested: clipForMessage(version, 128),
  });
}

function checkParamHeader(header: string | string[] | undefined, value: unknown, param: ParamHeader): GatewayError | undefined {
  if (Array.isArray(header)) return invalidChars(param.headerName, header.join(', '));
  const text = paramHeaderText(value);
  if (text === undefined) {
    // null, absent, or not something a client can mirror: the header must not claim a value.
    if (header === undefined) return undefined;
    return mismatch(param.headerName, header, value, `arguments.${param.path.join('.')}`);
  }
  if (header === undefined) return missing(param.headerName, `arguments.${param.path.join('.')}`);
  const decoded = decodeHeaderValue(header);
  if (decoded === undefined) return invalidChars(param.headerName, header);
  // Integers compare numerically (`42.0` equals 42), the spec's SHOULD; everything else as text.
  const equal = typeof value === 'number' ? DECIMAL.test(decoded) && Number(decoded) === value : decoded === text;
  return equal ? undefined : mismatch(param.headerName, decoded, value, `arguments.${param.path.join('.')}`);
}

// Own keys only: a method named `constructor` or `__proto__` must not find Object.prototype members.
function namedField(method: string): 'name' | 'uri' | 'taskId' | undefined {
  return Object.hasOwn(NAMED_METHODS, method) ? NAMED_METHODS[method] : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function missing(header: string, source?: string): GatewayError {
  const why = source === undefined ? 'is required' : `is required because the body carries ${source}`;
  return gatewayError('header_mismatch', `Header mismatch: ${header} header is missing; it ${why}`, { header });
}

function invalidChars(header: string, value: string): GatewayError {
  return gatewayError('header_mismatch', `Header mismatch: ${header} header value '${clipForMessage(value)}' contains invalid characters or a malformed base64 value`, { header });
}

function mismatch(header: string, headerValue: string | string[], bodyValue: unknown, field: string): GatewayError {
  const shownHeader = clipForMessage(Array.isArray(headerValue) ? headerValue.join(', ') : headerValue);
  const shownBody = bodyValue === undefined ? `(no ${field})` : `'${clipForMessage(typeof bodyValue === 'string' ? bodyValue : (JSON.stringify(bodyValue) ?? String(bodyValue)))}'`;
  return gatewayError('header_mismatch', `Header mismatch: ${header} header value '${shownHeader}' does not match body value ${shownBody}`, { header });
}
