import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isWellFormedSessionId, SessionTable } from '../../src/edge/sessions.ts';

const MALFORMED: unknown[] = [
  undefined,
  '',
  'short',
  'A'.repeat(21),
  'A'.repeat(23),
  'A'.repeat(10_000),
  'AAAAAAAAAAAAAAAAAAAAA=', // base64 padding
  'AAAAAAAAAAAAAAAAAAAA+/', // base64 (not url) alphabet
  'AAAAAAAAAAAAAAAAAAAAA ',
  'AAAAAAAAAAAAAAAAAAAA\r\n',
  'AAAAAAAAAAAAAAAAAAAAAé',
  '../../../../etc/passwd',
  '__proto__',
  'constructor',
  42,
  null,
  ['AAAAAAAAAAAAAAAAAAAAAA'],
];

test('malformed session ids are refused before lookup', () => {
  for (const id of MALFORMED) assert.equal(isWellFormedSessionId(id), false, JSON.stringify(id));
  const t = new SessionTable<string>({ maxSessions: 10, sessionIdleSeconds: 60 });
  const real = t.create(() => 'S')!;
  assert.equal(isWellFormedSessionId(real.id), true);
  for (const id of MALFORMED) {
    assert.equal(t.get(id as string), undefined);
    assert.equal(t.peek(id as string), undefined);
    assert.equal(t.delete(id as string), undefined);
  }
  // A near miss of a real id (one character changed) finds nothing.
  const flipped = (real.id[0] === 'A' ? 'B' : 'A') + real.id.slice(1);
  assert.equal(t.get(flipped), undefined);
  assert.equal(t.get(real.id.toLowerCase() === real.id ? real.id.toUpperCase() : real.id.toLowerCase()), undefined);
  assert.equal(t.size, 1);
  t.closeAll();
});

test('a flood of initialize requests stops at maxSessions', () => {
  const t = new SessionTable<number>({ maxSessions: 50, sessionIdleSeconds: 60 });
  let made = 0;
  for (let i = 0; i < 10_000; i++) if (t.create(() => i) !== undefined) made++;
  assert.equal(made, 50);
  assert.equal(t.size, 50);
  t.closeAll();
});
