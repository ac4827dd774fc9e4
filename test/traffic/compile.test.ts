// Compiling `traffic`: every mistake refused at load with file:line:column; figures, overrides (first
// match wins, fields it leaves out kept) and the index by method and upstream.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileConfig } from '../../src/config/compile.ts';
import { ConfigError, parseConfigText } from '../../src/config/load.ts';
import type { Snapshot } from '../../src/config/snapshot.ts';
import { Exchange, type Origin } from '../../src/pipeline/exchange.ts';
import { makePrincipal } from '../../src/pipeline/principal.ts';
import type { Target } from '../../src/pipeline/target.ts';
import { CallFacts, countedFor, counterKey, matches } from '../../src/traffic/limits/match.ts';
import type { CompiledLimit } from '../../src/traffic/limits/types.ts';

const FILE = '/cfg/gatehouse.yaml';
// Lines 1-9: limits written after it start at line 10.
const HEAD = `version: 1
auth:
  methods: [{ name: keys, type: api_key }]
gateway: { listen: { auth: [keys] } }
upstreams:
  - { name: fs, transport: stdio, command: fs-server }
  - { name: web, transport: stdio, command: web-server }
traffic:
  limits:
`;

function snapshot(text: string): Snapshot {
  return compileConfig(parseConfigText(text, FILE, {}));
}

function problems(text: string): string[] {
  try {
    snapshot(text);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems.map((p) => `${p.line}:${p.column}: ${p.message}`);
  }
  assert.fail('expected the config to be rejected');
}

const origin: Origin = { era: 'modern', protocolVersion: '2026-07-28', session: undefined, clientAddress: undefined, clientCapabilities: {}, notify: undefined, ask: undefined, logLevel: undefined };

function facts(s: Snapshot, who: { agent: string; tenant?: string; user?: string; roles?: string[] }, target: Target, method = 'tools/call'): CallFacts {
  const x = new Exchange(s, origin, method, 1, {}, new AbortController().signal, 0);
  x.principal = makePrincipal({ authMethod: 'api_key', authSource: 'keys', ...who });
  x.target = target;
  return new CallFacts(x, target);
}

const tool = (upstream: string, name: string): Target => ({ kind: 'tool', upstream, name: `${upstream}__${name}`, upstreamName: name });

describe('compileTraffic: mistakes', () => {
  it('points each schema mistake at the value', () => {
    const text = `${HEAD}    - name: a
      rate: { tokens: 0 }
    - name: b
      key: [agent, colour]
      concurrency: 2
    - name: c
      rate: { tokens: 5, per: 1 sec }
`;
    assert.deepEqual(problems(text), [
      '11:23: must be at least 1, got 0',
      '13:20: invalid value "colour" (allowed: tenant, agent, user, upstream, tool, class)',
      '16:31: must be a whole number followed by ms, s, m or h, like 1s, 250ms, 1m or 1h',
    ]);
  });

  it('points each compile mistake at where it is written', () => {
    const text = `${HEAD}    - name: a
      rate: { tokens: 1 }
    - name: a
      concurrency: 2
    - name: nothing
      key: [agent]
    - name: q
      quota: { limit: 10, per: day }
      queue: { size: 5, maxWaitMs: 100 }
    - name: r
      rate: { tokens: 5 }
      match: { upstreams: [fss], methods: [prompts/get], tools: [x] }
`;
    assert.deepEqual(problems(text), [
      '12:13: duplicate limit name "a" (first at traffic.limits[0])',
      '14:7: limit "nothing": sets none of rate, quota or concurrency, so it would limit nothing',
      '18:14: limit "q": queue needs rate or concurrency to wait for (a quota never frees up before its period ends)',
      '21:28: limit "r": no upstream is named "fss"',
      '21:43: limit "r": can never match: tools and classes are only called through tools/call',
    ]);
  });

  it('checks overrides', () => {
    const text = `${HEAD}    - name: per-agent
      key: [agent]
      rate: { tokens: 10 }
      overrides:
        - match: { agents: [bot] }
        - match: { agents: [vip] }
          unlimited: true
          rate: { tokens: 100 }
`;
    assert.deepEqual(problems(text), [
      '14:11: limit "per-agent": override 1 sets none of rate, quota, concurrency, queue or unlimited',
      '16:22: limit "per-agent": override 2: unlimited: true takes no rate, quota, concurrency or queue',
    ]);
  });

  it('needs a URL for Redis, and never quotes one', () => {
    assert.deepEqual(problems(`${HEAD.replace('traffic:\n  limits:\n', 'traffic:\n  counters: { kind: redis }\n  limits:\n')}    - { name: a, rate: { tokens: 1 } }\n`), [
      '9:13: missing required key "url"',
    ]);
    const bad = problems(`${HEAD.replace('traffic:\n  limits:\n', 'traffic:\n  counters: { kind: redis, url: "http://:hunter2@x" }\n  limits:\n')}    - { name: a, rate: { tokens: 1 } }\n`);
    assert.equal(bad.length, 1);
    assert.match(bad[0]!, /^9:33: must be a redis:\/\/ or rediss:\/\/ URL/);
    assert.doesNotMatch(bad[0]!, /hunter2/);
  });
});

describe('compileTraffic: figures and precedence', () => {
  const s = snapshot(`${HEAD}    - name: per-agent
      key: [tenant, agent]
      rate: { tokens: 10, per: 1s, burst: 20 }
      quota: { limit: 1000, per: month }
      overrides:
        - match: { agents: [batch-*] }
          rate: { tokens: 100, per: 1m }
        - match: { agents: [batch-vip] }
          unlimited: true
        - match: { roles: [admin] }
          unlimited: true
    - name: writes
      match: { classes: [high_risk_write] }
      concurrency: 2
      queue: { size: 4, maxWaitMs: 500 }
    - name: fs-reads
      match: { upstreams: [fs], methods: [resources/read] }
      rate: { tokens: 1, per: 1h }
`);
  const [perAgent, writes, fsReads] = s.traffic!.limits as [CompiledLimit, CompiledLimit, CompiledLimit];

  it('puts the admit filter after policy, and compiles the figures', () => {
    assert.deepEqual(s.filters.map((f) => `${f.phase}:${f.name}`), ['admit:limits']);
    assert.deepEqual(perAgent.own.figures.rate, { tokens: 10, perMs: 1000, burst: 20, intervalMs: 100, capacityMs: 2000 });
    assert.deepEqual(perAgent.own.figures.quota, { limit: 1000, per: 'month' });
    assert.equal(perAgent.own.tag, 'per-agent');
  });

  it('takes the first matching override, keeping the figures it leaves out', () => {
    const bot = countedFor(perAgent, facts(s, { agent: 'batch-vip' }, tool('fs', 'read')));
    assert.equal(bot?.tag, 'per-agent#1', 'the first override matches batch-vip too: the second is never reached');
    assert.equal(bot?.figures.rate?.perMs, 60_000);
    assert.deepEqual(bot?.figures.quota, { limit: 1000, per: 'month' }, 'the quota is kept');
    assert.equal(countedFor(perAgent, facts(s, { agent: 'claude', roles: ['admin'] }, tool('fs', 'read'))), undefined, 'unlimited');
    assert.equal(countedFor(perAgent, facts(s, { agent: 'claude' }, tool('fs', 'read'))), perAgent.own);
  });

  it('keys counters by the dimensions named, escaped', () => {
    const f = facts(s, { agent: 'a:b', tenant: 'acme' }, tool('fs', 'read'));
    assert.equal(counterKey(perAgent.own.tag, perAgent.key, f), 'per-agent:acme:a%3Ab');
    assert.equal(counterKey('t', ['tenant', 'user', 'upstream', 'tool', 'class'], facts(s, { agent: 'x' }, tool('fs', 'read'))), 't:::fs:fs__read:high_risk_write');
  });

  it('matches classes and tools only on tool calls', () => {
    assert.ok(matches(writes.match, facts(s, { agent: 'x' }, tool('fs', 'write'))));
    assert.ok(!matches(writes.match, facts(s, { agent: 'x' }, { kind: 'prompt', upstream: 'fs', name: 'p', upstreamName: 'p' }, 'prompts/get')));
  });

  it('indexes limits by method and upstream', () => {
    const t = s.traffic!;
    assert.deepEqual(t.index.get('tools/call')?.get('fs')?.map((l) => l.name), ['per-agent', 'writes']);
    assert.deepEqual(t.index.get('resources/read')?.get('fs')?.map((l) => l.name), ['per-agent', 'fs-reads']);
    assert.deepEqual(t.index.get('resources/read')?.get('web')?.map((l) => l.name), ['per-agent']);
    assert.deepEqual(t.index.get('prompts/get')?.get('web')?.map((l) => l.name), ['per-agent']);
    assert.equal(t.index.get('tools/list'), undefined, 'lists are never counted');
    assert.equal(fsReads.own.figures.rate?.intervalMs, 3_600_000);
  });

  it('has no traffic (and no filter) without limits', () => {
    const none = snapshot(`${HEAD}    []\n`.replace('  limits:\n    []\n', '  limits: []\n'));
    assert.equal(none.traffic, undefined);
    assert.deepEqual(none.filters, []);
  });
});
