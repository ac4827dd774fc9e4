import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildAdminBody, buildGapBody } from '../../../src/audit/build-entry.ts';
import { sealEntry, type AuditEntryBody } from '../../../src/audit/chain.ts';
import { GENESIS, type AuditEntry } from '../../../src/audit/entry.ts';
import { toOcsf } from '../../../src/audit/ocsf.ts';
import { makePrincipal } from '../../../src/pipeline/principal.ts';

const base: AuditEntryBody = {
  type: 'exchange',
  id: '01890a5d-ac96-774b-bcce-b302099a8057',
  time: '2026-01-02T03:04:05.678Z',
  durationMs: 12.6,
  upstreamMs: 8,
  principal: { id: 'corp-sso:acme:claude:alice', agent: 'claude', agentName: 'Claude', user: 'alice', tenant: 'acme', authMethod: 'jwt', authSource: 'corp-sso', credentialId: 'jti-1', roles: ['analyst'] },
  client: { address: '10.0.0.7' },
  session: 'sess-1',
  requestId: 7,
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  era: 'modern',
  protocolVersion: '2025-11-25',
  method: 'tools/call',
  target: { kind: 'tool', upstream: 'warehouse', name: 'db_query', upstreamName: 'query', class: 'read_only', definitionHash: 'sha256:abc' },
  args: { q: 1, password: '[redacted]' },
  argsDigest: 'hmac-sha256:k:00',
  redacted: ["$['args']['password']"],
  policy: { effect: 'allow', rule: 'analysts-read', reason: 'rule', enforced: true },
  outcome: 'ok',
  bytesIn: 100,
  bytesOut: 200,
  result: { size: 200, contentTypes: ['text'], isError: false },
};

function sealed(body: AuditEntryBody, seq = 5): { entry: AuditEntry; hash: string } {
  const { entry, row } = sealEntry(body, 'gw-1', seq, GENESIS);
  return { entry, hash: row.hash };
}

/** The OCSF event of a body, loosely typed for reading nested fields. */
function ocsf(body: AuditEntryBody): Record<string, any> {
  const { entry, hash } = sealed(body);
  return toOcsf(entry, hash, '0');
}

describe('toOcsf', () => {
  it('maps an allowed tool call to API Activity 6003 / Other (Invoke), success', () => {
    const { entry, hash } = sealed(base);
    const e = toOcsf(entry, hash, '0.1.0');
    assert.deepEqual(e, {
      class_uid: 6003,
      class_name: 'API Activity',
      category_uid: 6,
      category_name: 'Application Activity',
      activity_id: 99,
      activity_name: 'Invoke',
      type_uid: 600399,
      type_name: 'API Activity: Invoke',
      time: Date.parse('2026-01-02T03:04:05.678Z'),
      duration: 13,
      severity_id: 1,
      severity: 'Informational',
      status_id: 1,
      status: 'Success',
      status_code: 'ok',
      actor: {
        app_uid: 'claude',
        app_name: 'Claude',
        user: { uid: 'alice', name: 'alice' },
        session: { uid: 'sess-1', credential_uid: 'jti-1' },
        idp: { name: 'corp-sso' },
        authorizations: [{ decision: 'Allowed', policy: { name: 'analysts-read', is_applied: true } }],
      },
      api: { operation: 'tools/call', service: { name: 'warehouse' }, version: '2025-11-25', request: { uid: '7' } },
      src_endpoint: { ip: '10.0.0.7' },
      resources: [{ name: 'db_query', type: 'tool', uid: 'query', labels: ['read_only'], data: { definitionHash: 'sha256:abc' } }],
      metadata: {
        product: { name: 'Gatehouse', vendor_name: 'Gatehouse', version: '0.1.0' },
        version: '1.3.0',
        uid: '01890a5d-ac96-774b-bcce-b302099a8057',
        correlation_uid: '4bf92f3577b34da6a3ce929d0e0e4736',
        log_name: 'gw-1',
        log_provider: 'Gatehouse',
        sequence: 5,
        original_time: '2026-01-02T03:04:05.678Z',
        tenant_uid: 'acme',
      },
      unmapped: {
        hash,
        prev: GENESIS,
        type: 'exchange',
        era: 'modern',
        principal: { id: 'corp-sso:acme:claude:alice', authMethod: 'jwt', roles: ['analyst'] },
        outcome: 'ok',
        args: { q: 1, password: '[redacted]' },
        argsDigest: 'hmac-sha256:k:00',
        redacted: ["$['args']['password']"],
        bytesIn: 100,
        bytesOut: 200,
        upstreamMs: 8,
        result: { size: 200, contentTypes: ['text'], isError: false },
      },
    });
    // Serializable as is (no undefined left behind).
    assert.deepEqual(JSON.parse(JSON.stringify(e)), e);
  });

  it('maps a denied call: failure, the policy decision, Low severity', () => {
    const { entry, hash } = sealed({
      ...base,
      policy: { effect: 'deny', rule: 'no-writes', reason: 'rule', message: 'writes are not allowed', enforced: true },
      outcome: 'denied',
      error: { code: -32001, message: 'writes are not allowed', source: 'gateway', name: 'denied' },
      result: { size: 90 },
      upstreamMs: undefined,
    });
    const e = toOcsf(entry, hash, '0.1.0') as Record<string, any>;
    assert.deepEqual([e.status_id, e.status, e.status_code, e.status_detail, e.severity_id], [2, 'Failure', 'denied', 'writes are not allowed', 2]);
    assert.deepEqual(e.actor.authorizations, [{ decision: 'Denied', policy: { name: 'no-writes', desc: 'writes are not allowed', is_applied: true } }]);
    assert.deepEqual(e.api.response, { code: -32001, error: 'denied', error_message: 'writes are not allowed' });
    assert.equal(e.unmapped.errorSource, 'gateway');
  });

  it('maps a shadow-mode decision as not applied, and keeps the shadow verdict', () => {
    const { entry, hash } = sealed({ ...base, policy: { effect: 'deny', reason: 'default', enforced: false, shadow: { effect: 'allow', rule: 'r', reason: 'rule' } } });
    const e = toOcsf(entry, hash, '0.1.0') as Record<string, any>;
    assert.deepEqual(e.actor.authorizations, [{ decision: 'Denied', policy: { name: 'default', is_applied: false } }]);
    assert.deepEqual(e.unmapped.policy, { shadow: { effect: 'allow', rule: 'r', reason: 'rule' } });
  });

  it('maps failed calls: upstream errors, tool errors, cancellations', () => {
    const up = ocsf({ ...base, outcome: 'upstream_error', error: { code: -32603, message: 'backend exploded', source: 'upstream' } });
    assert.deepEqual([up.status_id, up.status_code, up.status_detail], [2, 'upstream_error', 'backend exploded']);
    assert.deepEqual(up.api.response, { code: -32603, error: '-32603', error_message: 'backend exploded' });
    const tool = ocsf({ ...base, result: { size: 3, isError: true } });
    assert.deepEqual([tool.status_id, tool.status_code], [2, 'tool_error']);
    const gone = ocsf({ ...base, outcome: 'cancelled' });
    assert.deepEqual([gone.status_id, gone.status], [99, 'Other']);
  });

  it('maps methods to CRUD activities', () => {
    const act = (method: string) => ocsf({ ...base, method }).activity_id as number;
    assert.equal(act('resources/read'), 2);
    assert.equal(act('tools/list'), 2);
    assert.equal(act('prompts/get'), 2);
    assert.equal(act('resources/subscribe'), 1);
    assert.equal(act('resources/unsubscribe'), 4);
    assert.equal(act('logging/setLevel'), 3);
    assert.equal(act('initialize'), 99);
    const e = ocsf({ ...base, method: 'resources/read' });
    assert.deepEqual([e.type_uid, e.activity_name], [600302, 'Read']);
  });

  it('leaves out what an entry does not have (stdio: no address; no user; no policy)', () => {
    const { entry } = sealed({ type: 'exchange', id: 'x', time: '2026-01-02T03:04:05.678Z', principal: { id: 'p', agent: 'bot', authMethod: 'anonymous', authSource: 'none' }, method: 'ping', outcome: 'ok' });
    const e = toOcsf(entry, 'h', '0') as Record<string, any>;
    assert.equal(e.src_endpoint, undefined);
    assert.deepEqual(e.actor, { app_uid: 'bot', app_name: 'bot', idp: { name: 'none' } });
    assert.deepEqual(e.api, { operation: 'ping', service: { name: 'gatehouse' }, request: { uid: 'x' } });
    assert.equal(e.resources, undefined);
    const host = ocsf({ ...base, client: { address: 'unix-socket' } });
    assert.deepEqual(host.src_endpoint, { name: 'unix-socket' });
  });

  it('maps a gap as a failed API Activity of the audit trail itself', () => {
    const { entry, hash } = sealed(buildGapBody({ reason: 'buffer_full', lost: 4, from: '2026-01-02T03:00:00.000Z', to: '2026-01-02T03:01:00.000Z' }, new Date('2026-01-02T03:02:00.000Z')));
    const e = toOcsf(entry, hash, '0') as Record<string, any>;
    assert.deepEqual([e.class_uid, e.activity_id, e.activity_name, e.type_uid, e.status_id, e.status_code, e.status_detail, e.severity_id], [6003, 99, 'Audit Gap', 600399, 2, 'buffer_full', '4 audit records lost', 4]);
    assert.deepEqual([e.start_time, e.end_time], [Date.parse('2026-01-02T03:00:00.000Z'), Date.parse('2026-01-02T03:01:00.000Z')]);
    assert.deepEqual(e.actor, { app_name: 'Gatehouse' });
    assert.equal(e.api.operation, 'audit.gap');
    assert.equal(e.unmapped.gap.lost, 4);
  });

  it('maps an admin action by its verb', () => {
    const admin = makePrincipal({ authMethod: 'api_key', authSource: 'admin', agent: 'ops' });
    const { entry, hash } = sealed(buildAdminBody({ principal: admin, action: 'keys.revoke', status: 200, subject: 'k1', time: new Date('2026-01-02T03:04:05.000Z') }));
    const e = toOcsf(entry, hash, '0') as Record<string, any>;
    assert.deepEqual([e.activity_id, e.activity_name, e.status_id, e.api.operation, e.api.service.name, e.api.response.code], [4, 'Delete', 1, 'keys.revoke', 'gatehouse-admin', 200]);
    assert.deepEqual(e.unmapped.admin, { subject: 'k1' });
    const refused = ocsf(buildAdminBody({ principal: admin, action: 'keys.create', status: 403, time: new Date(), error: 'forbidden' }));
    assert.deepEqual([refused.activity_id, refused.status_id, refused.status_code, refused.severity_id], [1, 2, 'denied', 2]);
  });
});
