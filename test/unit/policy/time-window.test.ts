import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileWindow } from '../../../src/policy/time-window.ts';
import type { CompiledWindow, TimeWindowConfig } from '../../../src/policy/time-window.ts';

function compile(cfg: TimeWindowConfig, defaultZone = 'UTC'): CompiledWindow {
  const w = compileWindow(cfg, defaultZone);
  if ('error' in w) assert.fail(`unexpected error: ${w.error}`);
  return w;
}

const at = (iso: string): number => Date.parse(iso);

/** Instants (UTC ISO strings) at which the window is open, checked one by one. */
function open(w: CompiledWindow, ...isos: string[]): void {
  for (const iso of isos) assert.equal(w.test(at(iso)), true, `${w.describe()} should be open at ${iso}`);
}
function closed(w: CompiledWindow, ...isos: string[]): void {
  for (const iso of isos) assert.equal(w.test(at(iso)), false, `${w.describe()} should be closed at ${iso}`);
}
/** How many real (UTC) minutes in [from, to) the window is open. */
function openMinutes(w: CompiledWindow, from: string, to: string): number {
  let n = 0;
  for (let t = at(from); t < at(to); t += 60_000) if (w.test(t)) n++;
  return n;
}

describe('compileWindow: days and hours', () => {
  it('opens mon-fri 06:00-18:00 with from inclusive and to exclusive', () => {
    const w = compile({ days: ['mon-fri'], from: '06:00', to: '18:00' });
    assert.equal(w.describe(), 'mon-fri 06:00-18:00 UTC');
    assert.equal(w.zone, 'UTC');
    open(w, '2026-01-14T06:00:00Z', '2026-01-14T17:59:59Z', '2026-01-16T12:00:00Z');
    closed(w, '2026-01-14T05:59:59Z', '2026-01-14T18:00:00Z', '2026-01-17T12:00:00Z', '2026-01-18T12:00:00Z');
  });

  it('defaults to every day, 00:00 to 24:00, in the default zone', () => {
    const all = compile({}, 'Europe/Berlin');
    assert.equal(all.describe(), 'every day 00:00-24:00 Europe/Berlin');
    assert.equal(all.zone, 'Europe/Berlin');
    open(all, '2026-01-14T00:00:00Z', '2026-01-17T23:59:00Z');
    const evening = compile({ from: '22:00' });
    assert.equal(evening.describe(), 'every day 22:00-24:00 UTC');
    open(evening, '2026-01-14T22:00:00Z', '2026-01-14T23:59:00Z');
    closed(evening, '2026-01-14T21:59:00Z', '2026-01-15T00:00:00Z');
    const morning = compile({ to: '06:00', timezone: 'America/New_York' }, 'Europe/Berlin');
    assert.equal(morning.zone, 'America/New_York');
    open(morning, '2026-01-14T05:00:00Z', '2026-01-14T10:59:00Z');
    closed(morning, '2026-01-14T11:00:00Z', '2026-01-14T04:59:00Z');
  });

  it('evaluates in the zone, not in UTC', () => {
    const w = compile({ days: ['mon'], from: '00:00', to: '01:00', timezone: 'Asia/Tokyo' });
    open(w, '2026-01-11T15:30:00Z'); // Monday 00:30 in Tokyo, still Sunday in UTC
    closed(w, '2026-01-12T00:30:00Z');
  });

  it('ties a window that crosses midnight to the day it starts', () => {
    const w = compile({ days: ['fri'], from: '22:00', to: '06:00', timezone: 'Europe/Berlin' });
    assert.equal(w.describe(), 'fri 22:00-06:00 Europe/Berlin');
    open(w, '2026-01-16T21:00:00Z' /* Fri 22:00 */, '2026-01-17T01:00:00Z' /* Sat 02:00 */, '2026-01-17T04:59:00Z');
    closed(
      w,
      '2026-01-16T01:00:00Z', // Fri 02:00: Thursday's night
      '2026-01-16T20:59:00Z', // Fri 21:59
      '2026-01-17T05:00:00Z', // Sat 06:00
      '2026-01-17T21:00:00Z', // Sat 22:00
      '2026-01-19T01:00:00Z', // Mon 02:00
    );
  });

  it('wraps the day before Monday to Sunday', () => {
    const w = compile({ days: ['sun'], from: '22:00', to: '06:00' });
    open(w, '2026-01-18T23:00:00Z', '2026-01-19T01:00:00Z');
    closed(w, '2026-01-18T01:00:00Z', '2026-01-19T23:00:00Z');
  });

  it('treats to 00:00 as the end of the start day', () => {
    const w = compile({ days: ['sat'], from: '20:00', to: '00:00' });
    open(w, '2026-01-17T20:00:00Z', '2026-01-17T23:59:00Z');
    closed(w, '2026-01-18T00:00:00Z', '2026-01-18T20:00:00Z');
  });

  it('reads day ranges, wrapping ones, single days and lists', () => {
    // 2026-01-12 is a Monday.
    const days = (w: CompiledWindow) =>
      [12, 13, 14, 15, 16, 17, 18].map((d) => (w.test(at(`2026-01-${d}T12:00:00Z`)) ? 1 : 0)).join('');
    assert.equal(days(compile({ days: ['mon-fri'] })), '1111100');
    assert.equal(days(compile({ days: ['fri-mon'] })), '1000111');
    assert.equal(days(compile({ days: ['sat-sun'] })), '0000011');
    assert.equal(days(compile({ days: ['sun-sat'] })), '1111111');
    assert.equal(days(compile({ days: ['wed-wed'] })), '0010000');
    assert.equal(days(compile({ days: ['mon', 'wed-thu', 'sun'] })), '1011001');
    const mixedCase = compile({ days: ['Mon-Fri'] });
    assert.equal(days(mixedCase), '1111100');
    assert.equal(mixedCase.describe(), 'mon-fri 00:00-24:00 UTC');
    assert.equal(compile({ days: ['mon', 'wed-thu'] }).describe(), 'mon,wed-thu 00:00-24:00 UTC');
  });
});

describe('compileWindow: daylight saving changes', () => {
  const berlin = (cfg: TimeWindowConfig) => compile(cfg, 'Europe/Berlin');
  const newYork = (cfg: TimeWindowConfig) => compile(cfg, 'America/New_York');

  it('Europe/Berlin spring forward (2026-03-29 02:00 -> 03:00): the skipped hour never opens', () => {
    assert.equal(openMinutes(berlin({ from: '02:00', to: '03:00' }), '2026-03-28T22:00:00Z', '2026-03-29T06:00:00Z'), 0);
    // 01:00-04:00 on the wall is two real hours that night.
    assert.equal(openMinutes(berlin({ from: '01:00', to: '04:00' }), '2026-03-28T22:00:00Z', '2026-03-29T06:00:00Z'), 120);
    // A window starting inside the gap opens when the clock jumps to 03:00.
    const inGap = berlin({ days: ['sun'], from: '02:30', to: '05:00' });
    open(inGap, '2026-03-29T01:00:00Z', '2026-03-29T02:59:00Z');
    closed(inGap, '2026-03-29T00:59:00Z', '2026-03-29T03:00:00Z');
  });

  it('Europe/Berlin spring forward: windows just before and after the change', () => {
    const before = berlin({ days: ['sun'], from: '00:00', to: '02:00' });
    open(before, '2026-03-29T00:59:00Z'); // 01:59 CET
    closed(before, '2026-03-29T01:00:00Z'); // 03:00 CEST
    const after = berlin({ days: ['sun'], from: '03:00', to: '04:00' });
    closed(after, '2026-03-29T00:59:00Z');
    open(after, '2026-03-29T01:00:00Z', '2026-03-29T01:59:00Z');
    closed(after, '2026-03-29T02:00:00Z');
  });

  it('Europe/Berlin spring forward: 06:00-18:00 on the change day and the day before', () => {
    const w = berlin({ from: '06:00', to: '18:00' });
    open(w, '2026-03-29T04:00:00Z', '2026-03-29T15:59:00Z'); // CEST, UTC+2
    closed(w, '2026-03-29T03:59:00Z', '2026-03-29T16:00:00Z');
    open(w, '2026-03-28T05:00:00Z', '2026-03-28T16:59:00Z'); // CET, UTC+1
    closed(w, '2026-03-28T04:59:00Z', '2026-03-28T17:00:00Z');
    assert.equal(openMinutes(w, '2026-03-28T22:00:00Z', '2026-03-29T22:00:00Z'), 720);
  });

  it('Europe/Berlin spring forward: a night window across the change is an hour shorter', () => {
    const w = berlin({ days: ['sat'], from: '22:00', to: '06:00' });
    open(w, '2026-03-28T21:00:00Z', '2026-03-29T03:59:00Z');
    closed(w, '2026-03-28T20:59:00Z', '2026-03-29T04:00:00Z');
    assert.equal(openMinutes(w, '2026-03-28T18:00:00Z', '2026-03-29T08:00:00Z'), 7 * 60);
  });

  it('Europe/Berlin fall back (2026-10-25 02:00-03:00 twice): both occurrences are inside', () => {
    const w = berlin({ from: '02:00', to: '03:00' });
    open(w, '2026-10-25T00:00:00Z', '2026-10-25T00:59:00Z'); // 02:xx CEST
    open(w, '2026-10-25T01:00:00Z', '2026-10-25T01:59:00Z'); // 02:xx CET
    closed(w, '2026-10-24T23:59:00Z', '2026-10-25T02:00:00Z');
    assert.equal(openMinutes(w, '2026-10-24T20:00:00Z', '2026-10-25T06:00:00Z'), 120);
    const before = berlin({ days: ['sun'], from: '00:00', to: '02:00' });
    open(before, '2026-10-24T23:59:00Z');
    closed(before, '2026-10-25T00:00:00Z', '2026-10-25T01:00:00Z');
    const after = berlin({ days: ['sun'], from: '03:00', to: '04:00' });
    closed(after, '2026-10-25T01:59:00Z');
    open(after, '2026-10-25T02:00:00Z');
  });

  it('Europe/Berlin fall back: 06:00-18:00 on the change day', () => {
    const w = berlin({ from: '06:00', to: '18:00' });
    open(w, '2026-10-25T05:00:00Z', '2026-10-25T16:59:00Z'); // CET, UTC+1
    closed(w, '2026-10-25T04:59:00Z', '2026-10-25T17:00:00Z');
    assert.equal(openMinutes(w, '2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z'), 720);
  });

  it('America/New_York spring forward (2026-03-08 02:00 -> 03:00)', () => {
    assert.equal(openMinutes(newYork({ from: '02:00', to: '03:00' }), '2026-03-08T04:00:00Z', '2026-03-08T10:00:00Z'), 0);
    const w = newYork({ days: ['sun'], from: '06:00', to: '18:00' });
    open(w, '2026-03-08T10:00:00Z', '2026-03-08T21:59:00Z'); // EDT, UTC-4
    closed(w, '2026-03-08T09:59:00Z', '2026-03-08T22:00:00Z');
    const before = newYork({ from: '01:00', to: '02:00' });
    open(before, '2026-03-08T06:59:00Z');
    closed(before, '2026-03-08T07:00:00Z');
  });

  it('America/New_York fall back (2026-11-01 01:00-02:00 twice)', () => {
    const w = newYork({ from: '01:00', to: '02:00' });
    open(w, '2026-11-01T05:00:00Z', '2026-11-01T05:59:00Z', '2026-11-01T06:00:00Z', '2026-11-01T06:59:00Z');
    closed(w, '2026-11-01T04:59:00Z', '2026-11-01T07:00:00Z');
    assert.equal(openMinutes(w, '2026-11-01T00:00:00Z', '2026-11-01T10:00:00Z'), 120);
    const day = newYork({ days: ['sun'], from: '06:00', to: '18:00' });
    open(day, '2026-11-01T11:00:00Z', '2026-11-01T22:59:00Z'); // EST, UTC-5
    closed(day, '2026-11-01T10:59:00Z', '2026-11-01T23:00:00Z');
    // Saturday night across the change: four wall hours, five real ones.
    const night = newYork({ days: ['sat'], from: '22:00', to: '02:00' });
    open(night, '2026-11-01T02:00:00Z', '2026-11-01T06:59:00Z');
    closed(night, '2026-11-01T01:59:00Z', '2026-11-01T07:00:00Z');
    assert.equal(openMinutes(night, '2026-10-31T20:00:00Z', '2026-11-01T12:00:00Z'), 5 * 60);
  });
});

describe('compileWindow: invalid windows', () => {
  const error = (cfg: TimeWindowConfig, defaultZone = 'UTC') => {
    const w = compileWindow(cfg, defaultZone);
    assert.ok('error' in w, `expected an error for ${JSON.stringify(cfg)}`);
    return { error: w.error, field: w.field };
  };

  it('rejects unknown time zones, given or defaulted', () => {
    assert.deepEqual(error({ timezone: 'Europe/Berln' }), { error: 'unknown time zone "Europe/Berln"', field: 'timezone' });
    assert.deepEqual(error({}, 'Mars/Olympus'), { error: 'unknown time zone "Mars/Olympus"', field: 'timezone' });
    assert.deepEqual(error({ timezone: '' }), { error: 'unknown time zone ""', field: 'timezone' });
  });

  it('rejects what is not a day, and an empty list', () => {
    for (const d of ['funday', 'monday', 'mon-', '-fri', 'mon-fri-sat', 'mon fri', '']) {
      assert.deepEqual(error({ days: ['mon', d] }), {
        error: `${JSON.stringify(d)} is not a day (mon..sun, or a range like mon-fri)`,
        field: 'days',
      });
    }
    assert.deepEqual(error({ days: [] }), {
      error: 'days is empty: the window would never match (omit days to mean every day)',
      field: 'days',
    });
  });

  it('rejects what is not a time', () => {
    for (const t of ['25:00', '24:01', '06:60', '6:00', '0600', '06:00:00', 'noon', '-1:00', '']) {
      assert.deepEqual(error({ from: t, to: '23:00' }), { error: `${JSON.stringify(t)} is not a time (HH:MM, 00:00-24:00)`, field: 'from' });
      assert.deepEqual(error({ from: '01:00', to: t }), { error: `${JSON.stringify(t)} is not a time (HH:MM, 00:00-24:00)`, field: 'to' });
    }
  });

  it('rejects a window starting at 24:00 and one whose ends are equal', () => {
    assert.deepEqual(error({ from: '24:00', to: '06:00' }), { error: 'from cannot be 24:00: 24:00 can only end a window', field: 'from' });
    assert.deepEqual(error({ from: '08:00', to: '08:00' }), { error: 'from and to are equal: the window would be empty', field: 'to' });
    assert.deepEqual(error({ to: '00:00' }), { error: 'from and to are equal: the window would be empty', field: 'to' });
  });

  it('reports the zone first, then days, then times', () => {
    assert.equal(error({ timezone: 'Nowhere', days: ['x'], from: '99:00' }).field, 'timezone');
    assert.equal(error({ days: ['x'], from: '99:00' }).field, 'days');
  });
});
