// What goes on the wire besides the body: hop _meta, progress tokens, the Mcp-* header values.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { JsonRpcNotification } from '../../src/protocol/jsonrpc.ts';
import { ProgressTokens, type ProgressSink } from '../../src/upstream/progress-tokens.ts';
import { modernHopMeta, outgoingParams } from '../../src/upstream/transports/hop-meta.ts';
import { encodeHeaderValue, mcpNameOf, ParamHeaderTable, scanInputSchema } from '../../src/upstream/transports/mcp-headers.ts';

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

describe('Mcp-* header values', () => {
  it('follows the spec\'s value-encoding examples', () => {
    assert.equal(encodeHeaderValue('us-west1'), 'us-west1');
    assert.equal(encodeHeaderValue('Hello, 世界'), '=?base64?SGVsbG8sIOS4lueVjA==?=');
    assert.equal(encodeHeaderValue(' padded '), '=?base64?IHBhZGRlZCA=?=');
    assert.equal(encodeHeaderValue('line1\nline2'), '=?base64?bGluZTEKbGluZTI=?=');
    assert.equal(encodeHeaderValue('=?base64?literal?='), '=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=');
  });

  it('names tools, prompts and resources in Mcp-Name', () => {
    assert.equal(mcpNameOf('tools/call', { name: 'get_weather' }), 'get_weather');
    assert.equal(mcpNameOf('resources/read', { uri: 'file:///ä.txt' }), `=?base64?${Buffer.from('file:///ä.txt').toString('base64')}?=`);
    assert.equal(mcpNameOf('tools/list', {}), undefined);
    assert.equal(mcpNameOf('prompts/get', { name: 42 }), undefined);
  });
});

describe('x-mcp-header annotations', () => {
  it('finds annotations reachable through properties only', () => {
    const headers = scanInputSchema({ type: 'object', properties: { region: { type: 'string', 'x-mcp-header': 'Region' }, opts: { type: 'object', properties: { n: { type: 'integer', 'x-mcp-header': 'N' } } } } });
    assert.deepEqual(headers, [
      { header: 'Mcp-Param-Region', path: ['region'] },
      { header: 'Mcp-Param-N', path: ['opts', 'n'] },
    ]);
  });

  it('rejects the invalid ones', () => {
    const invalid = [
      { properties: { a: { type: 'number', 'x-mcp-header': 'A' } } },
      { properties: { a: { type: 'string', 'x-mcp-header': '' } } },
      { properties: { a: { type: 'string', 'x-mcp-header': 'Bad Name' } } },
      { properties: { a: { type: 'string', 'x-mcp-header': 'X' }, b: { type: 'string', 'x-mcp-header': 'x' } } },
      { properties: { list: { type: 'array', items: { type: 'string', 'x-mcp-header': 'Item' } } } },
      { properties: { a: { anyOf: [{ type: 'string', 'x-mcp-header': 'A' }] } } },
      { $defs: { a: { type: 'string', 'x-mcp-header': 'A' } } },
    ];
    for (const schema of invalid) assert.equal(typeof scanInputSchema(schema), 'string', JSON.stringify(schema));
  });

  it('ignores data that merely looks like an annotation', () => {
    assert.deepEqual(scanInputSchema({ properties: { a: { type: 'object', default: { 'x-mcp-header': 'nope' }, enum: [{ 'x-mcp-header': 1 }] } } }), []);
    assert.deepEqual(scanInputSchema({ properties: { 'x-mcp-header': { type: 'string' } } }), []);
  });

  it('learns from tools/list, drops invalid tools, and mirrors argument values', () => {
    const table = new ParamHeaderTable();
    const result = {
      tools: [
        { name: 'ok', inputSchema: { properties: { r: { type: 'string', 'x-mcp-header': 'R' }, n: { type: 'integer', 'x-mcp-header': 'N' }, b: { type: 'boolean', 'x-mcp-header': 'B' } } } },
        { name: 'bad', inputSchema: { properties: { f: { type: 'number', 'x-mcp-header': 'F' } } } },
        { name: 'plain', inputSchema: { type: 'object' } },
      ],
    };
    table.learn(result, pino({ level: 'silent' }));
    assert.deepEqual(result.tools.map((t) => t.name), ['ok', 'plain']);
    const h: Record<string, string> = {};
    table.addHeaders({ name: 'ok', arguments: { r: 'é', n: 42, b: false } }, h);
    assert.deepEqual(h, { 'Mcp-Param-R': `=?base64?${Buffer.from('é').toString('base64')}?=`, 'Mcp-Param-N': '42', 'Mcp-Param-B': 'false' });
    const none: Record<string, string> = {};
    table.addHeaders({ name: 'ok', arguments: { r: null, n: 1.5 } }, none);
    assert.deepEqual(none, {});
  });
});
