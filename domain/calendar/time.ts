/**
 * Asia/Shanghai civil time by fixed-offset arithmetic: China has used UTC+8 without daylight saving since 1991,
 * so no time-zone database is needed and nothing depends on the host's local zone.
 *
 * A "day number" is the count of Shanghai calendar days since 1970-01-01; weekday and date follow from it.
 */
import { InstantFormatError } from './errors';

export const SHANGHAI_OFFSET_MS = 8 * 3_600_000;
export const DAY_MS = 86_400_000;

/** An instant: epoch milliseconds or a Date. Operations return epoch milliseconds. */
export type Instant = number | Date;

export interface CivilDate {
  year: number;
  month: number;
  day: number;
}

export function toEpochMs(instant: Instant): number {
  const ms = typeof instant === 'number' ? instant : instant.getTime();
  if (!Number.isFinite(ms)) throw new RangeError(`not a valid instant: ${String(instant)}`);
  return ms;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function dayNumberFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

export function civilFromDayNumber(dayNumber: number): CivilDate {
  const z = dayNumber + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** 0 = Sunday … 6 = Saturday. */
export function weekdayOfDayNumber(dayNumber: number): number {
  return (((dayNumber + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
}

export function yearOfDayNumber(dayNumber: number): number {
  return civilFromDayNumber(dayNumber).year;
}

export function daysInMonth(year: number, month: number): number {
  return (
    dayNumberFromCivil(month === 12 ? year + 1 : year, month === 12 ? 1 : month + 1, 1) -
    dayNumberFromCivil(year, month, 1)
  );
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

export function formatIsoDate(dayNumber: number): string {
  const { year, month, day } = civilFromDayNumber(dayNumber);
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
}

/** Day number of a strict 'YYYY-MM-DD' that names a real date; `undefined` otherwise. */
export function tryParseIsoDate(text: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return undefined;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return dayNumberFromCivil(year, month, day);
}

export function parseIsoDate(text: string): number {
  const dayNumber = tryParseIsoDate(text);
  if (dayNumber === undefined)
    throw new InstantFormatError('DATE_INVALID', `'${text}' is not a date in the form YYYY-MM-DD`);
  return dayNumber;
}

/** The Shanghai day number of an instant and the milliseconds since that day's midnight. */
export function shanghaiDayAndOffset(epochMs: number): { dayNumber: number; msOfDay: number } {
  const local = epochMs + SHANGHAI_OFFSET_MS;
  const dayNumber = Math.floor(local / DAY_MS);
  return { dayNumber, msOfDay: local - dayNumber * DAY_MS };
}

/** The Shanghai calendar date of an instant, `YYYY-MM-DD`. */
export function shanghaiIsoDate(epochMs: number): string {
  return formatIsoDate(shanghaiDayAndOffset(epochMs).dayNumber);
}

/** The instant of Shanghai midnight starting the given day. */
export function shanghaiMidnight(dayNumber: number): number {
  return dayNumber * DAY_MS - SHANGHAI_OFFSET_MS;
}

/** 'YYYY-MM-DDTHH:mm:ss+08:00', with '.SSS' only when the instant has milliseconds. */
export function formatShanghai(instant: Instant): string {
  const { dayNumber, msOfDay } = shanghaiDayAndOffset(toEpochMs(instant));
  const hours = Math.floor(msOfDay / 3_600_000);
  const minutes = Math.floor((msOfDay % 3_600_000) / 60_000);
  const seconds = Math.floor((msOfDay % 60_000) / 1000);
  const millis = msOfDay % 1000;
  const fraction = millis === 0 ? '' : `.${pad(millis, 3)}`;
  return `${formatIsoDate(dayNumber)}T${pad(hours)}:${pad(minutes)}:${pad(seconds)}${fraction}+08:00`;
}

const INSTANT_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?([Zz]|[+-]\d{2}:?\d{2})?$/;

/**
 * Epoch milliseconds of an ISO 8601 / RFC 3339 date-time that states its offset ('Z', '+08:00', '-0500').
 * A local time without an offset is rejected: it would be read in whatever zone the server runs in.
 */
export function parseInstant(text: string): number {
  const invalid = (why: string): InstantFormatError =>
    new InstantFormatError('INSTANT_INVALID', `'${text}' is not an ISO 8601 instant: ${why}`);
  const match = INSTANT_PATTERN.exec(text);
  if (!match) {
    // A '+' left unencoded in a query string arrives as a space.
    if (/^\d{4}-\d{2}-\d{2}[Tt][\d:.,]+ \d{2}:?\d{2}$/.test(text)) {
      throw invalid("the offset's '+' arrived as a space; encode it as %2B in URLs (…T16:00:00%2B08:00)");
    }
    if (/^\d{4}-\d{2}-\d{2}$/.test(text)) throw invalid('a date alone is not an instant; add a time and an offset');
    throw invalid('expected YYYY-MM-DDTHH:mm[:ss[.sss]] followed by Z or an offset such as +08:00');
  }
  const [, y, mo, d, h, mi, s, fraction, offset] = match;
  if (offset === undefined) {
    throw invalid("local time without an offset is ambiguous; add 'Z' or an offset such as +08:00");
  }
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) throw invalid('no such date');
  if (hour > 23 || minute > 59 || second > 59) throw invalid('no such time of day');
  let offsetMs = 0;
  if (offset !== 'Z' && offset !== 'z') {
    const digits = offset.replace(':', '');
    const offsetHours = Number(digits.slice(1, 3));
    const offsetMinutes = Number(digits.slice(3, 5));
    if (offsetHours > 23 || offsetMinutes > 59) throw invalid('no such offset');
    offsetMs = (offset.startsWith('-') ? -1 : 1) * (offsetHours * 3_600_000 + offsetMinutes * 60_000);
  }
  const millis = fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'));
  return (
    dayNumberFromCivil(year, month, day) * DAY_MS +
    hour * 3_600_000 +
    minute * 60_000 +
    second * 1000 +
    millis -
    offsetMs
  );
}
