import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { checkProtocolVersion, modernRequestHeaders, validateModernHeaders } from '../../src/edge/modern-headers.ts';
import { compileParamHeaders, type CompiledParamHeaders } from '../../src/protocol/param-headers.ts';
import { httpStatusOf, toJsonRpcError } from '../../src/errors/codes.ts';
import type { JsonRpcRequest } from '../../src/protocol/jsonrpc.ts';
import { SUPPORTED_VERSIONS } from '../../src/protocol/mcp.ts';

const V = '2026-07-28';

function call(name: string, args: Record<string, unknown> = {}): JsonRpcRequest {
  return { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args, _meta: { 'io.modelcontextprotocol/protocolVersion': V, 'io.modelcontextprotocol/clientCapabilities': {} } } };
}

function compiled(schema: unknown): CompiledParamHeaders {
  const c = compileParamHeaders(schema);
  if ('invalid' in c) throw new Error(c.invalid);
  return c;
}

const sql = compiled({
  type: 'object',
  properties: { region: { type: 'string', 'x-mcp-header': 'Region' }, query: { type: 'string' } },
});

test('a request whose headers mirror the body passes', () => {
  const body = call('execute_sql', { region: 'us-west1', query: 'SELECT 1' });
  const headers: IncomingHttpHeaders = { 'mcp-protocol-version': V, 'mcp-method': 'tools/call', 'mcp-name': 'execute_sql', 'mcp-param-region': 'us-west1' };
  assert.equal(validateModernHeaders(headers, body, sql), undefined);
});

test('methods without a name need only the version and method headers', () => {
  const body: JsonRpcRequest = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': V } } };
  assert.equal(validateModernHeaders({ 'mcp-protocol-version': V, 'mcp-method': 'tools/list' }, body), undefined);
});

test('resources/read compares Mcp-Name with params.uri, prompts/get with params.name', () => {
  const meta = { 'io.modelcontextprotocol/protocolVersion': V };
  const read: JsonRpcRequest = { jsonrpc: '2.0', id: 3, method: 'resources/read', params: { uri: 'file:///projects/myapp/config.json', _meta: meta } };
  assert.equal(validateModernHeaders({ 'mcp-protocol-version': V, 'mcp-method': 'resources/read', 'mcp-name': 'file:///projects/myapp/config.json' }, read), undefined);
  const get: JsonRpcRequest = { jsonrpc: '2.0', id: 4, method: 'prompts/get', params: { name: 'greet', _meta: meta } };
  assert.equal(validateModernHeaders({ 'mcp-protocol-version': V, 'mcp-method': 'prompts/get', 'mcp-name': 'greet' }, get), undefined);
  assert.equal(validateModernHeaders({ 'mcp-protocol-version': V, 'mcp-method': 'prompts/get', 'mcp-name': 'other' }, get)?.name, 'header_mismatch');
});

test('a mismatch is -32020 / HTTP 400 with a message naming the header and both values', () => {
  const e = validateModernHeaders({ 'mcp-protocol-version': V, 'mcp-method': 'tools/call', 'mcp-name': 'foo' }, call('bar'));
  assert.ok(e);
  assert.equal(e.message, "Header mismatch: Mcp-Name header value 'foo' does not match body value 'bar'");
  assert.equal(toJsonRpcError(e).code, -32020);
  assert.equal(httpStatusOf(e), 400);
});

test('modernRequestHeaders builds headers that validate, encoding where needed', () => {
  const body = call('wetter_β', { region: ' padded ', query: 'q' });
  const h = modernRequestHeaders(body, sql);
  assert.deepEqual(h, { 'mcp-method': 'tools/call', 'mcp-protocol-version': V, 'mcp-name': '=?base64?d2V0dGVyX86y?=', 'mcp-param-region': '=?base64?IHBhZGRlZCA=?=' });
  assert.equal(validateModernHeaders(h, body, sql), undefined);
});

test('modernRequestHeaders mirrors integers and booleans, omits null and absent values', () => {
  const c = compiled({ type: 'object', properties: { n: { type: 'integer', 'x-mcp-header': 'N' }, b: { type: 'boolean', 'x-mcp-header': 'B' }, s: { type: 'string', 'x-mcp-header': 'S' } } });
  const body = call('t', { n: -7, b: false, s: null });
  const h = modernRequestHeaders(body, c);
  assert.equal(h['mcp-param-n'], '-7');
  assert.equal(h['mcp-param-b'], 'false');
  assert.equal('mcp-param-s' in h, false);
  assert.equal(validateModernHeaders(h, body, c), undefined);
});

test('checkProtocolVersion: supported passes; unsupported carries data.supported and data.requested', () => {
  assert.equal(checkProtocolVersion(V, SUPPORTED_VERSIONS), undefined);
  const e = checkProtocolVersion('2099-01-01', SUPPORTED_VERSIONS);
  assert.equal(e?.name, 'unsupported_protocol_version');
  const rpc = toJsonRpcError(e!);
  assert.equal(rpc.code, -32022);
  assert.deepEqual((rpc.data as Record<string, unknown>).supported, SUPPORTED_VERSIONS);
  assert.equal((rpc.data as Record<string, unknown>).requested, '2099-01-01');
  assert.equal(checkProtocolVersion(undefined, SUPPORTED_VERSIONS)?.name, 'header_mismatch');
});
