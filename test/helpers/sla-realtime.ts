/**
 * The SLA in real (not skipped) time, for the reliability tests and the SLA precision benchmark: a
 * working calendar in which the next days are working days around the clock (whatever the date the
 * run happens on), and tiny budgets, so warnings and breaches fall due seconds after acceptance.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ScheduleData, YearSchedule } from '../../domain/calendar';
import { OFFICIAL_SCHEDULES } from '../../domain/calendar/official';
import { formatIsoDate, shanghaiDayAndOffset, weekdayOfDayNumber, yearOfDayNumber } from '../../domain/calendar/time';
import type { SlaScope } from '../../domain/sla';

/**
 * Writes a calendar file (SLA_CALENDAR_FILE) in which the `days` Shanghai days from `now` on are
 * working days: weekend days among them become make-up working days, and holidays covering them
 * are left out. Every other day of those years is as officially published.
 */
export function workingDaysCalendarFile(now = Date.now(), days = 2): string {
  const today = shanghaiDayAndOffset(now).dayNumber;
  const wanted = Array.from({ length: days }, (_, i) => today + i);
  const years = [...new Set(wanted.map(yearOfDayNumber))].map((year): YearSchedule => {
    const official = OFFICIAL_SCHEDULES.years.find((y) => y.year === year);
    const inYear = wanted.filter((d) => yearOfDayNumber(d) === year).map(formatIsoDate);
    const schedule: YearSchedule = official
      ? structuredClone(official)
      : {
          year,
          notice: {
            number: 'BENCH',
            title: `${year} (no official schedule)`,
            publishedOn: `${year - 1}-12-01`,
            url: 'bench:',
          },
          holidays: [],
          makeUpWorkingDays: [],
        };
    schedule.holidays = schedule.holidays.filter((h) => !inYear.some((d) => h.from <= d && d <= h.to));
    for (const day of wanted.filter((d) => yearOfDayNumber(d) === year)) {
      const weekday = weekdayOfDayNumber(day);
      const date = formatIsoDate(day);
      if ((weekday === 0 || weekday === 6) && !schedule.makeUpWorkingDays.some((m) => m.date === date)) {
        schedule.makeUpWorkingDays.push({ date, for: 'real-time SLA runs (test data)' });
      }
    }
    return schedule;
  });
  const data: ScheduleData = { years };
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'kaiban-sla-realtime-')), 'calendar.json');
  writeFileSync(file, JSON.stringify(data));
  return file;
}

/**
 * SLA_* variables for real-time alerts: office hours around the clock on the working days of
 * workingDaysCalendarFile(), the given committed budgets (in seconds), alerts to `webhookUrl`.
 */
export function realtimeSlaEnv(options: {
  budgetsSeconds: Partial<Record<SlaScope, number>>;
  webhookUrl?: string;
  webhookSecret?: string;
}): Record<string, string> {
  const budgets = Object.fromEntries(Object.entries(options.budgetsSeconds).map(([scope, s]) => [scope, s / 3600]));
  return {
    SLA_OFFICE_HOURS: '00:00-24:00',
    SLA_CALENDAR_FILE: workingDaysCalendarFile(),
    SLA_BUDGETS: JSON.stringify(budgets),
    ...(options.webhookUrl
      ? {
          SLA_WEBHOOK_URLS: options.webhookUrl,
          SLA_WEBHOOK_SECRET: options.webhookSecret ?? 'realtime-sla-webhook-secret',
        }
      : {}),
  };
}
