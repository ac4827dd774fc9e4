/**
 * Time windows of policy rules ("mon-fri 06:00-18:00 Europe/Berlin"), compiled once per config.
 * A window is tested against the wall-clock time of its zone, so daylight saving needs no special
 * case: on the spring-forward day the skipped hour simply never occurs, and in the fall-back repeat
 * both occurrences of the hour read as that hour.
 */
import { isTimeZone, localTime } from './local-time.ts';

/** A window as the config schema produces it. */
export interface TimeWindowConfig {
  /** IANA zone; the policy's default zone when omitted. */
  readonly timezone?: string | undefined;
  /** `mon`..`sun` or ranges like `mon-fri` (wrapping `fri-mon` too); every day when omitted. */
  readonly days?: readonly string[] | undefined;
  /** `HH:MM`, inclusive; 00:00 when omitted. */
  readonly from?: string | undefined;
  /** `HH:MM` up to 24:00, exclusive; 24:00 when omitted. At or before `from`: the window crosses midnight. */
  readonly to?: string | undefined;
}

export interface CompiledWindow {
  readonly zone: string;
  /** Whether the instant `epochMs` lies inside the window. */
  test(epochMs: number): boolean;
  /** For explain output, e.g. `mon-fri 06:00-18:00 UTC`. */
  describe(): string;
}

export interface WindowError {
  readonly error: string;
  readonly field: 'timezone' | 'days' | 'from' | 'to';
}

/** Index = weekday as LocalTime counts it (0 = Sunday). */
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const ALL_DAYS = 0b111_1111;
const DAY_HELP = '(mon..sun, or a range like mon-fri)';
const TIME_HELP = '(HH:MM, 00:00-24:00)';
const END_OF_DAY = 24 * 60;

class Window implements CompiledWindow {
  readonly zone: string;
  readonly #days: number;
  readonly #from: number;
  readonly #to: number;
  readonly #crossesMidnight: boolean;
  readonly #description: string;

  constructor(zone: string, days: number, from: number, to: number, description: string) {
    this.zone = zone;
    this.#days = days;
    this.#from = from;
    this.#to = to;
    this.#crossesMidnight = to <= from;
    this.#description = description;
  }

  test(epochMs: number): boolean {
    const t = localTime(this.zone, epochMs);
    const m = t.minuteOfDay;
    if (!this.#crossesMidnight) return m >= this.#from && m < this.#to && ((this.#days >> t.weekday) & 1) === 1;
    if (m >= this.#from) return ((this.#days >> t.weekday) & 1) === 1;
    // After midnight the window belongs to the day it started on: yesterday.
    if (m < this.#to) return ((this.#days >> ((t.weekday + 6) % 7)) & 1) === 1;
    return false;
  }

  describe(): string {
    return this.#description;
  }
}

export function compileWindow(cfg: TimeWindowConfig, defaultZone: string): CompiledWindow | WindowError {
  const zone = cfg.timezone ?? defaultZone;
  if (!isTimeZone(zone)) return { error: `unknown time zone ${JSON.stringify(zone)}`, field: 'timezone' };

  let days = ALL_DAYS;
  let dayText = 'every day';
  if (cfg.days !== undefined) {
    if (cfg.days.length === 0) {
      return { error: 'days is empty: the window would never match (omit days to mean every day)', field: 'days' };
    }
    days = 0;
    const names: string[] = [];
    for (const entry of cfg.days) {
      const mask = parseDays(entry);
      if (mask === undefined) return { error: `${JSON.stringify(entry)} is not a day ${DAY_HELP}`, field: 'days' };
      days |= mask;
      names.push(entry.trim().toLowerCase());
    }
    dayText = names.join(',');
  }

  const from = cfg.from === undefined ? 0 : parseTime(cfg.from);
  if (from === undefined) return { error: `${JSON.stringify(cfg.from)} is not a time ${TIME_HELP}`, field: 'from' };
  if (from === END_OF_DAY) return { error: 'from cannot be 24:00: 24:00 can only end a window', field: 'from' };
  const to = cfg.to === undefined ? END_OF_DAY : parseTime(cfg.to);
  if (to === undefined) return { error: `${JSON.stringify(cfg.to)} is not a time ${TIME_HELP}`, field: 'to' };
  if (to === from) return { error: 'from and to are equal: the window would be empty', field: 'to' };

  return new Window(zone, days, from, to, `${dayText} ${formatTime(from)}-${formatTime(to)} ${zone}`);
}

/** A day name or a range of them as a bit mask by weekday; undefined when not a day. */
function parseDays(text: string): number | undefined {
  if (typeof text !== 'string') return undefined;
  const parts = text.trim().toLowerCase().split('-');
  if (parts.length > 2) return undefined;
  const first = dayIndex(parts[0]);
  const last = parts.length === 2 ? dayIndex(parts[1]) : first;
  if (first === undefined || last === undefined) return undefined;
  let mask = 0;
  // Walks forward from the first day, so `fri-mon` wraps over the weekend.
  for (let d = first; ; d = (d + 1) % 7) {
    mask |= 1 << d;
    if (d === last) return mask;
  }
}

function dayIndex(name: string | undefined): number | undefined {
  const i = DAY_NAMES.indexOf(name as (typeof DAY_NAMES)[number]);
  return i < 0 ? undefined : i;
}

const TIME = /^(\d\d):(\d\d)$/;

/** Minutes since midnight, 0..1440; undefined when not `HH:MM` within a day. */
function parseTime(text: string): number | undefined {
  const m = typeof text === 'string' ? TIME.exec(text) : null;
  if (m === null) return undefined;
  const hours = Number(m[1]);
  const minutes = Number(m[2]);
  if (minutes > 59 || hours > 24 || (hours === 24 && minutes !== 0)) return undefined;
  return hours * 60 + minutes;
}

function formatTime(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `${h < 10 ? '0' : ''}${h}:${m < 10 ? '0' : ''}${m}`;
}
