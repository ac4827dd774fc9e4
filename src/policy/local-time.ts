/**
 * Wall-clock time in an IANA time zone, for time windows and the `now` variable of CEL conditions.
 * Policy decisions ask for the current time over and over, so the last answer per zone is kept and
 * the hot path is one Map lookup and one comparison.
 */

/** A minute of wall-clock time in some zone. */
export interface LocalTime {
  readonly year: number;
  /** 1-12. */
  readonly month: number;
  readonly day: number;
  /** 0-23. */
  readonly hour: number;
  readonly minute: number;
  /** 0 = Sunday .. 6 = Saturday. */
  readonly weekday: number;
  /** hour * 60 + minute: what time windows compare against. */
  readonly minuteOfDay: number;
}

interface ZoneEntry {
  readonly format: Intl.DateTimeFormat;
  /** UTC epoch minute of `last`; NaN until the first call. */
  minute: number;
  last: LocalTime | undefined;
}

const zones = new Map<string, ZoneEntry>();

function entryFor(zone: string): ZoneEntry {
  let entry = zones.get(zone);
  if (entry === undefined) {
    // Throws RangeError for a zone Intl does not know; only valid zones are ever stored, so the Map
    // stays bounded by the tz database however many bad names are tried.
    const format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      // h23, not hour12: false, which some ICU versions render as "24" at midnight.
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      numberingSystem: 'latn',
    });
    entry = { format, minute: Number.NaN, last: undefined };
    zones.set(zone, entry);
  }
  return entry;
}

/** True when `zone` names a time zone Intl knows (IANA names, `UTC`, fixed offsets like `+01:00`). */
export function isTimeZone(zone: string): boolean {
  if (typeof zone !== 'string' || zone.length === 0) return false;
  if (zones.has(zone)) return true;
  try {
    entryFor(zone);
    return true;
  } catch {
    return false;
  }
}

/**
 * Wall-clock time in `zone` at `epochMs`. Throws RangeError for an unknown zone (check with
 * `isTimeZone` when compiling config) or a non-finite time.
 */
export function localTime(zone: string, epochMs: number): LocalTime {
  // The cache key is the UTC minute. That is exact as long as the zone's offset is a whole number of
  // minutes, which holds for every zone since the 1970s (offsets with seconds, like Amsterdam's
  // +00:19:32 until 1937, are history: a decision is always made at the current time).
  const minute = Math.floor(epochMs / 60_000);
  const entry = entryFor(zone);
  if (entry.minute === minute && entry.last !== undefined) return entry.last;
  if (!Number.isFinite(epochMs)) throw new RangeError(`not a point in time: ${epochMs}`);
  const value = compute(entry.format, minute * 60_000);
  entry.minute = minute;
  entry.last = value;
  return value;
}

function compute(format: Intl.DateTimeFormat, epochMs: number): LocalTime {
  let year = 0;
  let month = 0;
  let day = 0;
  let hour = 0;
  let minute = 0;
  for (const part of format.formatToParts(epochMs)) {
    switch (part.type) {
      case 'year': year = Number(part.value); break;
      case 'month': month = Number(part.value); break;
      case 'day': day = Number(part.value); break;
      case 'hour': hour = Number(part.value); break;
      case 'minute': minute = Number(part.value); break;
      default: break;
    }
  }
  // The weekday follows from the local date; parsing "Sun".."Sat" would tie this to a locale's names.
  // setUTCFullYear rather than Date.UTC, which maps years 0-99 to 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  const weekday = date.getUTCDay();
  return Object.freeze({ year, month, day, hour, minute, weekday, minuteOfDay: hour * 60 + minute });
}
