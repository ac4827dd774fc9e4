// What goes on the wire besides the body: hop _meta, progress tokens, the Mcp-* header values.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { JsonRpcNotification } from '../../src/protocol/jsonrpc.ts';
import { ProgressTokens, type ProgressSink } from '../../src/upstream/progress-tokens.ts';
import { modernHopMeta, outgoingParams } from '../../src/upstream/transports/hop-meta.ts';
import { addModernHeaders, mcpNameOf, ParamHeaderTable } from '../../src/upstream/transports/mcp-headers.ts';

const hop = modernHopMeta({ name: 'gatehouse', version: '1' }, {});
const sink = (onNotification?: (n: JsonRpcNotification) => void): ProgressSink => ({ onNotification, originalToken: undefined, upstreamToken: undefined });

describe('hop _meta', () => {
  it('legacy: passes params without hop keys through as the same object', () => {
    const params = { name: 't', _meta: { 'example.com/a': 1 } };
    assert.equal(outgoingParams(params, 'legacy', hop, new ProgressTokens(), sink()), params);
    assert.equal(outgoingParams(undefined, 'legacy', hop, undefined, undefined), undefined);
  });

  it('legacy: strips hop keys without touching the caller\'s object', () => {
    const params = { name: 't', _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/logLevel': 'info', 'example.com/a': 1 } };
    const out = outgoingParams(params, 'legacy', hop, undefined, undefined);
    assert.deepEqual(out, { name: 't', _meta: { 'example.com/a': 1 } });
    assert.equal(params._meta['io.modelcontextprotocol/protocolVersion'], '2026-07-28');
  });

  it('modern: sets the gateway\'s own values and drops the agent\'s log level', () => {
    const out = outgoingParams({ name: 't', _meta: { 'io.modelcontextprotocol/clientInfo': { name: 'agent' }, 'io.modelcontextprotocol/logLevel': 'debug', k: 1 } }, 'modern', hop, undefined, undefined);
    assert.deepEqual(out, {
      name: 't',
      _meta: {
        k: 1,
        'io.modelcontextprotocol/protocolVersion': '2026-07-28',
        'io.modelcontextprotocol/clientCapabilities': {},
        'io.modelcontextprotocol/clientInfo': { name: 'gatehouse', version: '1' },
      },
    });
    assert.deepEqual(outgoingParams(undefined, 'modern', hop, undefined, undefined), { _meta: { ...hop } });
  });
});

describe('progress tokens', () => {
  it('gives each call its own token and restores the agent\'s on the way back', () => {
    const tokens = new ProgressTokens();
    const got: Array<[string, unknown]> = [];
    const a = sink((n) => got.push(['a', n.params?.progressToken]));
    const b = sink((n) => got.push(['b', n.params?.progressToken]));
    const pa = outgoingParams({ _meta: { progressToken: 'same' } }, 'legacy', hop, tokens, a);
    const pb = outgoingParams({ _meta: { progressToken: 'same' } }, 'modern', hop, tokens, b);
    const ta = (pa?._meta as Record<string, unknown>).progressToken;
    const tb = (pb?._meta as Record<string, unknown>).progressToken;
    assert.notEqual(ta, tb);
    assert.ok(tokens.route({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: tb, progress: 1 } }));
    assert.ok(tokens.route({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: ta, progress: 1 } }));
    assert.deepEqual(got, [['b', 'same'], ['a', 'same']]);
    tokens.release(a);
    assert.equal(tokens.route({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: ta, progress: 2 } }), false);
    assert.equal(tokens.route({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'forged', progress: 2 } }), false);
    assert.equal(tokens.size, 1);
  });
});

// The encoding and the x-mcp-header rules themselves are tested in test/edge/header-values.test.ts.
describe('Mcp-* request headers', () => {
  it('names tools, prompts and resources in Mcp-Name', () => {
    assert.equal(mcpNameOf('tools/call', { name: 'get_weather' }), 'get_weather');
    assert.equal(mcpNameOf('resources/read', { uri: 'file:///ä.txt' }), `=?base64?${Buffer.from('file:///ä.txt').toString('base64')}?=`);
    assert.equal(mcpNameOf('tools/list', {}), undefined);
    assert.equal(mcpNameOf('prompts/get', { name: 42 }), undefined);
    assert.equal(mcpNameOf('constructor', { name: 'x' }), undefined);
    // Starts with `=?base64?` and ends with `?=` (they overlap): the spec's sentinel test, so encoded.
    assert.equal(mcpNameOf('tools/call', { name: '=?base64?=' }), `=?base64?${Buffer.from('=?base64?=').toString('base64')}?=`);
  });

  it('adds the version, method, name and parameter headers of a modern message', () => {
    const table = new ParamHeaderTable();
    table.learn({ tools: [{ name: 'sql', inputSchema: { type: 'object', properties: { region: { type: 'string', 'x-mcp-header': 'Region' } } } }] }, pino({ level: 'silent' }));
    const call = { jsonrpc: '2.0' as const, id: 1, method: 'tools/call', params: { name: 'sql', arguments: { region: 'us-west1' } } };
    assert.deepEqual(addModernHeaders(call, table, { authorization: 'x' }), {
      authorization: 'x',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': 'sql',
      'mcp-param-region': 'us-west1',
    });
    assert.deepEqual(addModernHeaders({ jsonrpc: '2.0', id: 1, result: {} }, table, {}), { 'mcp-protocol-version': '2026-07-28' });
    assert.deepEqual(addModernHeaders({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } }, table, {}), {
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'notifications/cancelled',
    });
  });
});

describe('x-mcp-header annotations per session', () => {
  it('learns from tools/list, drops invalid tools, and mirrors argument values', () => {
    const table = new ParamHeaderTable();
    const result = {
      tools: [
        { name: 'ok', inputSchema: { properties: { r: { type: 'string', 'x-mcp-header': 'R' }, n: { type: 'integer', 'x-mcp-header': 'N' }, b: { type: 'boolean', 'x-mcp-header': 'B' } } } },
        { name: 'bad', inputSchema: { properties: { f: { type: 'number', 'x-mcp-header': 'F' } } } },
        { name: 'untyped', inputSchema: { properties: { u: { 'x-mcp-header': 'U' } } } },
        { name: 'plain', inputSchema: { type: 'object' } },
      ],
    };
    const warnings: unknown[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line)) });
    table.learn(result, logger);
    assert.deepEqual(result.tools.map((t) => t.name), ['ok', 'plain']);
    assert.deepEqual(warnings.map((w) => (w as { tool: string }).tool), ['bad', 'untyped']);
    const h: Record<string, string> = {};
    table.addHeaders({ name: 'ok', arguments: { r: 'é', n: 42, b: false } }, h);
    assert.deepEqual(h, { 'mcp-param-r': `=?base64?${Buffer.from('é').toString('base64')}?=`, 'mcp-param-n': '42', 'mcp-param-b': 'false' });
    const none: Record<string, string> = {};
    table.addHeaders({ name: 'ok', arguments: { r: null, n: 2 ** 60 } }, none);
    assert.deepEqual(none, {}, 'null and unsafe integers are not mirrored');
    const fraction: Record<string, string> = {};
    table.addHeaders({ name: 'ok', arguments: { n: 1.5 } }, fraction);
    assert.deepEqual(fraction, { 'mcp-param-n': '1.5' }, 'a provided value has its header; the server refuses the non-integer itself');
  });

  it('forgets a tool whose annotations became invalid, and relearns all pages on refresh', async () => {
    const table = new ParamHeaderTable();
    const silent = pino({ level: 'silent' });
    const good = { name: 't', inputSchema: { properties: { r: { type: 'string', 'x-mcp-header': 'R' } } } };
    const pages: Record<string, Array<typeof good | { name: string; inputSchema: unknown }>> = {
      '': [good],
      p2: [{ name: 't', inputSchema: { properties: { r: { type: 'array', 'x-mcp-header': 'R' } } } }],
    };
    const seen: unknown[] = [];
    const list = async (params: Record<string, unknown>) => {
      seen.push(params);
      const key = typeof params.cursor === 'string' ? params.cursor : '';
      const result: Record<string, unknown> = { tools: pages[key] };
      if (key === '') result.nextCursor = 'p2';
      table.learn(result, silent);
      return { jsonrpc: '2.0' as const, id: 1, result };
    };
    await Promise.all([table.refresh(list), table.refresh(list)]);
    assert.deepEqual(seen, [{}, { cursor: 'p2' }], 'concurrent refreshes share one pass');
    const h: Record<string, string> = {};
    table.addHeaders({ name: 't', arguments: { r: 'x' } }, h);
    assert.deepEqual(h, {});
  });
});
