// The policy engine's decisions, from real config text through compileConfig: each matcher matching
// and not, the effects and how they combine, argument constraints, evaluation errors (deny, and say so),
// shadow rules, what a caller sees listed, and what `explain` tells a person about every rule.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { compileConfig } from '../../../src/config/compile.ts';
import { parseConfigText } from '../../../src/config/load.ts';
import { makePrincipal, type Principal } from '../../../src/pipeline/principal.ts';
import { decide, visible, type PolicyDecision } from '../../../src/policy/decide.ts';
import { explain } from '../../../src/policy/explain.ts';
import { toolTarget } from '../../../src/policy/input.ts';
import type { CompiledPolicy } from '../../../src/policy/policy.ts';
import type { PolicyInput, PolicyTarget } from '../../../src/policy/types.ts';

const FILE = '/cfg/gatehouse.yaml';
const UPSTREAMS = [
  { name: 'fs', transport: 'stdio', command: 'fs-server', trusted: true, toolClasses: { 'read_*': 'read_only' } },
  { name: 'web', transport: 'stdio', command: 'web-server' },
];

function compile(policy: Record<string, unknown>, gateway: Record<string, unknown> = { environment: 'prod' }): CompiledPolicy {
  const text = stringify({
    version: 1,
    auth: { methods: [{ name: 'keys', type: 'api_key' }] },
    gateway: { listen: { auth: ['keys'] }, ...gateway },
    upstreams: UPSTREAMS,
    policy,
  });
  const p = compileConfig(parseConfigText(text, FILE, {})).policy;
  assert.ok(p, 'the config has a policy');
  return p;
}

const rules = (...list: Record<string, unknown>[]) => compile({ rules: list });

const ALICE = makePrincipal({
  authMethod: 'api_key',
  authSource: 'keys',
  agent: 'ops-bot',
  user: 'alice',
  tenant: 'acme',
  roles: ['oncall'],
  groups: ['sre'],
  scopes: ['tools:read'],
});
const who = (o: Partial<Principal> = {}) => makePrincipal({ authMethod: 'api_key', authSource: 'keys', agent: 'ops-bot', ...o });

const WED = Date.parse('2026-01-14T10:00:00Z'); // Wednesday, 11:00 in Berlin
const SAT = Date.parse('2026-01-17T11:00:00Z'); // Saturday, 12:00 in Berlin

const READ_ONLY = { readOnlyHint: true, destructiveHint: false };

function tool(p: CompiledPolicy, upstream: string, name: string, annotations?: Record<string, unknown>): PolicyTarget {
  const def = { name: `${upstream}__${name}`, inputSchema: { type: 'object' }, ...(annotations === undefined ? {} : { annotations }) };
  return toolTarget(p, def, upstream, `${upstream}__${name}`, name);
}
const prompt = (upstream: string, name: string): PolicyTarget => ({ kind: 'prompt', upstream, name: `${upstream}__${name}`, upstreamName: name });
const resource = (upstream: string, uri: string): PolicyTarget => ({ kind: 'resource', upstream, name: uri, upstreamName: uri });

const METHOD = { tool: 'tools/call', prompt: 'prompts/get', resource: 'resources/read' } as const;

function input(p: CompiledPolicy, target: PolicyTarget, o: Partial<PolicyInput> = {}): PolicyInput {
  return { principal: ALICE, method: METHOD[target.kind], target, args: {}, environment: p.environment, clientAddress: '10.1.2.3', now: WED, ...o };
}

const DEFAULT_DENY: PolicyDecision = { effect: 'deny', rule: undefined, reason: 'default', message: 'No policy rule allows this call', shadow: undefined };

/** Whether a lone allow rule with `when` (default deny) allows the call `make` builds. */
function allows(when: Record<string, unknown>, make: (p: CompiledPolicy) => PolicyInput, gateway?: Record<string, unknown>): boolean {
  const p = compile({ rules: [{ name: 'r', effect: 'allow', when }] }, gateway);
  const d = decide(p, make(p));
  if (d.effect === 'allow') {
    assert.deepEqual(d, { effect: 'allow', rule: 'r', reason: 'rule', message: '', shadow: undefined });
    return true;
  }
  assert.deepEqual(d, DEFAULT_DENY);
  return false;
}

const fsRead = (o: Partial<PolicyInput> = {}) => (p: CompiledPolicy) => input(p, tool(p, 'fs', 'read_file'), o);

describe('matchers: each one matching and not', () => {
  it('agents (globs)', () => {
    assert.equal(allows({ agents: ['ops-*'] }, fsRead()), true);
    assert.equal(allows({ agents: ['ops-*'] }, fsRead({ principal: who({ agent: 'dev-bot' }) })), false);
    assert.equal(allows({ agents: ['ops-bot'] }, fsRead({ principal: who({ agent: 'ops-bot2' }) })), false);
  });

  it('users (globs); a principal without a user never matches', () => {
    assert.equal(allows({ users: ['alice', 'b*'] }, fsRead()), true);
    assert.equal(allows({ users: ['alice', 'b*'] }, fsRead({ principal: who({ user: 'bob' }) })), true);
    assert.equal(allows({ users: ['alice', 'b*'] }, fsRead({ principal: who({ user: 'carol' }) })), false);
    assert.equal(allows({ users: ['*'] }, fsRead({ principal: who() })), false);
  });

  it('tenants (globs); a principal without a tenant never matches', () => {
    assert.equal(allows({ tenants: ['acme'] }, fsRead()), true);
    assert.equal(allows({ tenants: ['acme'] }, fsRead({ principal: who({ tenant: 'globex' }) })), false);
    assert.equal(allows({ tenants: ['*'] }, fsRead({ principal: who() })), false);
  });

  it('roles, groups and scopes: any one of them', () => {
    assert.equal(allows({ roles: ['admin', 'oncall'] }, fsRead()), true);
    assert.equal(allows({ roles: ['admin'] }, fsRead()), false);
    assert.equal(allows({ roles: ['oncall'] }, fsRead({ principal: who() })), false);
    assert.equal(allows({ groups: ['sre'] }, fsRead()), true);
    assert.equal(allows({ groups: ['dev'] }, fsRead()), false);
    assert.equal(allows({ scopes: ['tools:write', 'tools:read'] }, fsRead()), true);
    assert.equal(allows({ scopes: ['tools:write'] }, fsRead()), false);
    assert.equal(allows({ scopes: ['tools'] }, fsRead()), false, 'no prefix matching of scopes');
  });

  it('authMethods: the method type or the configured method name', () => {
    assert.equal(allows({ authMethods: ['api_key'] }, fsRead()), true);
    assert.equal(allows({ authMethods: ['keys'] }, fsRead()), true);
    assert.equal(allows({ authMethods: ['jwt', 'sso'] }, fsRead()), false);
    const sso = who({ authMethod: 'jwt', authSource: 'sso' });
    assert.equal(allows({ authMethods: ['sso'] }, fsRead({ principal: sso })), true);
    assert.equal(allows({ authMethods: ['jwt'] }, fsRead({ principal: sso })), true);
    assert.equal(allows({ authMethods: ['api_key'] }, fsRead({ principal: sso })), false);
  });

  it('upstreams (exact or glob), for every kind of target', () => {
    assert.equal(allows({ upstreams: ['fs'] }, fsRead()), true);
    assert.equal(allows({ upstreams: ['fs'] }, (p) => input(p, tool(p, 'web', 'fetch'))), false);
    assert.equal(allows({ upstreams: ['w*'] }, (p) => input(p, tool(p, 'web', 'fetch'))), true);
    assert.equal(allows({ upstreams: ['fs'] }, (p) => input(p, prompt('fs', 'summary'))), true);
    assert.equal(allows({ upstreams: ['fs'] }, (p) => input(p, resource('fs', 'file:///srv/a'))), true);
    assert.equal(allows({ upstreams: ['fs'] }, (p) => input(p, resource('web', 'https://x/'))), false);
    assert.equal(allows({ upstreams: ['*'] }, (p) => input(p, { kind: 'resource', upstream: undefined, name: 'x://y' })), false);
  });

  it('tools, prompts and resources (globs), each only for its own kind', () => {
    assert.equal(allows({ tools: ['fs__read_*'] }, fsRead()), true);
    assert.equal(allows({ tools: ['fs__read_*'] }, (p) => input(p, tool(p, 'fs', 'write_file'))), false);
    assert.equal(allows({ tools: ['*'] }, (p) => input(p, prompt('fs', 'read_file'))), false, 'a tools rule does not apply to prompts');
    assert.equal(allows({ prompts: ['fs__summar*'] }, (p) => input(p, prompt('fs', 'summary'))), true);
    assert.equal(allows({ prompts: ['fs__summar*'] }, (p) => input(p, prompt('fs', 'digest'))), false);
    assert.equal(allows({ prompts: ['*'] }, fsRead()), false, 'a prompts rule does not apply to tools');
    assert.equal(allows({ resources: ['file:///srv/*'] }, (p) => input(p, resource('fs', 'file:///srv/data.csv'))), true);
    assert.equal(allows({ resources: ['file:///srv/*'] }, (p) => input(p, resource('fs', 'file:///etc/passwd'))), false);
    assert.equal(allows({ resources: ['*'] }, fsRead()), false);
  });

  it('a rule naming tools and prompts holds each list to its own kind', () => {
    const when = { tools: ['fs__read_file'], prompts: ['fs__summary'] };
    assert.equal(allows(when, fsRead()), true);
    assert.equal(allows(when, (p) => input(p, prompt('fs', 'summary'))), true);
    assert.equal(allows(when, (p) => input(p, prompt('fs', 'read_file'))), false);
    assert.equal(allows(when, (p) => input(p, tool(p, 'fs', 'summary'))), false);
    assert.equal(allows(when, (p) => input(p, resource('fs', 'fs__summary'))), false);
  });

  it('classes: from toolClasses, from a trusted upstream\'s annotations, never from an untrusted one\'s', () => {
    const when = { classes: ['read_only'] };
    assert.equal(allows(when, fsRead()), true, 'toolClasses read_* → read_only');
    assert.equal(allows(when, (p) => input(p, tool(p, 'fs', 'stat', READ_ONLY))), true, 'trusted annotations');
    assert.equal(allows(when, (p) => input(p, tool(p, 'fs', 'stat'))), false, 'no annotations: the default class');
    assert.equal(allows(when, (p) => input(p, tool(p, 'web', 'fetch', READ_ONLY))), false, 'untrusted annotations are ignored');
    assert.equal(allows({ classes: ['high_risk_write'] }, (p) => input(p, tool(p, 'web', 'fetch', READ_ONLY))), true);
    assert.equal(allows({ classes: ['read_only', 'high_risk_write'] }, (p) => input(p, prompt('fs', 'x'))), false, 'classes apply to tools only');
  });

  it('the default tool class is policy.defaultToolClass', () => {
    const p = compile({ defaultToolClass: 'low_risk_write', rules: [{ name: 'r', effect: 'allow', when: { classes: ['low_risk_write'] } }] });
    assert.equal(decide(p, input(p, tool(p, 'web', 'fetch', READ_ONLY))).rule, 'r');
    assert.equal(decide(p, input(p, tool(p, 'fs', 'stat', READ_ONLY))).effect, 'deny', 'a trusted read_only tool is not low_risk_write');
  });

  it('annotations: only a trusted upstream\'s, all values as given', () => {
    const when = { annotations: { destructiveHint: false, idempotentHint: true } };
    const ann = { destructiveHint: false, idempotentHint: true, title: 'Stat' };
    assert.equal(allows(when, (p) => input(p, tool(p, 'fs', 'stat', ann))), true);
    assert.equal(allows(when, (p) => input(p, tool(p, 'web', 'stat', ann))), false, 'untrusted upstream');
    assert.equal(allows(when, (p) => input(p, tool(p, 'fs', 'stat', { destructiveHint: false }))), false, 'one value missing');
    assert.equal(allows(when, (p) => input(p, tool(p, 'fs', 'stat', { destructiveHint: 'false', idempotentHint: true }))), false, 'a string is not a boolean');
    assert.equal(allows(when, (p) => input(p, tool(p, 'fs', 'stat'))), false, 'no annotations');
    assert.equal(allows({ annotations: { title: 'Stat' } }, (p) => input(p, tool(p, 'fs', 'stat', ann))), true);
  });

  it('methods', () => {
    assert.equal(allows({ methods: ['tools/call'] }, fsRead()), true);
    assert.equal(allows({ methods: ['prompts/get', 'completion/complete'] }, (p) => input(p, prompt('fs', 's'), { method: 'completion/complete' })), true);
    assert.equal(allows({ methods: ['prompts/get'] }, (p) => input(p, prompt('fs', 's'), { method: 'completion/complete' })), false);
    assert.equal(allows({ methods: ['resources/read'] }, (p) => input(p, resource('fs', 'file:///a'), { method: 'resources/subscribe' })), false);
  });

  it('environments: gateway.environment; a gateway without one matches no environments rule', () => {
    assert.equal(allows({ environments: ['prod', 'staging'] }, fsRead()), true);
    assert.equal(allows({ environments: ['staging'] }, fsRead()), false);
    assert.equal(allows({ environments: ['staging'] }, fsRead(), { environment: 'staging' }), true);
    assert.equal(allows({ environments: ['prod'] }, fsRead(), {}), false);
  });

  it('clients: IPv4 and IPv6 addresses and CIDR ranges; IPv4-mapped IPv6 peers count as IPv4', () => {
    const nets = { clients: ['10.0.0.0/8', '127.0.0.1', '2001:db8::/32', '::1'] };
    const from = (clientAddress: string | undefined) => fsRead({ clientAddress });
    assert.equal(allows(nets, from('10.1.2.3')), true);
    assert.equal(allows(nets, from('11.1.2.3')), false);
    assert.equal(allows(nets, from('127.0.0.1')), true);
    assert.equal(allows(nets, from('127.0.0.2')), false);
    assert.equal(allows(nets, from('::ffff:10.1.2.3')), true, 'IPv4-mapped, as a dual-stack socket reports it');
    assert.equal(allows(nets, from('::ffff:127.0.0.1')), true);
    assert.equal(allows(nets, from('::ffff:192.168.1.1')), false);
    assert.equal(allows(nets, from('2001:db8:1::5')), true);
    assert.equal(allows(nets, from('2001:db9::1')), false);
    assert.equal(allows(nets, from('::1')), true);
    assert.equal(allows(nets, from('::2')), false);
    assert.equal(allows(nets, from(undefined)), false, 'no address (stdio) matches no clients rule');
    assert.equal(allows(nets, from('not-an-address')), false);
    assert.equal(allows({ clients: ['0.0.0.0/0'] }, from('2001:db8::1')), false, 'an IPv4 range never holds an IPv6 address');
    assert.equal(allows({ clients: ['2001:db8::/32'] }, from('10.1.2.3')), false);
    // The IPv4-mapped range is where IPv4 peers live in IPv6 terms: it holds them, however they arrive.
    assert.equal(allows({ clients: ['::ffff:0:0/96'] }, from('10.1.2.3')), true);
    assert.equal(allows({ clients: ['::ffff:0:0/96'] }, from('::ffff:10.1.2.3')), true);
  });

  it('time: a weekly window in its zone', () => {
    const when = { time: { days: ['mon-fri'], from: '09:00', to: '17:00', timezone: 'Europe/Berlin' } };
    assert.equal(allows(when, fsRead({ now: WED })), true);
    assert.equal(allows(when, fsRead({ now: SAT })), false);
    assert.equal(allows(when, fsRead({ now: Date.parse('2026-01-14T16:30:00Z') })), false, '17:30 in Berlin');
  });

  it('condition: CEL over principal, target, method, args, environment and client', () => {
    const c = (condition: string, o: Partial<PolicyInput> = {}) => allows({ condition }, fsRead(o));
    assert.equal(c('principal.tenant == "acme" && "oncall" in principal.roles'), true);
    assert.equal(c('principal.tenant == "globex"'), false);
    assert.equal(c('target.upstream == "fs" && target.class == "read_only" && target.upstreamName == "read_file"'), true);
    assert.equal(c('method == "tools/call" && environment == "prod"'), true);
    assert.equal(c('client.address.startsWith("10.")'), true);
    assert.equal(c('args.path.startsWith("/srv/")', { args: { path: '/srv/x' } }), true);
    assert.equal(c('args.path.startsWith("/srv/")', { args: { path: '/etc/x' } }), false);
    assert.equal(c('!has(principal.user)'), false);
    assert.equal(c('has(principal.user)'), true);
  });

  it('an empty `when` matches every call; several matchers must all hold', () => {
    assert.equal(allows({}, (p) => input(p, resource('web', 'https://x/'), { principal: who(), clientAddress: undefined })), true);
    const both = { agents: ['ops-*'], tools: ['fs__read_*'], environments: ['prod'] };
    assert.equal(allows(both, fsRead()), true);
    assert.equal(allows(both, fsRead({ principal: who({ agent: 'dev' }) })), false);
    assert.equal(allows(both, (p) => input(p, tool(p, 'fs', 'write'))), false);
    assert.equal(allows(both, fsRead(), {}), false);
  });
});

describe('effects and how they combine', () => {
  const allowAll = { name: 'allow-all', effect: 'allow' };
  const denyRead = { name: 'deny-read', effect: 'deny', when: { tools: ['fs__read_*'] } };

  it('deny overrides allow whichever comes first', () => {
    for (const p of [rules(allowAll, denyRead), rules(denyRead, allowAll)]) {
      assert.deepEqual(decide(p, input(p, tool(p, 'fs', 'read_file'))), {
        effect: 'deny',
        rule: 'deny-read',
        reason: 'rule',
        message: 'Denied by policy rule "deny-read"',
        shadow: undefined,
      });
      assert.equal(decide(p, input(p, tool(p, 'fs', 'write'))).rule, 'allow-all');
    }
  });

  it('require_approval overrides allow, and says approvals are not available; deny overrides it', () => {
    const approve = { name: 'approve-writes', effect: 'require_approval', when: { classes: ['high_risk_write'] } };
    for (const p of [rules(allowAll, approve), rules(approve, allowAll)]) {
      const d = decide(p, input(p, tool(p, 'web', 'post')));
      assert.equal(d.effect, 'require_approval');
      assert.equal(d.rule, 'approve-writes');
      assert.equal(d.reason, 'rule');
      assert.equal(d.message, 'This call needs a human\'s approval (policy rule "approve-writes"); approvals are not available on this gateway yet, so it is denied');
    }
    const denyWeb = { name: 'deny-web', effect: 'deny', when: { upstreams: ['web'] } };
    for (const p of [rules(approve, denyWeb), rules(denyWeb, approve)]) assert.equal(decide(p, input(p, tool(p, 'web', 'post'))).rule, 'deny-web');
    const custom = rules({ ...approve, message: 'Ask #ops first' });
    assert.equal(decide(custom, input(custom, tool(custom, 'web', 'post'))).message, 'Ask #ops first');
  });

  it('within the winning effect, the first rule in order is named', () => {
    const p = rules({ name: 'a1', effect: 'allow' }, { name: 'd1', effect: 'deny', when: { upstreams: ['web'] }, message: 'first' }, { name: 'a2', effect: 'allow' }, { name: 'd2', effect: 'deny', message: 'second' });
    assert.equal(decide(p, input(p, tool(p, 'web', 'x'))).message, 'first');
    assert.equal(decide(p, input(p, tool(p, 'fs', 'x'))).rule, 'd2');
    const q = rules({ name: 'a1', effect: 'allow', when: { upstreams: ['web'] } }, { name: 'a2', effect: 'allow' });
    assert.equal(decide(q, input(q, tool(q, 'web', 'x'))).rule, 'a1');
    assert.equal(decide(q, input(q, tool(q, 'fs', 'x'))).rule, 'a2');
  });

  it('a deny rule\'s message is what the agent is told', () => {
    const p = rules({ ...denyRead, message: 'Reading is paused during the migration' });
    assert.equal(decide(p, input(p, tool(p, 'fs', 'read_file'))).message, 'Reading is paused during the migration');
  });

  it('default deny (the default) and default allow', () => {
    const deny = rules({ name: 'only-web', effect: 'allow', when: { upstreams: ['web'] } });
    assert.deepEqual(decide(deny, input(deny, tool(deny, 'fs', 'x'))), DEFAULT_DENY);
    const allow = compile({ default: 'allow', rules: [denyRead] });
    assert.deepEqual(decide(allow, input(allow, tool(allow, 'fs', 'write'))), { effect: 'allow', rule: undefined, reason: 'default', message: '', shadow: undefined });
    assert.equal(decide(allow, input(allow, tool(allow, 'fs', 'read_file'))).rule, 'deny-read');
    const empty = compile({});
    assert.deepEqual(decide(empty, input(empty, prompt('fs', 'x'))), DEFAULT_DENY);
  });
});

describe('argument constraints', () => {
  const schemaRule = {
    name: 'srv-only',
    effect: 'allow',
    when: { tools: ['fs__read_*'] },
    arguments: {
      schema: { type: 'object', properties: { path: { type: 'string', pattern: '^/srv/' } }, required: ['path'] },
      message: 'Only files under /srv may be read',
    },
  };
  const read = (p: CompiledPolicy, args: Record<string, unknown>) => decide(p, input(p, tool(p, 'fs', 'read_file'), { args }));

  it('JSON Schema: conforming arguments allow; others deny with reason constraint, the message and what is wrong', () => {
    const p = rules(schemaRule);
    assert.deepEqual(read(p, { path: '/srv/data.csv' }), { effect: 'allow', rule: 'srv-only', reason: 'rule', message: '', shadow: undefined });
    assert.deepEqual(read(p, { path: '/etc/passwd' }), {
      effect: 'deny',
      rule: 'srv-only',
      reason: 'constraint',
      message: 'Only files under /srv may be read: arguments/path must match pattern "^/srv/"',
      shadow: undefined,
    });
    assert.equal(read(p, {}).message, 'Only files under /srv may be read: arguments must have required property \'path\'');
    assert.equal(read(p, { path: 7 }).message, 'Only files under /srv may be read: arguments/path must be string');
  });

  it('CEL: a condition over args; without a message the rule is named', () => {
    const p = rules({ name: 'small-pages', effect: 'allow', arguments: { condition: 'args.limit <= 100' } });
    assert.equal(read(p, { limit: 50 }).effect, 'allow');
    assert.deepEqual(read(p, { limit: 500 }), {
      effect: 'deny',
      rule: 'small-pages',
      reason: 'constraint',
      message: 'The arguments break policy rule "small-pages": arguments do not satisfy `args.limit <= 100`',
      shadow: undefined,
    });
  });

  it('a constraint that cannot be evaluated is broken, and says why', () => {
    const p = rules({ name: 'small-pages', effect: 'allow', arguments: { condition: 'args.limit <= 100' } });
    const d = read(p, { page: 2 });
    assert.equal(d.effect, 'deny');
    assert.equal(d.reason, 'constraint');
    assert.equal(d.message, 'The arguments break policy rule "small-pages": the argument condition could not be evaluated (condition failed: No such key: limit)');
  });

  it('schema and condition together: both must hold', () => {
    const p = rules({ ...schemaRule, arguments: { ...schemaRule.arguments, condition: '!args.path.contains("..")' } });
    assert.equal(read(p, { path: '/srv/a' }).effect, 'allow');
    assert.match(read(p, { path: '/etc' }).message, /must match pattern/);
    assert.equal(read(p, { path: '/srv/../etc/passwd' }).message, 'Only files under /srv may be read: arguments do not satisfy `!args.path.contains("..")`');
  });

  it('broken arguments deny even when another allow rule matches (an allow never launders a broken constraint)', () => {
    for (const p of [rules(schemaRule, { name: 'allow-all', effect: 'allow' }), rules({ name: 'allow-all', effect: 'allow' }, schemaRule)]) {
      assert.equal(read(p, { path: '/etc/passwd' }).reason, 'constraint');
      assert.equal(read(p, { path: '/srv/a' }).effect, 'allow');
    }
  });

  it('constraints only apply to calls the rule matches', () => {
    const p = rules(schemaRule, { name: 'web-ok', effect: 'allow', when: { upstreams: ['web'] } });
    assert.equal(decide(p, input(p, tool(p, 'web', 'read_page'), { args: { path: '/etc' } })).rule, 'web-ok');
  });

  it('on a require_approval rule: broken arguments deny outright, good ones still need approval', () => {
    const p = rules({ name: 'approve', effect: 'require_approval', arguments: { condition: 'args.path.startsWith("/srv/")' } });
    assert.equal(read(p, { path: '/srv/a' }).effect, 'require_approval');
    const d = read(p, { path: '/etc' });
    assert.equal(d.effect, 'deny');
    assert.equal(d.reason, 'constraint');
  });
});

describe('evaluation errors deny, and say so', () => {
  const missingKey = { name: 'mode-x', effect: 'allow', when: { condition: 'args.mode == "x"' } };

  it('an allow rule whose condition cannot be evaluated denies with reason error', () => {
    const p = rules(missingKey);
    assert.deepEqual(decide(p, input(p, tool(p, 'fs', 'x'), { args: {} })), {
      effect: 'deny',
      rule: 'mode-x',
      reason: 'error',
      message: 'Policy rule "mode-x" could not be evaluated (condition failed: No such key: mode); the call is denied',
      shadow: undefined,
    });
    assert.equal(decide(p, input(p, tool(p, 'fs', 'x'), { args: { mode: 'x' } })).effect, 'allow');
    assert.deepEqual(decide(p, input(p, tool(p, 'fs', 'x'), { args: { mode: 'y' } })), DEFAULT_DENY);
  });

  it('the error wins over another matching allow, wherever it is written', () => {
    for (const p of [rules({ name: 'allow-all', effect: 'allow' }, missingKey), rules(missingKey, { name: 'allow-all', effect: 'allow' })]) {
      const d = decide(p, input(p, tool(p, 'fs', 'x')));
      assert.equal(d.reason, 'error');
      assert.equal(d.rule, 'mode-x');
    }
  });

  it('an error in a deny rule denies too, with the same message shape', () => {
    const p = compile({ default: 'allow', rules: [{ name: 'no-bob', effect: 'deny', message: 'not you', when: { condition: 'principal.user == "bob"' } }] });
    const d = decide(p, input(p, tool(p, 'fs', 'x'), { principal: who() }));
    assert.equal(d.effect, 'deny');
    assert.equal(d.reason, 'error');
    assert.equal(d.message, 'Policy rule "no-bob" could not be evaluated (condition failed: No such key: user); the call is denied');
    assert.equal(decide(p, input(p, tool(p, 'fs', 'x'))).effect, 'allow', 'alice has a user: no error, no match');
  });
});

describe('shadow rules', () => {
  it('a shadow deny leaves the decision alone and records what it would have done', () => {
    const p = rules({ name: 'allow-all', effect: 'allow' }, { name: 'would-deny', effect: 'deny', shadow: true, message: 'soon', when: { upstreams: ['web'] } });
    assert.deepEqual(decide(p, input(p, tool(p, 'web', 'x'))), {
      effect: 'allow',
      rule: 'allow-all',
      reason: 'rule',
      message: '',
      shadow: { effect: 'deny', rule: 'would-deny', reason: 'rule', message: 'soon' },
    });
    assert.equal(decide(p, input(p, tool(p, 'fs', 'x'))).shadow, undefined, 'not matched: nothing would change');
  });

  it('a shadow allow records that it would let a denied call through', () => {
    const p = rules({ name: 'would-allow', effect: 'allow', shadow: true, when: { tools: ['fs__read_*'] } });
    const d = decide(p, input(p, tool(p, 'fs', 'read_file')));
    assert.equal(d.effect, 'deny');
    assert.equal(d.reason, 'default');
    assert.deepEqual(d.shadow, { effect: 'allow', rule: 'would-allow', reason: 'rule', message: '' });
  });

  it('no shadow verdict when the shadow rule would decide the same', () => {
    const p = rules({ name: 'allow-all', effect: 'allow' }, { name: 'also-allow', effect: 'allow', shadow: true }, { name: 'deny-web', effect: 'deny', when: { upstreams: ['web'] } }, { name: 'also-deny', effect: 'deny', shadow: true, when: { upstreams: ['web'] } });
    assert.equal(decide(p, input(p, tool(p, 'fs', 'x'))).shadow, undefined);
    const d = decide(p, input(p, tool(p, 'web', 'x')));
    assert.equal(d.rule, 'deny-web');
    assert.equal(d.shadow, undefined);
  });

  it('shadow rules are seen after an enforced deny, and a shadow rule\'s error is only recorded', () => {
    const p = rules({ name: 'deny-all', effect: 'deny' }, { name: 'would-error', effect: 'allow', shadow: true, when: { condition: 'args.nope' } });
    const d = decide(p, input(p, tool(p, 'fs', 'x')));
    assert.equal(d.rule, 'deny-all');
    assert.equal(d.shadow, undefined, 'deny-all wins either way');
    const q = rules({ name: 'allow-all', effect: 'allow' }, { name: 'would-error', effect: 'allow', shadow: true, when: { condition: 'args.nope' } });
    const e = decide(q, input(q, tool(q, 'fs', 'x')));
    assert.equal(e.effect, 'allow');
    assert.equal(e.shadow?.reason, 'error');
    assert.equal(e.shadow?.rule, 'would-error');
  });

  it('shadow rules never change what is listed', () => {
    const p = rules({ name: 'allow-all', effect: 'allow' }, { name: 'would-deny', effect: 'deny', shadow: true });
    assert.equal(visible(p, input(p, tool(p, 'fs', 'x'), { args: undefined })), true);
    const q = rules({ name: 'would-allow', effect: 'allow', shadow: true });
    assert.equal(visible(q, input(q, tool(q, 'fs', 'x'), { args: undefined })), false);
  });
});

describe('visible: what a caller sees listed', () => {
  const listed = (p: CompiledPolicy, t: (p: CompiledPolicy) => PolicyTarget, o: Partial<PolicyInput> = {}) => visible(p, input(p, t(p), { args: undefined, ...o }));
  const fsX = (p: CompiledPolicy) => tool(p, 'fs', 'x');

  it('lists what an allow rule may allow, even when it depends on the arguments', () => {
    const p = rules({ name: 'mode-x', effect: 'allow', when: { condition: 'args.mode == "x"' } });
    assert.equal(listed(p, fsX), true);
    assert.deepEqual(decide(p, input(p, fsX(p), { args: { mode: 'y' } })), DEFAULT_DENY, 'though this call is not allowed');
  });

  it('lists what an allow with argument constraints allows, and what needs approval', () => {
    assert.equal(listed(rules({ name: 'c', effect: 'allow', arguments: { condition: 'args.n < 3' } }), fsX), true);
    assert.equal(listed(rules({ name: 'a', effect: 'require_approval' }), fsX), true);
  });

  it('a deny that depends on the arguments does not hide; one that surely matches does', () => {
    const maybe = compile({ default: 'allow', rules: [{ name: 'no-x', effect: 'deny', when: { condition: 'args.mode == "x"' } }] });
    assert.equal(listed(maybe, fsX), true);
    const sure = compile({ default: 'allow', rules: [{ name: 'no-fs', effect: 'deny', when: { upstreams: ['fs'] } }] });
    assert.equal(listed(sure, fsX), false);
    assert.equal(listed(sure, (p) => tool(p, 'web', 'x')), true);
  });

  it('a sure deny hides even when an allow matches, in either order', () => {
    const allow = { name: 'allow-all', effect: 'allow' };
    const deny = { name: 'deny-fs', effect: 'deny', when: { upstreams: ['fs'] } };
    assert.equal(listed(rules(allow, deny), fsX), false);
    assert.equal(listed(rules(deny, allow), fsX), false);
  });

  it('reveal: true keeps a denied target listed', () => {
    const p = rules({ name: 'allow-all', effect: 'allow' }, { name: 'no-fs', effect: 'deny', reveal: true, message: 'fs is read-only today', when: { upstreams: ['fs'] } });
    assert.equal(listed(p, fsX), true);
    const d = decide(p, input(p, fsX(p)));
    assert.equal(d.effect, 'deny');
    assert.equal(d.message, 'fs is read-only today');
  });

  it('an evaluation error hides the target (every call to it would be denied)', () => {
    const p = rules({ name: 'allow-all', effect: 'allow' }, { name: 'no-bob', effect: 'deny', reveal: true, when: { condition: 'principal.user == "bob"' } });
    assert.equal(listed(p, fsX, { principal: who() }), false);
    assert.equal(listed(p, fsX), true);
  });

  it('under default deny with no matching allow nothing is listed; under default allow everything not denied is', () => {
    assert.equal(listed(compile({}), fsX), false);
    assert.equal(listed(compile({ default: 'allow' }), fsX), true);
    const p = rules({ name: 'web', effect: 'allow', when: { upstreams: ['web'] } });
    assert.equal(listed(p, fsX), false);
    assert.equal(listed(p, (q) => prompt('web', 'x')), true);
  });
});

describe('explain', () => {
  const TEXT = `version: 1
auth:
  methods: [{ name: keys, type: api_key }]
gateway:
  listen: { auth: [keys] }
  environment: prod
upstreams:
  - { name: fs, transport: stdio, command: fs-server, trusted: true, toolClasses: { "read_*": read_only } }
  - { name: web, transport: stdio, command: web-server }
policy:
  rules:
    - name: everything-wrong
      effect: allow
      when:
        methods: [prompts/get]
        tools: [fs__read_*]
        classes: [read_only]
        upstreams: [fs]
        agents: [dev-*]
        users: [bob]
        tenants: [globex]
        roles: [admin]
        groups: [dev]
        scopes: [tools:write]
        authMethods: [jwt]
        environments: [staging]
        annotations: { readOnlyHint: true }
        clients: [192.168.0.0/16]
        time: { days: [mon-fri], from: "09:00", to: "17:00", timezone: Europe/Berlin }
        condition: principal.tenant == "globex"
    - name: prompts-only
      effect: deny
      when: { prompts: ["*"] }
    - name: by-args
      effect: allow
      when: { condition: 'args.mode == "x"' }
    - name: srv-only
      effect: allow
      when: { upstreams: [web] }
      arguments: { condition: 'args.path.startsWith("/srv/")', message: Only /srv }
    - name: shadowed
      effect: deny
      shadow: true
      when: { agents: [ops-*] }
`;
  const p = compileConfig(parseConfigText(TEXT, FILE, {})).policy!;

  it('lists every matcher that failed, with its reason, and where the rule is written', () => {
    const e = explain(p, input(p, tool(p, 'web', 'write'), { now: SAT, principal: who({ user: 'alice', tenant: 'acme', roles: ['oncall'], groups: ['sre'], scopes: ['tools:read'] }) }));
    const t = e.rules[0]!;
    assert.equal(t.rule, 'everything-wrong');
    assert.equal(t.where, `${FILE}:12`);
    assert.equal(t.result, 'not matched');
    assert.deepEqual(t.reasons, [
      'methods: method "tools/call" is not one of [prompts/get]',
      'tools: tool "web__write" is not one of [fs__read_*]',
      'classes: tool class "high_risk_write" is not one of [read_only]',
      'upstreams: upstream "web" is not one of [fs]',
      'agents: agent "ops-bot" is not one of [dev-*]',
      'users: user "alice" is not one of [bob]',
      'tenants: tenant "acme" is not one of [globex]',
      'roles: roles [oncall] include none of [admin]',
      'groups: groups [sre] include none of [dev]',
      'scopes: scopes [tools:read] include none of [tools:write]',
      'authMethods: authentication api_key ("keys") is not one of [jwt]',
      'environments: environment "prod" is not one of [staging]',
      'annotations: the tool has no annotations from a trusted upstream',
      'clients: client address "10.1.2.3" is not in [192.168.0.0/16]',
      'time: 2026-01-17 12:00 sat Europe/Berlin is outside mon-fri 09:00-17:00 Europe/Berlin',
      'condition: condition `principal.tenant == "globex"` is false',
    ]);
  });

  // decide() never reaches a rule's condition once another matcher failed, so for decide() this rule
  // simply does not match. explain() evaluates every matcher; a condition that cannot be evaluated
  // there must not turn a rule that does not match into "error ... the call is denied".
  it('says what is missing when the principal has no user, tenant or address, and what annotations do not match', () => {
    const e = explain(p, input(p, tool(p, 'fs', 'read_x', { readOnlyHint: false }), { principal: who(), clientAddress: undefined }));
    assert.equal(e.rules[0]!.result, 'not matched', e.rules[0]!.reasons.join('\n'));
    const reasons = e.rules[0]!.reasons;
    assert.ok(reasons.includes('users: user (none) is not one of [bob]'), reasons.join('\n'));
    assert.ok(reasons.includes('tenants: tenant (none) is not one of [globex]'));
    assert.ok(reasons.includes('clients: client address (none) is not in [192.168.0.0/16]'));
    assert.ok(reasons.includes('annotations: annotations {"readOnlyHint":false} do not have {"readOnlyHint":true}'));
    assert.ok(!reasons.some((r) => r.startsWith('tools:') || r.startsWith('classes:') || r.startsWith('upstreams:')), 'those matched');
    assert.ok(reasons.some((r) => r.startsWith('condition: ') && r.includes('No such key: tenant')), 'the condition that could not be evaluated is one reason among the others');
    assert.ok(!reasons.some((r) => r.includes('the call is denied')));
  });

  it('rules for other target kinds are "not applicable"', () => {
    const e = explain(p, input(p, tool(p, 'fs', 'x')));
    assert.deepEqual(e.rules[1], { rule: 'prompts-only', effect: 'deny', shadow: false, where: `${FILE}:31`, result: 'not applicable', reasons: ['applies to prompts only; this is a tool'] });
    const r = explain(p, input(p, resource('fs', 'file:///a')));
    assert.equal(r.rules[0]!.result, 'not applicable');
    assert.deepEqual(r.rules[0]!.reasons, ['applies to tools only; this is a resource']);
  });

  it('matched, may match (arguments unknown), broken constraints, errors and shadow rules', () => {
    const known = explain(p, input(p, tool(p, 'web', 'get'), { args: { mode: 'x', path: '/etc' } }));
    assert.deepEqual(known.rules.map((r) => [r.rule, r.result, r.reasons]), [
      ['everything-wrong', 'not matched', known.rules[0]!.reasons],
      ['prompts-only', 'not applicable', ['applies to prompts only; this is a tool']],
      ['by-args', 'matched', ['decides allow']],
      ['srv-only', 'matched', ['Only /srv: arguments do not satisfy `args.path.startsWith("/srv/")`']],
      ['shadowed', 'matched', ['decides deny']],
    ]);
    assert.equal(known.rules[4]!.shadow, true);
    assert.equal(known.decision.effect, 'deny');
    assert.equal(known.decision.reason, 'constraint');
    assert.equal(known.decision.rule, 'srv-only');
    assert.equal(known.listed, true);
    assert.equal(known.enforced, true);
    assert.equal(known.defaultEffect, 'deny');

    const unknown = explain(p, input(p, tool(p, 'web', 'get'), { args: undefined }));
    assert.deepEqual(unknown.rules[2], { rule: 'by-args', effect: 'allow', shadow: false, where: `${FILE}:34`, result: 'may match', reasons: ['depends on the arguments, which are not given'] });

    const failing = explain(p, input(p, tool(p, 'fs', 'get'), { args: {} }));
    assert.deepEqual(failing.rules[2]!.result, 'error');
    assert.deepEqual(failing.rules[2]!.reasons, [
      'condition: condition failed: No such key: mode',
      'Policy rule "by-args" could not be evaluated (condition failed: No such key: mode); the call is denied',
    ]);
    assert.equal(failing.decision.reason, 'error');
  });

  it('in whole-policy shadow mode: not enforced, and everything is listed', () => {
    const q = compile({ shadow: true, rules: [{ name: 'no-fs', effect: 'deny', when: { upstreams: ['fs'] } }] });
    const e = explain(q, input(q, tool(q, 'fs', 'x')));
    assert.equal(e.enforced, false);
    assert.equal(e.listed, true);
    assert.equal(e.decision.effect, 'deny');
    assert.equal(e.decision.rule, 'no-fs');
  });
});
