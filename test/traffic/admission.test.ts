// The admit filter over in-memory counters, with injected clocks: what a call takes, what it gives
// back when a later limit refuses it, how it waits, and what a refusal says.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { compileConfig } from '../../src/config/compile.ts';
import { parseConfigText } from '../../src/config/load.ts';
import type { Snapshot } from '../../src/config/snapshot.ts';
import type { Decision } from '../../src/pipeline/decision.ts';
import { Exchange, type Origin } from '../../src/pipeline/exchange.ts';
import { makePrincipal } from '../../src/pipeline/principal.ts';
import type { Target } from '../../src/pipeline/target.ts';
import { LimitsRuntime } from '../../src/traffic/limits/runtime.ts';

const origin: Origin = { era: 'modern', protocolVersion: '2026-07-28', session: undefined, clientAddress: undefined, clientCapabilities: {}, notify: undefined, ask: undefined, logLevel: undefined };
const silent = pino({ level: 'silent' });

function snapshot(limits: string): Snapshot {
  const text = `version: 1
auth:
  methods: [{ name: keys, type: api_key }]
gateway: { listen: { auth: [keys] } }
upstreams:
  - { name: fs, transport: stdio, command: fs-server }
traffic:
  limits:
${limits}`;
  return compileConfig(parseConfigText(text, '/cfg/gatehouse.yaml', {}));
}

interface Harness {
  readonly rt: LimitsRuntime;
  call(agent: string, tool?: string, signal?: AbortSignal): { x: Exchange; decision: Promise<Decision> };
  setWall(iso: string): void;
  advance(ms: number): void;
}

function harness(s: Snapshot): Harness {
  let wall = Date.parse('2026-11-21T13:00:00.000Z');
  let mono = 1_000_000;
  const rt = new LimitsRuntime(silent, { now: () => wall, monotonic: () => mono });
  rt.apply(s.traffic);
  const filter = s.filters.find((f) => f.name === 'limits')!;
  return {
    rt,
    call(agent, tool = 'read', signal = new AbortController().signal) {
      const x = new Exchange(s, origin, 'tools/call', 1, { name: `fs__${tool}` }, signal, 0);
      x.principal = makePrincipal({ authMethod: 'api_key', authSource: 'keys', agent });
      const target: Target = { kind: 'tool', upstream: 'fs', name: `fs__${tool}`, upstreamName: tool };
      x.target = target;
      x.limits = rt;
      return { x, decision: Promise.resolve(filter.onRequest!(x)) };
    },
    setWall(iso) {
      wall = Date.parse(iso);
    },
    advance(ms) {
      mono += ms;
      wall += ms;
    },
  };
}

function errorOf(d: Decision): { name: string; message: string; detail: Record<string, unknown> | undefined } {
  assert.equal(d.kind, 'deny', `expected a refusal, got ${d.kind}`);
  const e = (d as Extract<Decision, { kind: 'deny' }>).error;
  return { name: e.name, message: e.message, detail: e.detail };
}

describe('admit', () => {
  it('refuses over the quota with the end of the period, and counts each agent apart', async () => {
    const h = harness(snapshot(`    - { name: daily, key: [agent], quota: { limit: 2, per: day } }\n`));
    h.setWall('2026-11-21T22:00:00.000Z');
    assert.equal((await h.call('a').decision).kind, 'continue');
    assert.equal((await h.call('a').decision).kind, 'continue');
    const e = errorOf(await h.call('a').decision);
    assert.equal(e.name, 'quota_exceeded');
    assert.equal(e.message, 'quota "daily" of 2 calls per day is used up; retry in 2 h (it resets at 2026-11-22T00:00:00.000Z)');
    assert.deepEqual(e.detail, { limit: 'daily', retryAfterMs: 7_200_000, quota: { limit: 2, per: 'day', period: '2026-11-21', resetsAt: '2026-11-22T00:00:00.000Z' } });
    assert.equal((await h.call('b').decision).kind, 'continue', 'another agent has its own count');
    h.setWall('2026-11-22T00:00:00.000Z');
    assert.equal((await h.call('a').decision).kind, 'continue', 'a new day starts from zero');
    assert.deepEqual(h.rt.stats().limits['daily']?.refused, { rate: 0, quota: 1, concurrency: 0, unavailable: 0 });
  });

  it('gives back what earlier limits took when a later one refuses', async () => {
    const h = harness(snapshot(`    - { name: daily, key: [agent], quota: { limit: 3, per: day } }
    - { name: echo-rate, key: [agent], match: { tools: [fs__echo] }, rate: { tokens: 1, per: 1h, burst: 1 } }
`));
    assert.equal((await h.call('a', 'echo').decision).kind, 'continue', 'quota 1 of 3, the only echo token');
    for (let i = 0; i < 5; i++) {
      const e = errorOf(await h.call('a', 'echo').decision);
      assert.equal(e.name, 'rate_limited');
      assert.equal(e.message, 'rate limit "echo-rate" exceeded; retry in 1 h');
      assert.deepEqual(e.detail, { limit: 'echo-rate', retryAfterMs: 3_600_000 });
    }
    assert.equal((await h.call('a', 'read').decision).kind, 'continue', 'quota 2 of 3: the refused calls spent none');
    assert.equal((await h.call('a', 'read').decision).kind, 'continue', 'quota 3 of 3');
    assert.equal(errorOf(await h.call('a', 'read').decision).name, 'quota_exceeded');
    const st = h.rt.stats().limits;
    assert.equal(st['daily']?.admitted, 3);
    assert.equal(st['echo-rate']?.refused.rate, 5);
  });

  it('queues a call whose token comes within maxWaitMs, and refuses beyond the queue', async () => {
    const h = harness(snapshot(`    - { name: smooth, rate: { tokens: 20, per: 1s, burst: 1 }, queue: { size: 1, maxWaitMs: 5000 } }\n`));
    assert.equal((await h.call('a').decision).kind, 'continue');
    const waiting = h.call('a').decision;
    await new Promise((r) => setImmediate(r));
    assert.equal(h.rt.stats().limits['smooth']?.queued, 1, 'the second call waits for its token');
    const e = errorOf(await h.call('a').decision);
    assert.equal(e.name, 'rate_limited', 'the queue (size 1) is full');
    assert.equal((e.detail as { retryAfterMs: number }).retryAfterMs, 100, 'its token would come after the queued one');
    assert.equal((await waiting).kind, 'continue');
    const st = h.rt.stats().limits['smooth']!;
    assert.equal(st.queued, 0);
    assert.equal(st.waited, 1);
  });

  it('gives the reserved token back when a waiting call is cancelled', async () => {
    // A token a minute; a call may wait 90 s: the next token, not the one after it.
    const h = harness(snapshot(`    - { name: smooth, rate: { tokens: 1, per: 1m, burst: 1 }, queue: { size: 5, maxWaitMs: 90000 } }\n`));
    assert.equal((await h.call('a').decision).kind, 'continue');
    const ac = new AbortController();
    const waiting = h.call('a', 'read', ac.signal).decision;
    await new Promise((r) => setImmediate(r));
    assert.equal(h.rt.stats().limits['smooth']?.queued, 1);
    ac.abort();
    const e = errorOf(await waiting);
    assert.equal(e.message, 'the call was cancelled while it waited for limit "smooth"');
    assert.equal(h.rt.stats().limits['smooth']?.cancelled, 1);
    assert.equal(h.rt.stats().limits['smooth']?.queued, 0);
    // Had the token stayed spent, the next one would be 120 s away, beyond maxWaitMs: refused.
    const ac2 = new AbortController();
    const next = h.call('b', 'read', ac2.signal).decision;
    await new Promise((r) => setImmediate(r));
    assert.equal(h.rt.stats().limits['smooth']?.queued, 1, 'the next call waits for the token given back');
    ac2.abort();
    assert.equal(errorOf(await next).name, 'rate_limited');
  });

  it('holds concurrency slots until the exchange releases them, exactly once', async () => {
    const h = harness(snapshot(`    - { name: two, key: [agent], concurrency: 2 }\n`));
    const one = h.call('a');
    const two = h.call('a');
    assert.equal((await one.decision).kind, 'continue');
    assert.equal((await two.decision).kind, 'continue');
    const e = errorOf(await h.call('a').decision);
    assert.equal(e.name, 'concurrency_limited');
    assert.equal(e.message, 'concurrency limit "two" reached (2 calls in flight and no room to wait); retry in 1.0 s');
    assert.equal(h.rt.stats().limits['two']?.inFlight, 2);
    one.x.admission!.release();
    one.x.admission!.release();
    assert.equal(h.rt.stats().limits['two']?.inFlight, 1, 'a second release gives nothing back');
    const three = h.call('a');
    assert.equal((await three.decision).kind, 'continue');
    assert.equal(errorOf(await h.call('a').decision).name, 'concurrency_limited');
    two.x.admission!.release();
    three.x.admission!.release();
    assert.equal(h.rt.stats().limits['two']?.inFlight, 0);
  });

  it('lets through what no limit applies to, without touching the runtime', async () => {
    const h = harness(snapshot(`    - { name: writes, match: { classes: [read_only] }, concurrency: 1 }\n`));
    const { x, decision } = h.call('a');
    assert.equal((await decision).kind, 'continue');
    assert.equal(x.admission, undefined);
    assert.deepEqual(h.rt.stats().limits, {});
  });
});
