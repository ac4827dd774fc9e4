// Tool classes decide what `when.classes` rules see. They come from config (`toolClasses` globs on the
// upstream's own tool names, first match in written order), then, for upstreams marked `trusted` only,
// from the tool's annotations, then from `policy.defaultToolClass`. An untrusted server could otherwise
// annotate its way into an allow.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { compileConfig } from '../../../src/config/compile.ts';
import { parseConfigText } from '../../../src/config/load.ts';
import type { CompiledPolicy } from '../../../src/policy/policy.ts';
import { decide } from '../../../src/policy/decide.ts';
import { toolTarget } from '../../../src/policy/input.ts';
import { compileToolClasses } from '../../../src/policy/tool-class.ts';
import { makePrincipal } from '../../../src/pipeline/principal.ts';
import type { UpstreamConfig } from '../../../src/config/schema/upstream.ts';

const READ = { readOnlyHint: true, destructiveHint: false };

function policyOf(upstreams: Record<string, unknown>[], policy: Record<string, unknown> = {}): CompiledPolicy {
  const text = stringify({
    version: 1,
    auth: { methods: [{ name: 'keys', type: 'api_key' }] },
    gateway: { listen: { auth: ['keys'] } },
    upstreams,
    policy,
  });
  const p = compileConfig(parseConfigText(text, '/cfg/gatehouse.yaml', {})).policy;
  assert.ok(p, 'the config has a policy');
  return p;
}

const stdio = (name: string, extra: Record<string, unknown> = {}) => ({ name, transport: 'stdio', command: 'server', ...extra });

function upstreamConfigs(upstreams: Record<string, unknown>[]): readonly UpstreamConfig[] {
  const text = stringify({ version: 1, upstreams });
  return parseConfigText(text, '/cfg/gatehouse.yaml', {}).config.upstreams;
}

const def = (name: string, annotations?: unknown): Record<string, unknown> => ({ name, inputSchema: { type: 'object' }, ...(annotations === undefined ? {} : { annotations }) });

describe('compileToolClasses: annotations of trusted upstreams', () => {
  const classes = compileToolClasses(upstreamConfigs([stdio('trusted', { trusted: true }), stdio('plain')]), 'high_risk_write');
  const cls = (upstream: string, annotations: unknown) => classes.classOf(upstream, 'tool', def('tool', annotations));

  it('readOnlyHint: true is read_only, whatever destructiveHint says', () => {
    assert.equal(cls('trusted', { readOnlyHint: true }), 'read_only');
    assert.equal(cls('trusted', { readOnlyHint: true, destructiveHint: true }), 'read_only');
  });

  it('only an explicit destructiveHint: false makes a low-risk write (MCP defaults destructiveHint to true)', () => {
    assert.equal(cls('trusted', { readOnlyHint: false, destructiveHint: false }), 'low_risk_write');
    assert.equal(cls('trusted', { destructiveHint: false }), 'low_risk_write');
    assert.equal(cls('trusted', { destructiveHint: true }), 'high_risk_write');
    assert.equal(cls('trusted', { readOnlyHint: false }), 'high_risk_write');
  });

  it('annotations that say nothing about side effects, or none at all, fall back to the default class', () => {
    assert.equal(cls('trusted', { title: 'A tool', idempotentHint: true }), 'high_risk_write');
    assert.equal(cls('trusted', undefined), 'high_risk_write');
    assert.equal(cls('trusted', 'read-only'), 'high_risk_write', 'annotations that are not an object are ignored');
    assert.equal(cls('trusted', [READ]), 'high_risk_write');
    assert.equal(cls('trusted', { readOnlyHint: 'true' }), 'high_risk_write', 'only the boolean true counts');
  });

  it('ignores the annotations of an untrusted upstream entirely', () => {
    assert.equal(cls('plain', READ), 'high_risk_write');
    assert.equal(cls('plain', { destructiveHint: false }), 'high_risk_write');
    assert.equal(classes.annotationsOf('plain', def('tool', READ)), undefined);
    assert.deepEqual(classes.annotationsOf('trusted', def('tool', READ)), READ);
    assert.equal(classes.annotationsOf('trusted', def('tool')), undefined);
  });

  it('an upstream the config does not know, or no upstream at all, gets the default class and no annotations', () => {
    assert.equal(cls('gone', READ), 'high_risk_write');
    assert.equal(classes.classOf(undefined, 'tool', def('tool', READ)), 'high_risk_write');
    assert.equal(classes.annotationsOf(undefined, def('tool', READ)), undefined);
  });
});

describe('compileToolClasses: toolClasses globs', () => {
  const upstreams = upstreamConfigs([
    stdio('k8s', {
      trusted: true,
      toolClasses: { 'kubectl_get*': 'read_only', kubectl_delete: 'high_risk_write', 'kubectl_*': 'low_risk_write' },
    }),
    stdio('plain', { toolClasses: { 'list_*': 'read_only' } }),
  ]);
  const classes = compileToolClasses(upstreams, 'high_risk_write');

  it('the first matching entry in written order wins', () => {
    assert.equal(classes.classOf('k8s', 'kubectl_get_pods', def('k8s__kubectl_get_pods')), 'read_only');
    assert.equal(classes.classOf('k8s', 'kubectl_delete', def('k8s__kubectl_delete')), 'high_risk_write');
    assert.equal(classes.classOf('k8s', 'kubectl_apply', def('k8s__kubectl_apply')), 'low_risk_write');
  });

  it('config wins over annotations, even of a trusted upstream', () => {
    assert.equal(classes.classOf('k8s', 'kubectl_apply', def('k8s__kubectl_apply', READ)), 'low_risk_write');
    assert.equal(classes.classOf('k8s', 'kubectl_delete', def('k8s__kubectl_delete', READ)), 'high_risk_write');
  });

  it('globs see the upstream\'s own tool name, not the public (prefixed) one', () => {
    assert.equal(classes.classOf('plain', 'list_items', def('plain__list_items')), 'read_only');
    assert.equal(classes.classOf('plain', 'plain__list_items', def('plain__list_items')), 'high_risk_write');
    // Without the upstream's own name the globs cannot apply.
    assert.equal(classes.classOf('plain', undefined, def('plain__list_items')), 'high_risk_write');
  });

  it('classes work for untrusted upstreams: config is the operator\'s word, not the server\'s', () => {
    assert.equal(classes.classOf('plain', 'list_items', def('plain__list_items')), 'read_only');
    assert.equal(classes.classOf('plain', 'delete_items', def('plain__delete_items', READ)), 'high_risk_write');
  });

  it('a trusted upstream\'s tool no entry names falls back to its annotations', () => {
    assert.equal(classes.classOf('k8s', 'helm_list', def('k8s__helm_list', READ)), 'read_only');
  });

  it('entries of one upstream never class another upstream\'s tools', () => {
    assert.equal(classes.classOf('plain', 'kubectl_get_pods', def('plain__kubectl_get_pods')), 'high_risk_write');
  });

  it('works out a definition\'s class once: the same object gets the same answer', () => {
    const d = def('k8s__helm_list', READ);
    assert.equal(classes.classOf('k8s', 'helm_list', d), 'read_only');
    assert.equal(classes.classOf('k8s', 'helm_list', d), 'read_only');
    // Without a definition nothing is remembered, and the globs still decide.
    assert.equal(classes.classOf('k8s', 'kubectl_get_x', undefined), 'read_only');
    assert.equal(classes.classOf('k8s', 'other', undefined), 'high_risk_write');
  });
});

describe('tool classes from the config, as policy sees them', () => {
  const upstreams = [stdio('trusted', { trusted: true }), stdio('plain'), stdio('mapped', { toolClasses: { 'get_*': 'read_only' } })];

  it('policy.defaultToolClass is high_risk_write unless set', () => {
    const p = policyOf(upstreams);
    assert.equal(toolTarget(p, def('plain__x', READ), 'plain', 'plain__x', 'x').class, 'high_risk_write');
    const low = policyOf(upstreams, { defaultToolClass: 'low_risk_write' });
    assert.equal(toolTarget(low, def('plain__x', READ), 'plain', 'plain__x', 'x').class, 'low_risk_write');
  });

  it('toolTarget carries the class and the trusted annotations', () => {
    const p = policyOf(upstreams);
    const t = toolTarget(p, def('trusted__echo', READ), 'trusted', 'trusted__echo', 'echo');
    assert.deepEqual({ ...t }, { kind: 'tool', upstream: 'trusted', name: 'trusted__echo', upstreamName: 'echo', class: 'read_only', annotations: READ });
    const u = toolTarget(p, def('plain__echo', READ), 'plain', 'plain__echo', 'echo');
    assert.equal(u.class, 'high_risk_write');
    assert.equal(u.annotations, undefined);
    assert.equal(toolTarget(p, def('mapped__get_x'), 'mapped', 'mapped__get_x', 'get_x').class, 'read_only');
  });

  it('a `classes` rule allows by class; the same tool from an untrusted upstream is not allowed', () => {
    const p = policyOf(upstreams, { rules: [{ name: 'reads', effect: 'allow', when: { classes: ['read_only'] } }] });
    const principal = makePrincipal({ authMethod: 'api_key', authSource: 'keys', agent: 'a' });
    const ask = (upstream: string) => {
      const target = toolTarget(p, def(`${upstream}__echo`, READ), upstream, `${upstream}__echo`, 'echo');
      return decide(p, { principal, method: 'tools/call', target, args: {}, environment: undefined, clientAddress: undefined, now: 0 });
    };
    assert.equal(ask('trusted').rule, 'reads');
    assert.equal(ask('trusted').effect, 'allow');
    assert.equal(ask('plain').effect, 'deny');
    assert.equal(ask('plain').reason, 'default');
  });

  it('each snapshot classes afresh: a reload that untrusts an upstream changes its tools\' class', () => {
    const d = def('trusted__echo', READ);
    const before = policyOf([stdio('trusted', { trusted: true })]);
    const after = policyOf([stdio('trusted')]);
    assert.equal(before.classes.classOf('trusted', 'echo', d), 'read_only');
    assert.equal(after.classes.classOf('trusted', 'echo', d), 'high_risk_write');
  });
});
