import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { claimsSchema, type ClaimsConfig } from '../../src/config/schema/auth.ts';
import { claimValue, mapClaims, mapUserClaims, MAX_LIST_ENTRIES, MAX_STRING_CHARS } from '../../src/identity/jwt/claims.ts';

const defaults: ClaimsConfig = claimsSchema.parse({});

function parts(payload: Record<string, unknown>, cfg: ClaimsConfig = defaults) {
  const r = mapClaims(payload, cfg);
  assert.ok(r.ok, r.ok ? '' : r.message);
  return r.parts;
}

function problem(payload: Record<string, unknown>, cfg: ClaimsConfig = defaults): string {
  const r = mapClaims(payload, cfg);
  assert.ok(!r.ok, 'expected the mapping to fail');
  return r.message;
}

describe('claimValue', () => {
  it('prefers an exact claim name over a dotted path', () => {
    const p = { 'realm_access.roles': ['exact'], realm_access: { roles: ['nested'] } };
    assert.deepEqual(claimValue(p, 'realm_access.roles'), ['exact']);
  });

  it('walks a dotted path through nested objects', () => {
    assert.deepEqual(claimValue({ realm_access: { roles: ['a'] } }, 'realm_access.roles'), ['a']);
    assert.equal(claimValue({ act: { sub: 'bot' } }, 'act.sub'), 'bot');
    assert.equal(claimValue({ act: 'x' }, 'act.sub'), undefined);
    assert.equal(claimValue({ a: [{ b: 1 }] }, 'a.0.b'), undefined);
  });

  it('reads own properties only', () => {
    assert.equal(claimValue({}, 'constructor'), undefined);
    assert.equal(claimValue({ a: {} }, 'a.toString'), undefined);
    assert.equal(claimValue(JSON.parse('{"__proto__": {"x": 1}}') as Record<string, unknown>, '__proto__.x'), 1);
  });
});

describe('mapClaims', () => {
  it('takes the agent from the first present claim and the user from sub', () => {
    const p = parts({ sub: 'alice', client_id: 'cursor', azp: 'other', client_name: 'Cursor', name: 'Alice', tenant: 'acme' });
    assert.equal(p.agent, 'cursor');
    assert.equal(p.user, 'alice');
    assert.equal(p.tenant, 'acme');
    assert.equal(p.agentName, 'Cursor', 'OIDC name is the user\'s, never the agent\'s');
  });

  it('uses the RFC 8693 actor as the agent', () => {
    const p = parts({ sub: 'alice', act: { sub: 'agent-7' }, client_id: 'gateway-client' });
    assert.equal(p.agent, 'agent-7');
    assert.equal(p.user, 'alice');
  });

  it('omits the user of a client-credentials token (sub equals the agent)', () => {
    const p = parts({ sub: 'ci-bot', client_id: 'ci-bot' });
    assert.equal(p.agent, 'ci-bot');
    assert.equal(p.user, undefined);
  });

  it('fails when no agent claim is present, naming the claims it looked for', () => {
    assert.match(problem({ scope: 'a' }), /names no agent: none of the claims act\.sub, client_id, azp, sub is present/);
  });

  it('treats empty strings and null as absent', () => {
    assert.equal(parts({ client_id: '', azp: null, sub: 'x' }).agent, 'x');
  });

  it('accepts numeric subject ids as text and refuses other non-strings', () => {
    assert.equal(parts({ sub: 12345 }).agent, '12345');
    assert.match(problem({ sub: { id: 1 } }), /claim "sub" \(the agent\) must be a string, got an object/);
    assert.match(problem({ sub: 'a', tenant: ['x'] }), /claim "tenant" \(the tenant\) must be a string, got an array/);
  });

  it('refuses control characters in identity names', () => {
    assert.match(problem({ sub: 'evil\nuser' }), /contains control characters/);
  });

  it('reads lists from arrays and from space- or comma-separated strings', () => {
    const p = parts({ sub: 'a', roles: 'admin, reader,writer', groups: ['g1', 'g2', 'g1'], scope: 'tools:read  tools:call' });
    assert.deepEqual(p.roles, ['admin', 'reader', 'writer']);
    assert.deepEqual(p.groups, ['g1', 'g2']);
    assert.deepEqual(p.scopes, ['tools:read', 'tools:call']);
  });

  it('falls back to later list claims (realm_access.roles, scp)', () => {
    const p = parts({ sub: 'a', realm_access: { roles: ['r'] }, scp: ['s1', 's2'] });
    assert.deepEqual(p.roles, ['r']);
    assert.deepEqual(p.scopes, ['s1', 's2']);
  });

  it('refuses list claims of the wrong shape', () => {
    assert.match(problem({ sub: 'a', roles: { admin: true } }), /claim "roles" must be an array of strings or a space- or comma-separated string, got an object/);
    assert.match(problem({ sub: 'a', groups: ['ok', 7] }), /claim "groups" must hold only strings, got a number/);
  });

  it('refuses absurdly large values instead of copying them', () => {
    const many = Array.from({ length: MAX_LIST_ENTRIES + 1 }, (_, i) => `r${i}`);
    assert.match(problem({ sub: 'a', roles: many }), new RegExp(`has ${MAX_LIST_ENTRIES + 1} entries, more than the ${MAX_LIST_ENTRIES} accepted`));
    assert.match(problem({ sub: 'a', scope: many.join(' ') }), /more than the 256 accepted/);
    const long = 'x'.repeat(MAX_STRING_CHARS + 1);
    assert.match(problem({ sub: long }), /longer than 1024 characters/);
    assert.match(problem({ sub: 'a', groups: [long] }), /claim "groups" holds a string longer than 1024 characters/);
    assert.match(problem({ sub: 'a', client_name: long }), /claim "client_name" holds a string longer/);
  });

  it('copies configured attributes, bounded', () => {
    const cfg = claimsSchema.parse({ attributes: ['department', 'org.level', 'absent'] });
    const p = parts({ sub: 'a', department: 'R&D', org: { level: 3 } }, cfg);
    assert.deepEqual(p.attributes, { department: 'R&D', 'org.level': 3 });
    assert.equal(parts({ sub: 'a' }, cfg).attributes, undefined);
    assert.match(problem({ sub: 'a', department: Array.from({ length: 300 }, () => 1) }, cfg), /claim "department" has 300 members/);
    assert.match(problem({ sub: 'a', department: { a: { b: { c: { d: { e: 1 } } } } } }, cfg), /nested deeper than 4 levels/);
  });

  it('follows a custom mapping', () => {
    const cfg = claimsSchema.parse({ agent: ['appid'], user: ['upn'], tenant: ['tid'], roles: ['wids'] });
    const p = parts({ appid: 'app-1', upn: 'bob@example.com', tid: 't-9', wids: ['w'], sub: 'ignored' }, cfg);
    assert.deepEqual([p.agent, p.user, p.tenant, p.roles], ['app-1', 'bob@example.com', 't-9', ['w']]);
  });
});

describe('mapUserClaims', () => {
  it('reads the user and tenant of an assertion', () => {
    assert.deepEqual(mapUserClaims({ sub: 'alice', tenant: 'acme' }, defaults), { ok: true, user: 'alice', tenant: 'acme' });
    assert.deepEqual(mapUserClaims({ sub: 'alice' }, defaults), { ok: true, user: 'alice' });
  });

  it('fails without a user', () => {
    const r = mapUserClaims({ tenant: 'acme' }, defaults);
    assert.deepEqual(r, { ok: false, message: 'names no user: none of the claims sub is present' });
  });
});
