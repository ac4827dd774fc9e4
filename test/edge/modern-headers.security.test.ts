import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { validateModernHeaders } from '../../src/edge/modern-headers.ts';
import { compileParamHeaders, type CompiledParamHeaders } from '../../src/protocol/param-headers.ts';
import type { JsonRpcRequest } from '../../src/protocol/jsonrpc.ts';

const V = '2026-07-28';

function call(name: string, args: Record<string, unknown> = {}, version: unknown = V): JsonRpcRequest {
  return { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args, _meta: { 'io.modelcontextprotocol/protocolVersion': version } } };
}
function std(name: string, extra: IncomingHttpHeaders = {}): IncomingHttpHeaders {
  return { 'mcp-protocol-version': V, 'mcp-method': 'tools/call', 'mcp-name': name, ...extra };
}
function compiled(schema: unknown): CompiledParamHeaders {
  const c = compileParamHeaders(schema);
  if ('invalid' in c) throw new Error(c.invalid);
  return c;
}
function rejects(headers: IncomingHttpHeaders, body: JsonRpcRequest, params?: CompiledParamHeaders, message?: RegExp): void {
  const e = validateModernHeaders(headers, body, params);
  assert.ok(e, `expected a rejection for ${JSON.stringify(headers)}`);
  assert.equal(e.name, 'header_mismatch');
  if (message !== undefined) assert.match(e.message, message);
}

const tenant = compiled({ type: 'object', properties: { tenant: { type: 'string', 'x-mcp-header': 'Tenant' } } });
const count = compiled({ type: 'object', properties: { count: { type: 'integer', 'x-mcp-header': 'Count' } } });
const flag = compiled({ type: 'object', properties: { flag: { type: 'boolean', 'x-mcp-header': 'Flag' } } });
const nested = compiled({ type: 'object', properties: { scope: { type: 'object', properties: { org: { type: 'string', 'x-mcp-header': 'Org' } } } } });

test('missing standard headers are rejected, each named', () => {
  rejects({ 'mcp-method': 'tools/call', 'mcp-name': 't' }, call('t'), undefined, /MCP-Protocol-Version header is missing/);
  rejects({ 'mcp-protocol-version': V, 'mcp-name': 't' }, call('t'), undefined, /Mcp-Method header is missing/);
  rejects({ 'mcp-protocol-version': V, 'mcp-method': 'tools/call' }, call('t'), undefined, /Mcp-Name header is missing/);
});

test('protocol version header must equal the body _meta version', () => {
  rejects(std('t', { 'mcp-protocol-version': '2025-11-25' }), call('t'), undefined, /MCP-Protocol-Version header value '2025-11-25' does not match body value '2026-07-28'/);
  const noMeta: JsonRpcRequest = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 't' } };
  rejects(std('t'), noMeta, undefined, /no _meta protocolVersion/);
  rejects(std('t'), call('t', {}, 20260728), undefined);
});

test('Mcp-Method must equal method exactly (values are case-sensitive)', () => {
  rejects(std('t', { 'mcp-method': 'tools/list' }), call('t'), undefined, /Mcp-Method header value 'tools\/list' does not match body value 'tools\/call'/);
  rejects(std('t', { 'mcp-method': 'TOOLS/CALL' }), call('t'));
  rejects(std('t', { 'mcp-method': 'tools/call, tools/call' }), call('t'), undefined, /does not match/);
});

test('Mcp-Name: base64 sentinel is decoded before comparing', () => {
  const name = 'outil_été';
  const encoded = `=?base64?${Buffer.from(name).toString('base64')}?=`;
  assert.equal(validateModernHeaders(std(encoded), call(name)), undefined);
  rejects(std(encoded), call('outil_ete'));
});

test('Mcp-Name: a sentinel-looking plain value is decoded, so the literal body name does not match it', () => {
  // A client must encode a name that itself looks like the sentinel; sending it plain is a mismatch.
  rejects(std('=?base64?dA==?='), call('=?base64?dA==?='));
  assert.equal(validateModernHeaders(std('=?base64?dA==?='), call('t')), undefined);
});

test('Mcp-Name: non-ASCII (obs-text), control characters and broken base64 are invalid characters', () => {
  rejects(std('caf\u00e9'), call('café'), undefined, /invalid characters/);
  rejects(std('a\u0000b'), call('a\u0000b'), undefined, /invalid characters/);
  rejects(std('=?base64?%%%?='), call('t'), undefined, /invalid characters/);
  rejects(std('=?base64?/w==?='), call('t'), undefined, /invalid characters/);
});

test('Mcp-Name: missing or non-string body name is a mismatch', () => {
  const body: JsonRpcRequest = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': V } } };
  rejects(std('t'), body, undefined, /no params\.name/);
  rejects(std('42'), call(42 as unknown as string));
});

test('long values are truncated in the message', () => {
  const e = validateModernHeaders(std('a'.repeat(5000)), call('b'.repeat(5000)));
  assert.ok(e && e.message.length < 300, e?.message);
});

test('Mcp-Param: string value must be mirrored, decoded, and equal', () => {
  assert.equal(validateModernHeaders(std('t', { 'mcp-param-tenant': 'acme' }), call('t', { tenant: 'acme' }), tenant), undefined);
  assert.equal(validateModernHeaders(std('t', { 'mcp-param-tenant': '=?base64?w6FjbWU=?=' }), call('t', { tenant: 'ácme' }), tenant), undefined);
  rejects(std('t'), call('t', { tenant: 'acme' }), tenant, /Mcp-Param-Tenant header is missing; it is required because the body carries arguments\.tenant/);
  rejects(std('t', { 'mcp-param-tenant': 'other' }), call('t', { tenant: 'acme' }), tenant, /Mcp-Param-Tenant header value 'other' does not match body value 'acme'/);
  rejects(std('t', { 'mcp-param-tenant': 'ACME' }), call('t', { tenant: 'acme' }), tenant);
  rejects(std('t', { 'mcp-param-tenant': '\u00e1cme' }), call('t', { tenant: 'ácme' }), tenant, /invalid characters/);
});

test('Mcp-Param: null or absent body value means the header must be absent too', () => {
  assert.equal(validateModernHeaders(std('t'), call('t', {}), tenant), undefined);
  assert.equal(validateModernHeaders(std('t'), call('t', { tenant: null }), tenant), undefined);
  rejects(std('t', { 'mcp-param-tenant': 'acme' }), call('t', {}), tenant, /no arguments\.tenant/);
  rejects(std('t', { 'mcp-param-tenant': 'null' }), call('t', { tenant: null }), tenant);
  const noArgs: JsonRpcRequest = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 't', _meta: { 'io.modelcontextprotocol/protocolVersion': V } } };
  assert.equal(validateModernHeaders(std('t'), noArgs, tenant), undefined);
  rejects(std('t', { 'mcp-param-tenant': 'acme' }), noArgs, tenant);
});

test('Mcp-Param: a value nobody can mirror (object) is treated as absent', () => {
  assert.equal(validateModernHeaders(std('t'), call('t', { tenant: { id: 1 } }), tenant), undefined);
  rejects(std('t', { 'mcp-param-tenant': '[object Object]' }), call('t', { tenant: { id: 1 } }), tenant);
});

test('Mcp-Param: integers compare numerically, strictly decimal', () => {
  for (const h of ['42', '42.0', '42.000', '=?base64?NDIuMA==?=']) {
    assert.equal(validateModernHeaders(std('t', { 'mcp-param-count': h }), call('t', { count: 42 }), count), undefined, h);
  }
  for (const h of ['43', '', ' 42', '0x2a', '4.2e1', '+42', '42abc', 'Infinity', '42.', '.42']) {
    rejects(std('t', { 'mcp-param-count': h }), call('t', { count: 42 }), count);
  }
  assert.equal(validateModernHeaders(std('t', { 'mcp-param-count': '-7' }), call('t', { count: -7 }), count), undefined);
  // A string in the body is compared as text: the header cannot make '42.0' equal '42'.
  rejects(std('t', { 'mcp-param-count': '42.0' }), call('t', { count: '42' }), count);
  // Beyond the safe range the value cannot be mirrored faithfully; a header claiming it is refused.
  rejects(std('t', { 'mcp-param-count': '9007199254740993' }), call('t', { count: 9007199254740993 }), count);
});

test('Mcp-Param: booleans are lowercase true/false', () => {
  assert.equal(validateModernHeaders(std('t', { 'mcp-param-flag': 'true' }), call('t', { flag: true }), flag), undefined);
  assert.equal(validateModernHeaders(std('t', { 'mcp-param-flag': 'false' }), call('t', { flag: false }), flag), undefined);
  for (const h of ['True', 'TRUE', '1', 'yes', 'false']) rejects(std('t', { 'mcp-param-flag': h }), call('t', { flag: true }), flag);
});

test('Mcp-Param: nested paths follow the properties chain only', () => {
  assert.equal(validateModernHeaders(std('t', { 'mcp-param-org': 'o1' }), call('t', { scope: { org: 'o1' } }), nested), undefined);
  rejects(std('t'), call('t', { scope: { org: 'o1' } }), nested);
  assert.equal(validateModernHeaders(std('t'), call('t', { scope: ['o1'] }), nested), undefined, 'no value at the path');
  const proto = JSON.parse('{"scope":{"__proto__":{"org":"x"}}}') as Record<string, unknown>;
  assert.equal(validateModernHeaders(std('t'), call('t', proto), nested), undefined, 'inherited keys are not values');
});

test('Mcp-Param: duplicate header lines (joined by Node) do not match', () => {
  rejects(std('t', { 'mcp-param-tenant': 'acme, acme' }), call('t', { tenant: 'acme' }), tenant);
  rejects(std('t', { 'mcp-param-tenant': ['acme', 'acme'] }), call('t', { tenant: 'acme' }), tenant);
});

test('unknown Mcp-Param headers are ignored (forwarded, per the spec)', () => {
  assert.equal(validateModernHeaders(std('t', { 'mcp-param-other': 'x' }), call('t', { tenant: 'acme' }), compiled({ type: 'object' })), undefined);
});

test('method names that are Object.prototype members are plain methods', () => {
  for (const method of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    const body: JsonRpcRequest = { jsonrpc: '2.0', id: 1, method, params: { _meta: { 'io.modelcontextprotocol/protocolVersion': V } } };
    assert.equal(validateModernHeaders({ 'mcp-protocol-version': V, 'mcp-method': method }, body), undefined, method);
  }
});

test('Mcp-Param checks apply to tools/call only', () => {
  const body: JsonRpcRequest = { jsonrpc: '2.0', id: 1, method: 'prompts/get', params: { name: 'p', arguments: { tenant: 'acme' }, _meta: { 'io.modelcontextprotocol/protocolVersion': V } } };
  assert.equal(validateModernHeaders({ 'mcp-protocol-version': V, 'mcp-method': 'prompts/get', 'mcp-name': 'p' }, body, tenant), undefined);
});
