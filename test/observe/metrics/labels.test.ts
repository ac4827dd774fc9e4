import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentLabels, DEFAULT_RULE, errorLabel, methodLabel, policyOutcome, toolLabel } from '../../../src/observe/metrics/labels.ts';
import { NONE, OTHER } from '../../../src/observe/metrics/series.ts';
import { record } from './support.ts';

const catalog = { toolIndex: new Map([['fx__echo', {}]]), unavailable: new Map([['down__tool', {}]]) };

describe('label bounds', () => {
  it('methods: served ones by name, anything else _other, none empty', () => {
    assert.equal(methodLabel('tools/call'), 'tools/call');
    assert.equal(methodLabel('server/discover'), 'server/discover');
    assert.equal(methodLabel('tools/call\u0000junk'), OTHER);
    assert.equal(methodLabel('x'.repeat(10_000)), OTHER);
    assert.equal(methodLabel(undefined), NONE);
  });

  it('tools: catalog names (down ones too), anything else _other; other methods have none', () => {
    assert.equal(toolLabel('tools/call', { kind: 'tool', upstream: 'fx', name: 'fx__echo' }, catalog), 'fx__echo');
    assert.equal(toolLabel('tools/call', { kind: 'tool', upstream: 'down', name: 'down__tool', down: true }, catalog), 'down__tool');
    assert.equal(toolLabel('tools/call', undefined, catalog), OTHER, 'an unknown name resolves to no target');
    assert.equal(toolLabel('tools/call', { kind: 'tool', upstream: 'fx', name: 'fx__gone' }, catalog), OTHER, 'a tool that left the catalog');
    assert.equal(toolLabel('prompts/get', { kind: 'prompt', upstream: 'fx', name: 'fx__echo' }, catalog), NONE);
  });

  it('errors: names of the error table, anything else _other', () => {
    assert.equal(errorLabel('rate_limited'), 'rate_limited');
    assert.equal(errorLabel('toString'), OTHER, 'not an inherited property');
    assert.equal(errorLabel(undefined), OTHER);
  });

  it('agents: the first max distinct keep their label, later ones share _other', () => {
    const a = new AgentLabels(2);
    assert.deepEqual(['a', 'b', 'c', 'a', 'd', 'b'].map((x) => a.label(x)), ['a', 'b', OTHER, 'a', OTHER, 'b']);
    a.max = 3;
    assert.equal(a.label('c'), 'c');
    a.max = 0;
    assert.deepEqual([a.label('a'), a.label('z')], ['a', OTHER], 'lowering max keeps labels already given');
    assert.equal(new AgentLabels(0).label('a'), OTHER);
  });
});

describe('policy outcome', () => {
  it('no policy verdict: decision none', () => {
    assert.deepEqual(policyOutcome(record({ policy: undefined, decisions: [] })), { decision: 'none', denial: undefined, shadow: undefined });
  });

  it('an enforced allow and an enforced denial', () => {
    assert.equal(policyOutcome(record()).decision, 'allow');
    const denied = record({
      outcome: 'denied',
      decisions: [{ filter: 'policy', phase: 'authorize', kind: 'deny', shadow: false, micros: 1 }],
      policy: { effect: 'require_approval', rule: undefined, reason: 'default', message: 'm', shadow: undefined },
    });
    assert.deepEqual(policyOutcome(denied), { decision: 'require_approval', denial: { rule: DEFAULT_RULE, effect: 'require_approval', reason: 'default' }, shadow: undefined });
  });

  it('a policy in shadow mode decides nothing; what it would have refused is a shadow verdict', () => {
    const r = record({
      decisions: [{ filter: 'policy', phase: 'authorize', kind: 'deny', shadow: true, micros: 1 }],
      policy: { effect: 'deny', rule: 'no-writes', reason: 'rule', message: 'm', shadow: undefined },
    });
    assert.deepEqual(policyOutcome(r), { decision: 'none', denial: undefined, shadow: { rule: 'no-writes', effect: 'deny' } });
  });

  it('shadow rules under an enforced allow', () => {
    const r = record({ policy: { effect: 'allow', rule: 'reads', reason: 'rule', message: '', shadow: { effect: 'deny', rule: 'trial', reason: 'rule', message: 'm' } } });
    assert.deepEqual(policyOutcome(r), { decision: 'allow', denial: undefined, shadow: { rule: 'trial', effect: 'deny' } });
  });
});
