// Filtered lists remembered per (catalog, policy, caller): a caller listing again is handed the same
// answer without a policy decision per item; another caller, another catalog or another policy gets
// its own; and policies whose list decisions read the time are never memoized.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { buildCatalog, type Catalog, type Item } from '../../../src/catalog/catalog.ts';
import { compileConfig } from '../../../src/config/compile.ts';
import { parseConfigText } from '../../../src/config/load.ts';
import type { Snapshot } from '../../../src/config/snapshot.ts';
import { Exchange } from '../../../src/pipeline/exchange.ts';
import { makePrincipal, type Principal } from '../../../src/pipeline/principal.ts';
import { MAX_CALLERS, visibleList } from '../../../src/traffic/cache/list-memo.ts';

function snapshot(rules: Record<string, unknown>[], extra: Record<string, unknown> = {}): Snapshot {
  const text = stringify({
    version: 1,
    auth: { methods: [{ name: 'keys', type: 'api_key' }] },
    gateway: { listen: { auth: ['keys'] } },
    upstreams: [{ name: 'db', transport: 'stdio', command: 'db' }],
    policy: { default: 'deny', rules, ...extra },
  });
  return compileConfig(parseConfigText(text, '/cfg/gatehouse.yaml', {}));
}

function catalog(...names: string[]): Catalog {
  const tools: Item[] = names.map((name) => ({ name, inputSchema: { type: 'object' } }));
  return buildCatalog([{ upstream: 'db', prefix: 'db', healthy: true, tools, prompts: [], resources: [], resourceTemplates: [] }], { separator: '__', maxLength: 64 });
}

const who = (agent: string, o: Partial<Principal> = {}) => makePrincipal({ authMethod: 'api_key', authSource: 'keys', agent, ...o });

function list(s: Snapshot, c: Catalog, p: Principal, clientAddress = '127.0.0.1'): readonly Item[] {
  const x = new Exchange(s, { era: 'modern', protocolVersion: undefined, session: undefined, clientAddress, clientCapabilities: {}, notify: undefined, ask: undefined, logLevel: undefined }, 'tools/list', 1, {}, new AbortController().signal, 0);
  x.principal = p;
  return visibleList(s.policy, x, c, 'tools');
}

const names = (items: readonly Item[]) => items.map((i) => i.name);

const ROLES = [
  { name: 'readers', effect: 'allow', when: { roles: ['reader'], tools: ['db__get_*'] } },
  { name: 'admins', effect: 'allow', when: { roles: ['admin'] } },
];

describe('list memo', () => {
  it('two callers see their own lists; a caller listing again is handed the remembered list', () => {
    const s = snapshot(ROLES);
    const c = catalog('get_a', 'get_b', 'drop_all');
    const reader = who('r', { roles: ['reader'] });
    const first = list(s, c, reader);
    assert.deepEqual(names(first), ['db__get_a', 'db__get_b']);
    assert.equal(list(s, c, who('r', { roles: ['reader'] })), first, 'an equal principal (a new object) hits');
    assert.deepEqual(names(list(s, c, who('boss', { roles: ['admin'] }))), ['db__get_a', 'db__get_b', 'db__drop_all']);
    assert.deepEqual(names(list(s, c, who('nobody'))), []);
    assert.ok(Object.isFrozen(first), 'a remembered list is frozen: every caller with this key is handed it');
  });

  it('the same subject with other roles or scopes is another key', () => {
    const s = snapshot(ROLES);
    const c = catalog('get_a', 'drop_all');
    assert.deepEqual(names(list(s, c, who('r', { roles: ['reader'] }))), ['db__get_a']);
    assert.deepEqual(names(list(s, c, who('r', { roles: ['admin'] }))), ['db__get_a', 'db__drop_all']);
  });

  it('a new catalog (list_changed) or a new policy (reload) starts afresh', () => {
    const s = snapshot(ROLES);
    const reader = who('r', { roles: ['reader'] });
    const before = list(s, catalog('get_a', 'drop_all'), reader);
    const after = list(s, catalog('get_a', 'get_new', 'drop_all'), reader);
    assert.deepEqual(names(before), ['db__get_a']);
    assert.deepEqual(names(after), ['db__get_a', 'db__get_new']);
    const c = catalog('get_a', 'drop_all');
    const s2 = snapshot([{ name: 'none', effect: 'allow', when: { roles: ['nobody'] } }]);
    assert.deepEqual(names(list(s, c, reader)), ['db__get_a']);
    assert.deepEqual(names(list(s2, c, reader)), []);
  });

  it('no memo when list decisions read the time: a time window, or a condition on now/time', () => {
    for (const when of [
      { time: { days: ['mon-sun'], from: '00:00', to: '23:59' } },
      { condition: 'now.hour >= 0' },
      { condition: 'time > timestamp("2020-01-01T00:00:00Z")' },
    ]) {
      const s = snapshot([{ name: 'timed', effect: 'allow', when: { tools: ['db__get_*'], ...when } }]);
      const c = catalog('get_a', 'drop_all');
      const a = list(s, c, who('r'));
      assert.deepEqual(names(a), ['db__get_a'], JSON.stringify(when));
      assert.notEqual(list(s, c, who('r')), a, `recomputed: ${JSON.stringify(when)}`);
    }
  });

  it('a condition on the arguments is not evaluated in lists, so it does not stop the memo; a shadow rule neither', () => {
    const s = snapshot([
      { name: 'args', effect: 'allow', when: { tools: ['db__get_*'], condition: 'args.limit < 10 || now.hour >= 0' } },
      { name: 'shadowed', effect: 'deny', shadow: true, when: { time: { days: ['mon-sun'], from: '00:00', to: '23:59' } } },
    ]);
    const c = catalog('get_a', 'drop_all');
    assert.equal(list(s, c, who('r')), list(s, c, who('r')));
  });

  it('a time window of a rule for another environment does not stop the memo (the environment is fixed per config)', () => {
    const window = { days: ['mon-sun'], from: '00:00', to: '23:59' };
    const other = snapshot([{ name: 'staging-hours', effect: 'allow', when: { environments: ['staging'], tools: ['db__get_*'], time: window } }]);
    const c = catalog('get_a');
    assert.equal(list(other, c, who('r')), list(other, c, who('r')));
    const text = stringify({
      version: 1,
      auth: { methods: [{ name: 'keys', type: 'api_key' }] },
      gateway: { listen: { auth: ['keys'] }, environment: 'staging' },
      upstreams: [{ name: 'db', transport: 'stdio', command: 'db' }],
      policy: { default: 'deny', rules: [{ name: 'staging-hours', effect: 'allow', when: { environments: ['staging'], tools: ['db__get_*'], time: window } }] },
    });
    const here = compileConfig(parseConfigText(text, '/cfg/gatehouse.yaml', {}));
    assert.notEqual(list(here, c, who('r')), list(here, c, who('r')));
  });

  it('a condition on the principal keys on its attributes; a clients rule on the client address', () => {
    const s = snapshot([{ name: 'team', effect: 'allow', when: { tools: ['db__get_*'], condition: 'principal.attributes.team == "blue"' } }]);
    const c = catalog('get_a', 'drop_all');
    assert.deepEqual(names(list(s, c, who('r', { attributes: { team: 'blue' } }))), ['db__get_a']);
    assert.deepEqual(names(list(s, c, who('r', { attributes: { team: 'red' } }))), []);
    const n = snapshot([{ name: 'lan', effect: 'allow', when: { tools: ['db__get_*'], clients: ['10.0.0.0/8'] } }]);
    assert.deepEqual(names(list(n, c, who('r'), '10.1.2.3')), ['db__get_a']);
    assert.deepEqual(names(list(n, c, who('r'), '192.168.1.1')), []);
  });

  it(`remembers at most ${MAX_CALLERS} callers per list, forgetting the least recent`, () => {
    const s = snapshot(ROLES);
    const c = catalog('get_a', 'drop_all');
    const first = list(s, c, who('agent-0', { roles: ['reader'] }));
    for (let i = 1; i <= MAX_CALLERS; i++) list(s, c, who(`agent-${i}`, { roles: ['reader'] }));
    assert.notEqual(list(s, c, who('agent-0', { roles: ['reader'] })), first);
    const recent = list(s, c, who(`agent-${MAX_CALLERS}`, { roles: ['reader'] }));
    assert.equal(list(s, c, who(`agent-${MAX_CALLERS}`, { roles: ['reader'] })), recent);
  });
});
