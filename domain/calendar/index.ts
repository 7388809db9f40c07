/**
 * The calendar as workflow code may import it: pure, no zod, no shipped data. The shipped schedules and
 * createOfficialCalendar are in official.ts, the zod schemas of schedule data in schedule-schema.ts.
 */
export { CalendarConfigError, CalendarYearMissingError, InstantFormatError } from './errors';
export { calendarReadiness } from './readiness';
export type { CalendarReadiness, CalendarReadinessIssue, CalendarReadinessOptions } from './readiness';
export type { ScheduleData, YearSchedule } from './schedule-data';
export { formatShanghai, parseInstant, shanghaiIsoDate } from './time';
export type { Instant } from './time';
export { DEFAULT_OFFICE_HOURS, createWorkingCalendar } from './working-calendar';
export type { OfficePeriod, WorkingCalendar, WorkingCalendarOptions } from './working-calendar';
