/**
 * The SLA part of the configuration, parsed from the SLA_* variables of config/index.ts and checked
 * at start-up (worker and API): budgets, office hours, counting rule, the calendar data (shipped
 * schedules plus an optional file of newer years) and the alert webhooks.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import {
  CalendarConfigError,
  createWorkingCalendar,
  DEFAULT_OFFICE_HOURS,
  type OfficePeriod,
  type ScheduleData,
  type WorkingCalendar,
} from '../domain/calendar';
import { OFFICIAL_SCHEDULES } from '../domain/calendar/official';
import { scheduleDataSchema } from '../domain/calendar/schedule-schema';
import { criticalPath, resolveBudgets, type SlaBudgetsOverride, type SlaSettings } from '../domain/sla';
import { slaBudgetsOverrideSchema } from '../domain/sla-config';
import { ConfigError, type Config } from './index';

export interface SlaWebhook {
  /** `webhook:<12 hex of sha256(url)>`: names the channel in histories and status without revealing the URL. */
  id: string;
  url: string;
}

export interface SlaConfig {
  settings: SlaSettings;
  /** The calendar of these settings, for the API (calculator, readiness, live status figures). */
  calendar: WorkingCalendar;
  webhooks: SlaWebhook[];
  webhookSecret?: string;
  webhookTimeoutMs: number;
}

/** `SLA_OFFICE_HOURS=09:00-12:00,13:30-17:30` (Asia/Shanghai wall clock, periods in order). */
export function parseOfficeHours(text: string): OfficePeriod[] {
  return text.split(',').map((part, i) => {
    const match = /^\s*(\d{2}:\d{2})\s*-\s*(\d{2}:\d{2})\s*$/.exec(part);
    if (!match) throw new ConfigError(`SLA_OFFICE_HOURS: period ${i + 1} '${part.trim()}' is not HH:MM-HH:MM`);
    return { start: match[1]!, end: match[2]! };
  });
}

/**
 * A calendar's refusal in the variable's own terms: an office period by its number and text as written in
 * SLA_OFFICE_HOURS (counted from 1, as parseOfficeHours counts), anything else the schedules'.
 */
function calendarConfigMessage(err: unknown, officeHoursText: string | undefined): string {
  const period = err instanceof CalendarConfigError ? /^officeHours\.(\d+)/.exec(err.field) : null;
  if (!period) return `SLA_CALENDAR_FILE (or the shipped schedules): ${(err as Error).message}`;
  const index = Number(period[1]);
  const text = officeHoursText?.split(',')[index]?.trim();
  const reason = (err as CalendarConfigError).message.replace(/^[^:]+: /, '');
  return `SLA_OFFICE_HOURS: period ${index + 1}${text ? ` '${text}'` : ''}: ${reason}`;
}

/** The shipped schedules with the years of `extra` added or replaced (a file wins over the shipped year). */
export function mergeSchedules(base: ScheduleData, extra: ScheduleData): ScheduleData {
  const byYear = new Map(base.years.map((y) => [y.year, y]));
  for (const year of extra.years) byYear.set(year.year, year);
  return { years: [...byYear.values()].sort((a, b) => a.year - b.year) };
}

export function webhookChannelId(url: string): string {
  return `webhook:${createHash('sha256').update(url).digest('hex').slice(0, 12)}`;
}

const webhookUrl = z.url({ protocol: /^https?$/ });

export function loadSlaConfig(config: Config): SlaConfig {
  const { env } = config;
  const json = (variable: string, text: string): unknown => {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`${variable}: not JSON: ${(err as Error).message}`);
    }
  };

  let budgetsOverride = {};
  if (env.SLA_BUDGETS) {
    const parsed = slaBudgetsOverrideSchema.safeParse(json('SLA_BUDGETS', env.SLA_BUDGETS));
    if (!parsed.success) throw new ConfigError(`SLA_BUDGETS: ${z.prettifyError(parsed.error)}`);
    budgetsOverride = parsed.data;
  }

  let schedules: ScheduleData = OFFICIAL_SCHEDULES;
  if (env.SLA_CALENDAR_FILE) {
    let text: string;
    try {
      text = readFileSync(env.SLA_CALENDAR_FILE, 'utf8');
    } catch (err) {
      throw new ConfigError(`SLA_CALENDAR_FILE: cannot read ${env.SLA_CALENDAR_FILE}: ${(err as Error).message}`);
    }
    const parsed = scheduleDataSchema.safeParse(json('SLA_CALENDAR_FILE', text));
    if (!parsed.success) throw new ConfigError(`SLA_CALENDAR_FILE: ${z.prettifyError(parsed.error)}`);
    schedules = mergeSchedules(OFFICIAL_SCHEDULES, parsed.data);
  }

  const officeHours = env.SLA_OFFICE_HOURS ? parseOfficeHours(env.SLA_OFFICE_HOURS) : [...DEFAULT_OFFICE_HOURS];
  let calendar: WorkingCalendar;
  try {
    calendar = createWorkingCalendar({ officeHours, schedules });
  } catch (err) {
    throw new ConfigError(calendarConfigMessage(err, env.SLA_OFFICE_HOURS));
  }

  // "1 working day" is the working time of one working day (PRODUCT.md): with other office hours the application's
  // promise is their day, unless SLA_BUDGETS names its hours (it stayed 7 h: with 6-hour days, more than a day).
  const applicationOverride = (budgetsOverride as SlaBudgetsOverride).application;
  const applicationHoursNamed =
    typeof applicationOverride === 'number' || applicationOverride?.committedHours !== undefined;
  const budgets = resolveBudgets(
    applicationHoursNamed
      ? budgetsOverride
      : {
          ...budgetsOverride,
          application: {
            ...(typeof applicationOverride === 'object' ? applicationOverride : {}),
            committedHours: calendar.workingDayMs / 3_600_000,
          },
        },
  );

  const urls = (env.SLA_WEBHOOK_URLS ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  for (const [i, url] of urls.entries()) {
    // By position, not the URL itself: it may hold a password.
    if (!webhookUrl.safeParse(url).success)
      throw new ConfigError(`SLA_WEBHOOK_URLS: URL ${i + 1} is not an http(s) URL`);
    // fetch refuses such a URL on every attempt (its alerts would never go), and it would be logged with them. Not
    // echoed: it holds a password.
    const { username, password } = new URL(url);
    if (username || password) {
      throw new ConfigError(
        `SLA_WEBHOOK_URLS: URL ${i + 1} carries a user name or password, which cannot be sent that way: receivers authenticate alerts by X-Kaiban-Signature (SLA_WEBHOOK_SECRET)`,
      );
    }
  }
  if (urls.length > 0 && !env.SLA_WEBHOOK_SECRET) {
    throw new ConfigError(
      'SLA_WEBHOOK_SECRET is required when SLA_WEBHOOK_URLS is set: receivers verify X-Kaiban-Signature with it',
    );
  }

  return {
    settings: { budgets, officeHours, countingRule: env.SLA_COUNTING_RULE, schedules },
    calendar,
    webhooks: [...new Set(urls)].map((url) => ({ id: webhookChannelId(url), url })),
    ...(env.SLA_WEBHOOK_SECRET ? { webhookSecret: env.SLA_WEBHOOK_SECRET } : {}),
    webhookTimeoutMs: env.SLA_WEBHOOK_TIMEOUT_MS,
  };
}

/** A warning for the start-up log when the committed step budgets on the critical path exceed the application's. */
export function criticalPathWarning(settings: SlaSettings): string | undefined {
  const path = criticalPath(settings.budgets);
  const promise = settings.budgets.application.committedHours;
  return path.hours > promise
    ? `SLA budgets: the critical path ${path.steps.join(' → ')} commits ${path.hours} h, more than the application's ${promise} h`
    : undefined;
}
