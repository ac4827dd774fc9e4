// Quota periods are calendar periods in UTC: their ids change, and counts start over, exactly at the boundary.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PeriodClock, periodAt } from '../../src/traffic/limits/periods.ts';

const t = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe('periodAt', () => {
  it('names the hour, the day and the month', () => {
    const now = t('2026-11-21T13:45:12.345Z');
    assert.deepEqual({ ...periodAt('hour', now), startsAt: iso(periodAt('hour', now).startsAt), endsAt: iso(periodAt('hour', now).endsAt) }, {
      id: '2026-11-21T13',
      startsAt: '2026-11-21T13:00:00.000Z',
      endsAt: '2026-11-21T14:00:00.000Z',
    });
    assert.equal(periodAt('day', now).id, '2026-11-21');
    assert.equal(iso(periodAt('day', now).endsAt), '2026-11-22T00:00:00.000Z');
    assert.equal(periodAt('month', now).id, '2026-11');
    assert.equal(iso(periodAt('month', now).endsAt), '2026-12-01T00:00:00.000Z');
  });

  it('changes exactly at the boundary', () => {
    for (const [per, last, first, before, after] of [
      ['hour', '2026-11-21T13:59:59.999Z', '2026-11-21T14:00:00.000Z', '2026-11-21T13', '2026-11-21T14'],
      ['day', '2026-11-21T23:59:59.999Z', '2026-11-22T00:00:00.000Z', '2026-11-21', '2026-11-22'],
      ['month', '2026-11-30T23:59:59.999Z', '2026-12-01T00:00:00.000Z', '2026-11', '2026-12'],
      ['month', '2026-12-31T23:59:59.999Z', '2027-01-01T00:00:00.000Z', '2026-12', '2027-01'],
      ['day', '2028-02-28T23:59:59.999Z', '2028-02-29T00:00:00.000Z', '2028-02-28', '2028-02-29'],
      ['hour', '2026-12-31T23:59:59.999Z', '2027-01-01T00:00:00.000Z', '2026-12-31T23', '2027-01-01T00'],
    ] as const) {
      const a = periodAt(per, t(last));
      const b = periodAt(per, t(first));
      assert.equal(a.id, before, `${per} at ${last}`);
      assert.equal(b.id, after, `${per} at ${first}`);
      assert.equal(a.endsAt, t(first), `${per} ending at ${first}`);
      assert.equal(b.startsAt, t(first));
    }
  });

  it('knows how long months are (leap years included)', () => {
    assert.equal(iso(periodAt('month', t('2028-02-10T00:00:00Z')).endsAt), '2028-03-01T00:00:00.000Z');
    assert.equal(periodAt('month', t('2028-02-10T00:00:00Z')).endsAt - periodAt('month', t('2028-02-10T00:00:00Z')).startsAt, 29 * 86_400_000);
    assert.equal(periodAt('month', t('2027-02-10T00:00:00Z')).endsAt - periodAt('month', t('2027-02-10T00:00:00Z')).startsAt, 28 * 86_400_000);
  });
});

describe('PeriodClock', () => {
  it('keeps the current period until its end, then moves on', () => {
    let now = t('2026-11-21T13:59:59.000Z');
    const clock = new PeriodClock(() => now);
    const first = clock.at('hour', clock.now());
    assert.equal(first.id, '2026-11-21T13');
    assert.equal(clock.at('hour', clock.now()), first, 'the same period object until the boundary');
    now = t('2026-11-21T14:00:00.000Z');
    assert.equal(clock.at('hour', clock.now()).id, '2026-11-21T14');
    // A clock that steps back (NTP) gets the right period too.
    now = t('2026-11-21T13:59:59.500Z');
    assert.equal(clock.at('hour', clock.now()).id, '2026-11-21T13');
  });
});
