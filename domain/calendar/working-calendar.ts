/**
 * The working-time calendar behind the one-working-day promise: Asia/Shanghai office hours on the working days of
 * the official State Council schedules (holidays off, make-up weekend days on).
 *
 * Pure and deterministic: no clock, no host time zone, no I/O. Instants go in as epoch ms or Date and come back as
 * epoch ms. Whole days are skipped with a prefix sum of working days, so the cost of a computation does not grow
 * with the span it covers.
 */
import { CalendarConfigError, CalendarYearMissingError } from './errors';
import { indexSchedules, type ScheduleData } from './schedule-data';
import {
  DAY_MS,
  dayNumberFromCivil,
  parseIsoDate,
  shanghaiDayAndOffset,
  shanghaiMidnight,
  toEpochMs,
  weekdayOfDayNumber,
  yearOfDayNumber,
  type Instant,
} from './time';

/** A working period of each working day, Shanghai wall-clock 'HH:MM' (end exclusive; '24:00' allowed). */
export interface OfficePeriod {
  start: string;
  end: string;
}

export const DEFAULT_OFFICE_HOURS: readonly OfficePeriod[] = [
  { start: '09:00', end: '12:00' },
  { start: '13:30', end: '17:30' },
];

export interface WorkingCalendarOptions {
  officeHours?: readonly OfficePeriod[];
  /**
   * Always explicit, so that the workflow bundle does not carry the data shipped in schedules.ts: workflow code
   * passes the data it received; other code can use createOfficialCalendar (official.ts).
   */
  schedules: ScheduleData;
}

export interface WorkingCalendar {
  readonly officeHours: readonly OfficePeriod[];
  /** Working time of one working day, in ms (7 h with the default office hours). */
  readonly workingDayMs: number;
  /** Years with an official schedule, ascending. */
  coveredYears(): number[];
  /** Whether a Shanghai date 'YYYY-MM-DD' is a working day. */
  isWorkingDay(date: string): boolean;
  /** Whether the instant falls inside office hours of a working day. */
  isWorkingTime(instant: Instant): boolean;
  /** The earliest instant at which `workingMs` of working time have elapsed since `start`. */
  addWorkingTime(start: Instant, workingMs: number): number;
  /** Working time in ms between two instants; 0 when `to` is not after `from`. */
  workingTimeBetween(from: Instant, to: Instant): number;
  /**
   * 次日起算: the close of office on the `workingDays`-th working day after the day of acceptance
   * (the day of acceptance never counts, whatever the hour).
   */
  dueNextDayRule(acceptedAt: Instant, workingDays: number): number;
}

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/;

function msOfDay(text: string, field: string): number {
  if (!HH_MM.test(text)) throw new CalendarConfigError(field, `'${text}' is not a time of day HH:MM`);
  return Number(text.slice(0, 2)) * 3_600_000 + Number(text.slice(3, 5)) * 60_000;
}

interface Periods {
  starts: number[];
  ends: number[];
  /** Working ms of the day before each period starts. */
  workedBefore: number[];
  dayMs: number;
}

function compileOfficeHours(officeHours: readonly OfficePeriod[]): Periods {
  if (officeHours.length === 0) throw new CalendarConfigError('officeHours', 'at least one working period is needed');
  const periods: Periods = { starts: [], ends: [], workedBefore: [], dayMs: 0 };
  officeHours.forEach((period, i) => {
    const start = msOfDay(period.start, `officeHours.${i}.start`);
    if (period.start === '24:00')
      throw new CalendarConfigError(`officeHours.${i}.start`, 'a period cannot start at 24:00');
    const end = msOfDay(period.end, `officeHours.${i}.end`);
    if (end <= start) {
      throw new CalendarConfigError(
        `officeHours.${i}`,
        `${period.end} is not after ${period.start} (a period lies within one day: one across midnight is two, ${period.start}-24:00 and 00:00-${period.end})`,
      );
    }
    const previousEnd = periods.ends[i - 1];
    if (previousEnd !== undefined && start < previousEnd) {
      throw new CalendarConfigError(`officeHours.${i}`, 'periods must be in order and must not overlap');
    }
    periods.starts.push(start);
    periods.ends.push(end);
    periods.workedBefore.push(periods.dayMs);
    periods.dayMs += end - start;
  });
  return periods;
}

export function createWorkingCalendar(options: WorkingCalendarOptions): WorkingCalendar {
  const officeHours = (options.officeHours ?? DEFAULT_OFFICE_HOURS).map((p) =>
    Object.freeze({ start: p.start, end: p.end }),
  );
  const { starts, ends, workedBefore, dayMs } = compileOfficeHours(officeHours);
  const periodCount = starts.length;
  const closeOfOffice = ends[periodCount - 1]!;

  const schedules = indexSchedules(options.schedules);
  const covered = new Set(schedules.years);
  const firstYear = schedules.years[0];
  const lastYear = schedules.years[schedules.years.length - 1];
  if (firstYear === undefined || lastYear === undefined) {
    throw new CalendarConfigError('schedules.years', 'at least one year of schedule data is needed');
  }

  // Index i stands for day number firstDay + i; uncovered years in between count no working days and are caught
  // by the coverage checks before any answer is returned.
  const firstDay = dayNumberFromCivil(firstYear, 1, 1);
  const endDay = dayNumberFromCivil(lastYear + 1, 1, 1);
  const span = endDay - firstDay;
  const working = new Uint8Array(span);
  /** workingBefore[i] = working days in [firstDay, firstDay + i). */
  const workingBefore = new Int32Array(span + 1);
  // Year by year, so no day needs its civil date (built once per application in every workflow: keep it cheap).
  for (let year = firstYear; year <= lastYear; year++) {
    const yearCovered = covered.has(year);
    const yearEnd = dayNumberFromCivil(year + 1, 1, 1);
    for (let day = dayNumberFromCivil(year, 1, 1); day < yearEnd; day++) {
      const i = day - firstDay;
      const weekday = weekdayOfDayNumber(day);
      const isWorking =
        yearCovered &&
        (schedules.makeUpWorkingDays.has(day) || (weekday >= 1 && weekday <= 5 && !schedules.daysOff.has(day)));
      working[i] = isWorking ? 1 : 0;
      workingBefore[i + 1] = workingBefore[i]! + working[i]!;
    }
  }

  function requireYear(year: number): void {
    if (!covered.has(year)) throw new CalendarYearMissingError(year);
  }

  function requireDays(fromDay: number, toDay: number): void {
    const lastYearTouched = yearOfDayNumber(toDay);
    for (let year = yearOfDayNumber(fromDay); year <= lastYearTouched; year++) requireYear(year);
  }

  /** Assumes the day's year is covered. */
  function isWorkingDayNumber(day: number): boolean {
    return working[day - firstDay] === 1;
  }

  /** Working ms of a working day before the given time of day. */
  function workedBeforeTime(ms: number): number {
    let worked = 0;
    for (let j = 0; j < periodCount; j++) {
      const start = starts[j]!;
      if (ms <= start) break;
      worked += Math.min(ms, ends[j]!) - start;
    }
    return worked;
  }

  /** The earliest time of day at which `worked` ms (0 < worked <= dayMs) of the day's working time have elapsed. */
  function timeWhenWorked(worked: number): number {
    for (let j = 0; j < periodCount; j++) {
      const before = workedBefore[j]!;
      if (worked <= before + ends[j]! - starts[j]!) return starts[j]! + worked - before;
    }
    return closeOfOffice;
  }

  /** The n-th (n >= 1) working day after `day`, whose year is covered. */
  function nthWorkingDayAfter(day: number, n: number): number {
    const wanted = workingBefore[day + 1 - firstDay]! + n;
    if (workingBefore[span]! < wanted) {
      // Runs past the data: the first year after `day` without a schedule is the one to add.
      let year = yearOfDayNumber(day) + 1;
      while (covered.has(year)) year++;
      throw new CalendarYearMissingError(year);
    }
    // Smallest i with workingBefore[i] >= wanted; that day is firstDay + i - 1.
    let low = day + 2 - firstDay;
    let high = span;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (workingBefore[mid]! >= wanted) high = mid;
      else low = mid + 1;
    }
    const found = firstDay + low - 1;
    requireDays(day, found);
    return found;
  }

  function requireWorkingMs(workingMs: number): void {
    if (!Number.isSafeInteger(workingMs) || workingMs < 0) {
      throw new RangeError(`working time must be a whole, non-negative number of ms, got ${workingMs}`);
    }
  }

  return {
    officeHours: Object.freeze(officeHours),
    workingDayMs: dayMs,

    coveredYears: () => [...schedules.years],

    isWorkingDay(date) {
      const day = parseIsoDate(date);
      requireYear(yearOfDayNumber(day));
      return isWorkingDayNumber(day);
    },

    isWorkingTime(instant) {
      const { dayNumber, msOfDay: ms } = shanghaiDayAndOffset(toEpochMs(instant));
      requireYear(yearOfDayNumber(dayNumber));
      if (!isWorkingDayNumber(dayNumber)) return false;
      for (let j = 0; j < periodCount; j++) if (ms >= starts[j]! && ms < ends[j]!) return true;
      return false;
    },

    addWorkingTime(start, workingMs) {
      requireWorkingMs(workingMs);
      const startMs = toEpochMs(start);
      const { dayNumber, msOfDay: ms } = shanghaiDayAndOffset(startMs);
      requireYear(yearOfDayNumber(dayNumber));
      if (workingMs === 0) return startMs;
      let remaining = workingMs;
      if (isWorkingDayNumber(dayNumber)) {
        const workedToday = workedBeforeTime(ms);
        if (remaining <= dayMs - workedToday)
          return shanghaiMidnight(dayNumber) + timeWhenWorked(workedToday + remaining);
        remaining -= dayMs - workedToday;
      }
      const wholeDays = Math.ceil(remaining / dayMs);
      const dueDay = nthWorkingDayAfter(dayNumber, wholeDays);
      return shanghaiMidnight(dueDay) + timeWhenWorked(remaining - (wholeDays - 1) * dayMs);
    },

    workingTimeBetween(from, to) {
      const fromMs = toEpochMs(from);
      const toMs = toEpochMs(to);
      if (toMs <= fromMs) return 0;
      const a = shanghaiDayAndOffset(fromMs);
      let b = shanghaiDayAndOffset(toMs);
      // An interval that ends at midnight ends with the day before (office hours may close at 24:00): the day it
      // ends on adds no working time, and may lie in a year the data lack (a due instant of 31 December at 24:00).
      if (b.msOfDay === 0 && b.dayNumber > a.dayNumber) b = { dayNumber: b.dayNumber - 1, msOfDay: DAY_MS };
      requireDays(a.dayNumber, b.dayNumber);
      if (a.dayNumber === b.dayNumber) {
        return isWorkingDayNumber(a.dayNumber) ? workedBeforeTime(b.msOfDay) - workedBeforeTime(a.msOfDay) : 0;
      }
      const firstDayPart = isWorkingDayNumber(a.dayNumber) ? dayMs - workedBeforeTime(a.msOfDay) : 0;
      const lastDayPart = isWorkingDayNumber(b.dayNumber) ? workedBeforeTime(b.msOfDay) : 0;
      const daysBetween = workingBefore[b.dayNumber - firstDay]! - workingBefore[a.dayNumber + 1 - firstDay]!;
      return firstDayPart + daysBetween * dayMs + lastDayPart;
    },

    dueNextDayRule(acceptedAt, workingDays) {
      if (!Number.isSafeInteger(workingDays) || workingDays < 1) {
        throw new RangeError(`working days must be a whole number >= 1, got ${workingDays}`);
      }
      const { dayNumber } = shanghaiDayAndOffset(toEpochMs(acceptedAt));
      requireYear(yearOfDayNumber(dayNumber));
      return shanghaiMidnight(nthWorkingDayAfter(dayNumber, workingDays)) + closeOfOffice;
    },
  };
}
