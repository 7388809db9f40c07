/**
 * The schedules shipped in schedules.ts and the calendar built from them, for code outside the workflow (API,
 * activities, configuration, tests, benchmarks). Not exported by index.ts: the workflow bundle imports the calendar
 * and must not carry the shipped data; workflow code builds its calendar from the ScheduleData in its history.
 */
import { OFFICIAL_SCHEDULES } from './schedules';
import { createWorkingCalendar, type WorkingCalendar, type WorkingCalendarOptions } from './working-calendar';

export { OFFICIAL_SCHEDULES };

/** createWorkingCalendar with the shipped schedules unless `options.schedules` names others. */
export function createOfficialCalendar(options: Partial<WorkingCalendarOptions> = {}): WorkingCalendar {
  return createWorkingCalendar({ ...options, schedules: options.schedules ?? OFFICIAL_SCHEDULES });
}
