import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summarizeResult } from '../../../src/audit/summary.ts';
import type { JsonRpcResponse } from '../../../src/protocol/jsonrpc.ts';

const ok = (result: Record<string, unknown>): JsonRpcResponse => ({ jsonrpc: '2.0', id: 1, result });

describe('summarizeResult', () => {
  it('tools/call: size, distinct content types in order, structured, isError', () => {
    const res = ok({ content: [{ type: 'text', text: 'a' }, { type: 'image', data: '', mimeType: 'image/png' }, { type: 'text', text: 'b' }, { type: 'resource_link', uri: 'x' }], structuredContent: { n: 1 } });
    assert.deepEqual(summarizeResult('tools/call', res, 321, false), { size: 321, contentTypes: ['text', 'image', 'resource_link', 'structured'], isError: false });
    assert.deepEqual(summarizeResult('tools/call', ok({ content: [{ type: 'text', text: 'boom' }], isError: true }), 10, false), { size: 10, contentTypes: ['text'], isError: true });
    assert.deepEqual(summarizeResult('tools/call', ok({ content: [] }), 5, false), { size: 5, isError: false });
  });

  it('tools/call with content: the result itself, for the caller to redact', () => {
    const result = { content: [{ type: 'text', text: 'a' }] };
    const s = summarizeResult('tools/call', ok(result), 9, true);
    assert.equal(s?.content, result);
  });

  it('list methods count their items', () => {
    assert.deepEqual(summarizeResult('tools/list', ok({ tools: [{}, {}, {}] }), 1, false), { size: 1, items: 3 });
    assert.deepEqual(summarizeResult('prompts/list', ok({ prompts: [] }), 1, false), { size: 1, items: 0 });
    assert.deepEqual(summarizeResult('resources/list', ok({ resources: [{}], nextCursor: 'c' }), 1, false), { size: 1, items: 1 });
    assert.deepEqual(summarizeResult('resources/templates/list', ok({ resourceTemplates: [{}, {}] }), 1, false), { size: 1, items: 2 });
    // A list is a catalog, not a call's result: never kept as content.
    assert.equal(summarizeResult('tools/list', ok({ tools: [] }), 1, true)?.content, undefined);
  });

  it('resources/read: the MIME types of its contents', () => {
    const res = ok({ contents: [{ uri: 'a', mimeType: 'text/plain', text: 'x' }, { uri: 'b', blob: '' }, { uri: 'c', mimeType: 'application/json', text: '{}' }, { uri: 'd', mimeType: 'text/plain', text: '' }] });
    assert.deepEqual(summarizeResult('resources/read', res, 7, false), { size: 7, contentTypes: ['text/plain', 'application/json'] });
    assert.ok(summarizeResult('resources/read', res, 7, true)?.content !== undefined);
  });

  it('prompts/get: message count', () => {
    assert.deepEqual(summarizeResult('prompts/get', ok({ messages: [{ role: 'user', content: { type: 'text', text: 'x' } }, { role: 'assistant', content: { type: 'text', text: 'y' } }] }), 4, false), { size: 4, items: 2 });
  });

  it('completion/complete: value count', () => {
    assert.deepEqual(summarizeResult('completion/complete', ok({ completion: { values: ['a', 'b'], hasMore: false } }), 3, false), { size: 3, items: 2 });
  });

  it('an error answer is its size only; no answer is no summary', () => {
    assert.deepEqual(summarizeResult('tools/call', { jsonrpc: '2.0', id: 1, error: { code: -32602, message: 'bad' } }, 60, true), { size: 60 });
    assert.equal(summarizeResult('tools/call', undefined, 0, false), undefined);
  });

  it('ignores content items that are not objects with a string type', () => {
    assert.deepEqual(summarizeResult('tools/call', ok({ content: [null, 1, { type: 3 }, { type: 'text' }], structuredContent: null }), 2, false), { size: 2, contentTypes: ['text'], isError: false });
    assert.deepEqual(summarizeResult('initialize', ok({ protocolVersion: 'x' }), 2, true), { size: 2 });
  });
});
