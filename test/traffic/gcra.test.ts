// The in-memory token bucket (GCRA) with a clock the test moves: exact admissions, exact waits, and
// tokens given back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryGcra } from '../../src/traffic/limits/gcra.ts';
import type { CompiledRate } from '../../src/traffic/limits/types.ts';

function rate(tokens: number, perMs: number, burst = tokens): CompiledRate {
  const intervalMs = perMs / tokens;
  return { tokens, perMs, burst, intervalMs, capacityMs: intervalMs * burst };
}

function bucket(): { g: MemoryGcra; at: (ms: number) => void } {
  let now = 1_000_000;
  return { g: new MemoryGcra(() => now), at: (ms) => (now = 1_000_000 + ms) };
}

describe('MemoryGcra', () => {
  it('lets a full burst through at once, then refuses with the exact time to the next token', () => {
    const { g } = bucket();
    const r = rate(10, 1000, 5); // a token every 100 ms, 5 at once
    for (let i = 0; i < 5; i++) assert.equal(g.reserve('k', r, 0), 0, `call ${i + 1}`);
    assert.equal(g.reserve('k', r, 0), -100);
    assert.equal(g.reserve('k', r, 0), -100, 'a refusal takes nothing');
  });

  it('admits the first call of a one-token bucket whatever fraction the clock shows', () => {
    const r = rate(1, 3_600_000, 1);
    for (let i = 0; i < 2_000; i++) {
      const now = 1_000 + i * 12.3456789;
      assert.equal(new MemoryGcra(() => now).reserve('k', r, 0), 0, `at ${now}`);
    }
  });

  it('refills one token per interval', () => {
    const { g, at } = bucket();
    const r = rate(10, 1000, 2);
    assert.equal(g.reserve('k', r, 0), 0);
    assert.equal(g.reserve('k', r, 0), 0);
    at(99);
    assert.equal(g.reserve('k', r, 0), -1);
    at(100);
    assert.equal(g.reserve('k', r, 0), 0);
    assert.equal(g.reserve('k', r, 0), -100);
    at(1_000);
    assert.equal(g.reserve('k', r, 0), 0);
    assert.equal(g.reserve('k', r, 0), 0, 'a quiet spell refills to the burst, not beyond');
    assert.equal(g.reserve('k', r, 0), -100);
  });

  it('reserves tokens within maxWaitMs, spaced one interval apart (the queue)', () => {
    const { g } = bucket();
    const r = rate(4, 1000, 1); // a token every 250 ms
    assert.equal(g.reserve('k', r, 1000), 0);
    assert.equal(g.reserve('k', r, 1000), 250);
    assert.equal(g.reserve('k', r, 1000), 500);
    assert.equal(g.reserve('k', r, 1000), 750);
    assert.equal(g.reserve('k', r, 1000), 1000);
    assert.equal(g.reserve('k', r, 1000), -1250, 'beyond maxWaitMs: refused, with the time its token would come');
  });

  it('gives a token back exactly', () => {
    const { g } = bucket();
    const r = rate(1, 60_000, 3);
    for (let i = 0; i < 3; i++) assert.equal(g.reserve('k', r, 0), 0);
    assert.ok(g.reserve('k', r, 0) < 0);
    g.refund('k', r);
    assert.equal(g.reserve('k', r, 0), 0, 'the token given back is taken again');
    assert.ok(g.reserve('k', r, 0) < 0);
    g.refund('unknown', r);
  });

  it('keeps keys apart', () => {
    const { g } = bucket();
    const r = rate(1, 60_000, 1);
    assert.equal(g.reserve('a', r, 0), 0);
    assert.ok(g.reserve('a', r, 0) < 0);
    assert.equal(g.reserve('b', r, 0), 0);
  });

  it('forgets buckets that have refilled completely once many keys are used', () => {
    const { g, at } = bucket();
    const r = rate(1, 10, 1);
    for (let i = 0; i < 1023; i++) g.reserve(`k${i}`, r, 0);
    assert.equal(g.size, 1023);
    at(1_000);
    g.reserve('last', r, 0);
    assert.equal(g.size, 1, 'only the bucket still refilling is kept');
  });
});
