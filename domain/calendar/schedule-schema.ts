/**
 * zod schemas of the official holiday schedules, for schedule data read from configuration (SLA_CALENDAR_FILE in
 * config/sla.ts). Not exported by index.ts: the workflow bundle imports the calendar and must not carry zod;
 * createWorkingCalendar checks the same shape by hand (schedule-data.ts).
 */
import { z } from 'zod';
import type { ScheduleData, YearSchedule } from './schedule-data';

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD');

export const yearScheduleSchema = z.object({
  /** The year the notice arranges. */
  year: z.number().int().min(1991).max(9999),
  /** The State Council General Office notice the data was copied from. */
  notice: z.object({
    /** e.g. 国办发明电〔2025〕7号 */
    number: z.string().min(1),
    title: z.string().min(1),
    publishedOn: isoDate,
    url: z.string().min(1),
  }),
  /** Days off, as inclusive date ranges in the notice's words (放假调休). A range may start in the previous year. */
  holidays: z.array(z.object({ name: z.string().min(1), from: isoDate, to: isoDate })),
  /** Weekend days that are working days (调休上班). */
  makeUpWorkingDays: z.array(z.object({ date: isoDate, for: z.string().min(1) })),
}) satisfies z.ZodType<YearSchedule>;

export const scheduleDataSchema = z.object({ years: z.array(yearScheduleSchema) }) satisfies z.ZodType<ScheduleData>;
