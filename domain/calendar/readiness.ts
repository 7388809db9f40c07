/** Whether the loaded schedules cover the present and the coming year; the API's /readyz reports this. */
import type { WorkingCalendar } from './working-calendar';
import { SCHEDULES_FILE } from './errors';
import { dayNumberFromCivil, shanghaiDayAndOffset, yearOfDayNumber, type Instant, toEpochMs } from './time';

export interface CalendarReadinessIssue {
  level: 'warning' | 'error';
  code: 'CALENDAR_YEAR_MISSING' | 'CALENDAR_NEXT_YEAR_MISSING';
  year: number;
  message: string;
}

export interface CalendarReadiness {
  /** False when any issue is an error: deadlines for applications accepted now cannot be computed. */
  ready: boolean;
  currentYear: number;
  coveredYears: number[];
  issues: CalendarReadinessIssue[];
}

export interface CalendarReadinessOptions {
  /** Warn about a missing next year from this many days before 1 January (default 31: all of December). */
  warnDaysBeforeYearEnd?: number;
}

export function calendarReadiness(
  calendar: WorkingCalendar,
  now: Instant,
  options: CalendarReadinessOptions = {},
): CalendarReadiness {
  const warnDays = options.warnDaysBeforeYearEnd ?? 31;
  const today = shanghaiDayAndOffset(toEpochMs(now)).dayNumber;
  const currentYear = yearOfDayNumber(today);
  const coveredYears = calendar.coveredYears();
  const issues: CalendarReadinessIssue[] = [];
  if (!coveredYears.includes(currentYear)) {
    issues.push({
      level: 'error',
      code: 'CALENDAR_YEAR_MISSING',
      year: currentYear,
      message: `No official holiday schedule for ${currentYear}, the current year: deadlines cannot be computed; add it to ${SCHEDULES_FILE}`,
    });
  }
  const nextYear = currentYear + 1;
  const daysLeft = dayNumberFromCivil(nextYear, 1, 1) - today;
  if (daysLeft <= warnDays && !coveredYears.includes(nextYear)) {
    issues.push({
      level: 'warning',
      code: 'CALENDAR_NEXT_YEAR_MISSING',
      year: nextYear,
      message:
        `The schedule for next year (${nextYear}) is missing, ${daysLeft} day(s) before it starts: deadlines reaching ` +
        `into ${nextYear} will fail; add the State Council notice to ${SCHEDULES_FILE} once published`,
    });
  }
  return { ready: issues.every((i) => i.level !== 'error'), currentYear, coveredYears, issues };
}
