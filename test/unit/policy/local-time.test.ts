import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTimeZone, localTime } from '../../../src/policy/local-time.ts';

const at = (iso: string): number => Date.parse(iso);
/** The wall clock as `YYYY-MM-DD HH:MM w<weekday>`, for compact assertions. */
function wall(zone: string, iso: string): string {
  const t = localTime(zone, at(iso));
  const p = (n: number) => String(n).padStart(2, '0');
  assert.equal(t.minuteOfDay, t.hour * 60 + t.minute);
  return `${t.year}-${p(t.month)}-${p(t.day)} ${p(t.hour)}:${p(t.minute)} w${t.weekday}`;
}

describe('localTime', () => {
  it('reads UTC', () => {
    assert.deepEqual(localTime('UTC', at('2026-03-29T01:30:45Z')), {
      year: 2026, month: 3, day: 29, hour: 1, minute: 30, weekday: 0, minuteOfDay: 90,
    });
    assert.equal(wall('UTC', '2026-12-31T23:59:59.999Z'), '2026-12-31 23:59 w4');
    assert.equal(wall('UTC', '2027-01-01T00:00:00Z'), '2027-01-01 00:00 w5');
  });

  it('reads named zones, including ones a date away and half-hour offsets', () => {
    assert.equal(wall('Europe/Berlin', '2026-01-15T12:00:00Z'), '2026-01-15 13:00 w4');
    assert.equal(wall('America/New_York', '2026-01-01T03:00:00Z'), '2025-12-31 22:00 w3');
    assert.equal(wall('Asia/Kolkata', '2026-01-01T20:00:00Z'), '2026-01-02 01:30 w5');
    assert.equal(wall('Pacific/Kiritimati', '2026-01-01T11:00:00Z'), '2026-01-02 01:00 w5');
    assert.equal(wall('Australia/Eucla', '2026-06-01T00:00:00Z'), '2026-06-01 08:45 w1');
  });

  it('shows midnight as 00:00, not 24:00', () => {
    assert.equal(wall('Europe/Berlin', '2026-06-30T22:00:00Z'), '2026-07-01 00:00 w3');
  });

  it('follows the spring-forward gap in Europe/Berlin (2026-03-29 02:00 -> 03:00)', () => {
    assert.equal(wall('Europe/Berlin', '2026-03-29T00:59:00Z'), '2026-03-29 01:59 w0');
    assert.equal(wall('Europe/Berlin', '2026-03-29T01:00:00Z'), '2026-03-29 03:00 w0');
  });

  it('follows the fall-back repeat in Europe/Berlin (2026-10-25 02:00-03:00 twice)', () => {
    assert.equal(wall('Europe/Berlin', '2026-10-24T23:59:00Z'), '2026-10-25 01:59 w0');
    assert.equal(wall('Europe/Berlin', '2026-10-25T00:30:00Z'), '2026-10-25 02:30 w0');
    assert.equal(wall('Europe/Berlin', '2026-10-25T01:30:00Z'), '2026-10-25 02:30 w0');
    assert.equal(wall('Europe/Berlin', '2026-10-25T02:00:00Z'), '2026-10-25 03:00 w0');
  });

  it('follows both changes in America/New_York (2026-03-08, 2026-11-01)', () => {
    assert.equal(wall('America/New_York', '2026-03-08T06:59:00Z'), '2026-03-08 01:59 w0');
    assert.equal(wall('America/New_York', '2026-03-08T07:00:00Z'), '2026-03-08 03:00 w0');
    assert.equal(wall('America/New_York', '2026-11-01T05:30:00Z'), '2026-11-01 01:30 w0');
    assert.equal(wall('America/New_York', '2026-11-01T06:30:00Z'), '2026-11-01 01:30 w0');
    assert.equal(wall('America/New_York', '2026-11-01T07:00:00Z'), '2026-11-01 02:00 w0');
  });

  it('handles instants before 1970 (negative epoch minutes)', () => {
    assert.equal(wall('UTC', '1969-12-31T23:59:30Z'), '1969-12-31 23:59 w3');
  });

  it('hands out one object per zone and minute, and recomputes when the minute changes', () => {
    const a = localTime('Europe/Paris', at('2026-05-05T10:00:01Z'));
    assert.equal(localTime('Europe/Paris', at('2026-05-05T10:00:59.999Z')), a);
    localTime('Asia/Tokyo', at('2026-05-05T10:00:30Z')); // another zone does not evict it
    assert.equal(localTime('Europe/Paris', at('2026-05-05T10:00:30Z')), a);
    const b = localTime('Europe/Paris', at('2026-05-05T10:01:00Z'));
    assert.notEqual(b, a);
    assert.equal(b.minute, 1);
    assert.equal(localTime('Europe/Paris', at('2026-05-05T10:00:00Z')).minute, 0);
    assert.ok(Object.isFrozen(a));
  });

  it('throws RangeError for an unknown zone or a time that is not a number', () => {
    assert.throws(() => localTime('Europe/Berln', 0), RangeError);
    assert.throws(() => localTime('UTC', Number.NaN), RangeError);
    assert.throws(() => localTime('UTC', Number.POSITIVE_INFINITY), RangeError);
  });
});

describe('isTimeZone', () => {
  it('accepts IANA names and UTC', () => {
    for (const z of ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Etc/GMT+5']) assert.equal(isTimeZone(z), true, z);
  });

  it('rejects what is not a zone', () => {
    for (const z of ['', 'Europe/Berln', 'Mars/Olympus', 'not a zone', 'Z']) assert.equal(isTimeZone(z), false, z);
  });
});
