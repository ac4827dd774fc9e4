// The per-key concurrency semaphore: first come first served, a bounded queue, waits that end on
// time or on cancellation, and slots that are handed on when released.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Semaphore } from '../../src/traffic/limits/semaphore.ts';

const LONG = 60_000;

describe('Semaphore', () => {
  it('takes slots up to the limit, then queues first come first served', async () => {
    const s = new Semaphore();
    assert.ok(s.tryAcquire(2));
    assert.ok(s.tryAcquire(2));
    assert.ok(!s.tryAcquire(2));
    const order: string[] = [];
    const a = s.acquire(2, 2, LONG, undefined).then((o) => order.push(`a:${o}`));
    const b = s.acquire(2, 2, LONG, undefined).then((o) => order.push(`b:${o}`));
    assert.equal(await s.acquire(2, 2, LONG, undefined), 'full', 'a third waiter does not fit the queue');
    assert.equal(s.waiting, 2);
    s.release();
    await a;
    assert.deepEqual(order, ['a:acquired']);
    assert.equal(s.active, 2);
    s.release();
    await b;
    assert.deepEqual(order, ['a:acquired', 'b:acquired']);
    s.release();
    s.release();
    assert.ok(s.idle);
  });

  it('does not let a newcomer pass the queue', async () => {
    const s = new Semaphore();
    assert.ok(s.tryAcquire(1));
    const waiting = s.acquire(1, 5, LONG, undefined);
    s.release();
    assert.ok(!s.tryAcquire(1), 'the freed slot went to the waiter');
    assert.equal(await waiting, 'acquired');
  });

  it('ends a wait on timeout and on abort, leaving the queue', async () => {
    const s = new Semaphore();
    assert.ok(s.tryAcquire(1));
    assert.equal(await s.acquire(1, 5, 1, undefined), 'timeout');
    assert.equal(s.waiting, 0);
    const ac = new AbortController();
    const w = s.acquire(1, 5, LONG, ac.signal);
    assert.equal(s.waiting, 1);
    ac.abort();
    assert.equal(await w, 'aborted');
    assert.equal(s.waiting, 0);
    assert.equal(await s.acquire(1, 5, LONG, ac.signal), 'aborted', 'an exchange already cancelled does not queue');
    s.release();
    assert.ok(s.idle, 'the slot count is untouched by waits that ended');
  });

  it('hands a slot to the next waiter when the head leaves', async () => {
    const s = new Semaphore();
    assert.ok(s.tryAcquire(2));
    // Calls under a larger limit (after a reload) queue behind one under the old limit.
    assert.ok(s.tryAcquire(2));
    const ac = new AbortController();
    const head = s.acquire(1, 5, LONG, ac.signal);
    const next = s.acquire(3, 5, LONG, undefined);
    assert.equal(s.waiting, 2);
    ac.abort();
    assert.equal(await head, 'aborted');
    assert.equal(await next, 'acquired', 'room under its own limit');
    assert.equal(s.active, 3);
  });

  it('closes every wait', async () => {
    const s = new Semaphore();
    assert.ok(s.tryAcquire(1));
    const w = s.acquire(1, 5, LONG, undefined);
    s.close();
    assert.equal(await w, 'closed');
  });
});
