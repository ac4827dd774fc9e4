import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildAdminBody, buildEntryBody, buildGapBody, definitionHash, type EntryContext } from '../../../src/audit/build-entry.ts';
import { canonicalJson, sha256Hex } from '../../../src/audit/canonical.ts';
import { sealEntry } from '../../../src/audit/chain.ts';
import { GENESIS } from '../../../src/audit/entry.ts';
import { argsDigester, generateAuditKey } from '../../../src/audit/keys.ts';
import { compileRedaction } from '../../../src/audit/redact.ts';
import { auditSchema } from '../../../src/config/schema/audit.ts';
import { ANONYMOUS, makePrincipal } from '../../../src/pipeline/principal.ts';
import type { DecisionRecord, ExchangeRecord } from '../../../src/pipeline/record.ts';
import { TARGET_DEF, type Target } from '../../../src/pipeline/target.ts';

const key = generateAuditKey();
const digest = argsDigester(key);
const audit = auditSchema.parse({ redact: { rules: [{ tools: ['db_*'], paths: ['$.query.where'], results: 'content' }] } });
const ctx: EntryContext = { redaction: compileRedaction(audit.redact), digest, results: 'summary', toolClass: (t) => (t.kind === 'tool' ? 'read_only' : undefined) };

const alice = makePrincipal({ authMethod: 'jwt', authSource: 'corp-sso', agent: 'claude', agentName: 'Claude', user: 'alice@example.com', userSource: 'credential', tenant: 'acme', credentialId: 'jti-1', roles: ['analyst'], groups: ['g'], scopes: ['s'], attributes: { secret: 'no' } });
const def = Object.freeze({ name: 'query', description: 'Runs a query', inputSchema: { type: 'object' } });
const tool: Target = { kind: 'tool', upstream: 'warehouse', name: 'db_query', upstreamName: 'query', [TARGET_DEF]: def };
const policyDecision: DecisionRecord = { filter: 'policy', phase: 'authorize', kind: 'continue', shadow: false, micros: 12 };

function record(over: Partial<ExchangeRecord> = {}): ExchangeRecord {
  return {
    id: '01890a5d-ac96-774b-bcce-b302099a8057',
    time: '2026-01-02T03:04:05.678Z',
    durationMs: 12.34567,
    upstreamMs: 8.0004,
    era: 'modern',
    protocolVersion: '2025-11-25',
    sessionId: 'sess-1',
    clientAddress: '10.0.0.7',
    principal: alice,
    method: 'tools/call',
    rpcId: 7,
    target: tool,
    decisions: [policyDecision],
    policy: { effect: 'allow', rule: 'analysts-read', reason: 'rule', message: '', shadow: undefined },
    outcome: 'ok',
    error: undefined,
    bytesIn: 120,
    bytesOut: 340,
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    cache: undefined,
    params: { name: 'db_query', arguments: { query: { table: 't', where: 'id = 1' }, password: 'hunter2', limit: 5 } },
    response: { jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'rows', token: 'abc' }] } },
    ...over,
  };
}

describe('buildEntryBody', () => {
  it('builds an allowed tool call: principal, target with class and definition hash, redacted args, digest, summary', () => {
    const b = buildEntryBody(record(), { ...ctx, redaction: compileRedaction(auditSchema.parse({}).redact) });
    assert.deepEqual(b, {
      type: 'exchange',
      id: '01890a5d-ac96-774b-bcce-b302099a8057',
      time: '2026-01-02T03:04:05.678Z',
      durationMs: 12.346,
      upstreamMs: 8,
      principal: { id: alice.id, agent: 'claude', agentName: 'Claude', user: 'alice@example.com', userSource: 'credential', tenant: 'acme', authMethod: 'jwt', authSource: 'corp-sso', credentialId: 'jti-1', roles: ['analyst'] },
      client: { address: '10.0.0.7' },
      session: 'sess-1',
      requestId: 7,
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      era: 'modern',
      protocolVersion: '2025-11-25',
      method: 'tools/call',
      target: { kind: 'tool', upstream: 'warehouse', name: 'db_query', upstreamName: 'query', class: 'read_only', definitionHash: `sha256:${sha256Hex(canonicalJson(def))}` },
      args: { query: { table: 't', where: 'id = 1' }, password: '[redacted]', limit: 5 },
      argsDigest: digest({ query: { table: 't', where: 'id = 1' }, password: 'hunter2', limit: 5 }),
      redacted: ["$['args']['password']"],
      policy: { effect: 'allow', rule: 'analysts-read', reason: 'rule', enforced: true },
      outcome: 'ok',
      bytesIn: 120,
      bytesOut: 340,
      result: { size: 340, contentTypes: ['text'], isError: false },
    });
  });

  it('applies the target\'s rules to arguments and, with results: content, to the result', () => {
    const b = buildEntryBody(record(), ctx);
    assert.deepEqual(b.args, { query: { table: 't', where: '[redacted]' }, password: '[redacted]', limit: 5 });
    assert.deepEqual(b.result?.content, { content: [{ type: 'text', text: 'rows', token: '[redacted]' }] });
    assert.deepEqual(b.redacted, ["$['args']['query']['where']", "$['args']['password']", "$['result']['content']['content'][0]['token']"]);
    // The record is untouched.
    assert.equal((record().params!.arguments as { password: string }).password, 'hunter2');
  });

  it('hashes a definition once per definition object', () => {
    const d = { name: 'x', inputSchema: {} };
    const h = definitionHash(d);
    d.name = 'changed'; // catalog definitions are immutable; a changed object keeps its first hash
    assert.equal(definitionHash(d), h);
    assert.notEqual(definitionHash({ name: 'changed', inputSchema: {} }), h);
    const b1 = buildEntryBody(record(), ctx);
    const b2 = buildEntryBody(record({ id: 'other' }), ctx);
    assert.equal(b1.target?.definitionHash, b2.target?.definitionHash);
  });

  it('records a denial with its rule, message and error', () => {
    const b = buildEntryBody(
      record({
        decisions: [{ ...policyDecision, kind: 'deny' }],
        policy: { effect: 'deny', rule: 'no-writes', reason: 'rule', message: 'writes are not allowed', shadow: undefined },
        outcome: 'denied',
        error: { code: -32001, message: 'writes are not allowed', source: 'gateway', name: 'denied' },
        upstreamMs: undefined,
        response: { jsonrpc: '2.0', id: 7, error: { code: -32001, message: 'writes are not allowed' } },
        bytesOut: 90,
      }),
      ctx,
    );
    assert.deepEqual(b.policy, { effect: 'deny', rule: 'no-writes', reason: 'rule', message: 'writes are not allowed', enforced: true });
    assert.equal(b.outcome, 'denied');
    assert.deepEqual(b.error, { code: -32001, message: 'writes are not allowed', source: 'gateway', name: 'denied' });
    assert.deepEqual(b.result, { size: 90 });
    assert.equal('upstreamMs' in b, false);
  });

  it('marks a policy in shadow mode as not enforced, and keeps the shadow verdict', () => {
    const b = buildEntryBody(
      record({
        decisions: [{ ...policyDecision, kind: 'deny', shadow: true }],
        policy: { effect: 'deny', rule: undefined, reason: 'default', message: 'no rule allows this', shadow: { effect: 'allow', rule: 'new-rule', reason: 'rule', message: '' } },
      }),
      ctx,
    );
    assert.deepEqual(b.policy, { effect: 'deny', reason: 'default', message: 'no rule allows this', enforced: false, shadow: { effect: 'allow', rule: 'new-rule', reason: 'rule' } });
  });

  it('records a malformed request: anonymous, no method, no target, no args', () => {
    const b = buildEntryBody(
      record({ principal: ANONYMOUS, method: undefined, rpcId: undefined, target: undefined, decisions: [], policy: undefined, outcome: 'malformed', sessionId: undefined, traceId: undefined, params: undefined, response: { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } }, error: { code: -32700, message: 'Parse error', source: 'gateway', name: 'parse_error' }, era: undefined, protocolVersion: undefined, upstreamMs: undefined }),
      ctx,
    );
    assert.deepEqual(b, {
      type: 'exchange',
      id: '01890a5d-ac96-774b-bcce-b302099a8057',
      time: '2026-01-02T03:04:05.678Z',
      durationMs: 12.346,
      principal: { id: ANONYMOUS.id, agent: 'anonymous', authMethod: 'anonymous', authSource: 'none' },
      client: { address: '10.0.0.7' },
      outcome: 'malformed',
      error: { code: -32700, message: 'Parse error', source: 'gateway', name: 'parse_error' },
      bytesIn: 120,
      bytesOut: 340,
      result: { size: 340 },
    });
  });

  it('keeps arguments only for tools/call and prompts/get', () => {
    const read = buildEntryBody(record({ method: 'resources/read', target: { kind: 'resource', upstream: 'fs', name: 'file:///a' }, params: { uri: 'file:///a', arguments: { x: 1 } } }), ctx);
    assert.equal(read.args, undefined);
    assert.equal(read.argsDigest, undefined);
    const prompt = buildEntryBody(record({ method: 'prompts/get', target: { kind: 'prompt', upstream: 'p', name: 'greet' }, params: { name: 'greet', arguments: { who: 'bob' } } }), ctx);
    assert.deepEqual(prompt.args, { who: 'bob' });
    assert.equal(prompt.target?.class, undefined);
    const none = buildEntryBody(record({ params: { name: 'db_query' } }), ctx);
    assert.equal('args' in none || 'argsDigest' in none, false);
  });

  it('records what the response cache did, and nothing for methods it does not consider', () => {
    assert.equal(buildEntryBody(record({ cache: 'hit' }), ctx).cache, 'hit');
    assert.equal('cache' in buildEntryBody(record(), ctx), false);
  });

  it('records arguments that cannot be kept as an explanation, never failing the entry', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 500; i++) deep = { a: deep };
    const b = buildEntryBody(record({ params: { arguments: deep as Record<string, unknown> } }), ctx);
    assert.match(String(b.args), /^\[unrecordable: .*nesting deeper than 200/);
    assert.equal(b.argsDigest, undefined);
    const lone = buildEntryBody(record({ params: { arguments: JSON.parse('{"q":"\\ud800"}') as Record<string, unknown> } }), ctx);
    assert.match(String(lone.argsDigest), /^hmac-sha256:/);
    assert.doesNotThrow(() => sealEntry(lone, 'c', 1, GENESIS));
  });

  it('produces a body that seals', () => {
    const { row } = sealEntry(buildEntryBody(record(), ctx), 'gw', 1, GENESIS);
    assert.equal(row.columns.decision, 'allow');
    assert.equal(row.columns.toolClass, 'read_only');
    assert.equal(row.columns.user, 'alice@example.com');
  });
});

describe('buildGapBody and buildAdminBody', () => {
  it('records a gap', () => {
    const now = new Date('2026-01-02T03:04:05.000Z');
    const b = buildGapBody({ reason: 'buffer_full', lost: 3, from: '2026-01-02T03:00:00.000Z', to: '2026-01-02T03:04:00.000Z', detail: undefined }, now);
    assert.equal(b.type, 'gap');
    assert.equal(b.time, '2026-01-02T03:04:05.000Z');
    assert.match(b.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual(b.gap, { reason: 'buffer_full', lost: 3, from: '2026-01-02T03:00:00.000Z', to: '2026-01-02T03:04:00.000Z' });
    assert.equal(sealEntry(b, 'c', 1, GENESIS).row.columns.type, 'gap');
  });

  it('records an admin action', () => {
    const admin = makePrincipal({ authMethod: 'api_key', authSource: 'admin-keys', agent: 'ops' });
    const b = buildAdminBody({ principal: admin, action: 'keys.revoke', status: 404, subject: 'key-9', time: new Date('2026-01-02T03:04:05.000Z'), durationMs: 1.23456, clientAddress: '127.0.0.1', error: 'no such key' });
    assert.deepEqual({ ...b, id: undefined }, {
      type: 'admin',
      id: undefined,
      time: '2026-01-02T03:04:05.000Z',
      durationMs: 1.235,
      principal: { id: admin.id, agent: 'ops', authMethod: 'api_key', authSource: 'admin-keys' },
      client: { address: '127.0.0.1' },
      admin: { action: 'keys.revoke', status: 404, subject: 'key-9' },
      outcome: 'error',
      error: { code: 404, message: 'no such key', source: 'gateway' },
    });
    assert.equal(sealEntry(b, 'c', 1, GENESIS).row.columns.method, 'keys.revoke');
  });
});
