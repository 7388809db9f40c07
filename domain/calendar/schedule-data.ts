/**
 * The shape of the official holiday schedules: plain JSON-safe data, so the workflow side can receive it as an
 * activity result and build the same calendar from it.
 */
import { z } from 'zod';
import { CalendarConfigError } from './errors';
import { tryParseIsoDate, weekdayOfDayNumber, yearOfDayNumber } from './time';

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
});

export const scheduleDataSchema = z.object({ years: z.array(yearScheduleSchema) });

export type YearSchedule = z.infer<typeof yearScheduleSchema>;
export type ScheduleData = z.infer<typeof scheduleDataSchema>;

/** Day numbers of the days off and the make-up working days of every schedule, after checking the data. */
export interface ScheduleIndex {
  years: number[];
  daysOff: Set<number>;
  makeUpWorkingDays: Set<number>;
}

/** Validates the data (structure and meaning) and indexes it; throws CalendarConfigError naming the bad field. */
export function indexSchedules(data: unknown): ScheduleIndex {
  const parsed = scheduleDataSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CalendarConfigError(`schedules.${issue?.path.join('.') ?? ''}`, issue?.message ?? 'invalid');
  }
  const years: number[] = [];
  const daysOff = new Set<number>();
  const makeUpWorkingDays = new Set<number>();
  parsed.data.years.forEach((schedule, i) => {
    const where = `schedules.years.${i}`;
    if (years.includes(schedule.year))
      throw new CalendarConfigError(`${where}.year`, `${schedule.year} is listed twice`);
    years.push(schedule.year);
    const date = (text: string, field: string): number => {
      const dayNumber = tryParseIsoDate(text);
      if (dayNumber === undefined) throw new CalendarConfigError(field, `'${text}' is not a real date`);
      // 元旦 of year Y may start on 31 December of Y-1 (as in 2023); nothing reaches further.
      if (Math.abs(yearOfDayNumber(dayNumber) - schedule.year) > 1) {
        throw new CalendarConfigError(field, `${text} is too far from ${schedule.year}`);
      }
      return dayNumber;
    };
    if (tryParseIsoDate(schedule.notice.publishedOn) === undefined) {
      throw new CalendarConfigError(
        `${where}.notice.publishedOn`,
        `'${schedule.notice.publishedOn}' is not a real date`,
      );
    }
    schedule.holidays.forEach((range, j) => {
      const from = date(range.from, `${where}.holidays.${j}.from`);
      const to = date(range.to, `${where}.holidays.${j}.to`);
      if (to < from) throw new CalendarConfigError(`${where}.holidays.${j}`, `${range.to} is before ${range.from}`);
      for (let day = from; day <= to; day++) daysOff.add(day);
    });
    schedule.makeUpWorkingDays.forEach((makeUp, j) => {
      const field = `${where}.makeUpWorkingDays.${j}.date`;
      const day = date(makeUp.date, field);
      const weekday = weekdayOfDayNumber(day);
      if (weekday !== 0 && weekday !== 6) throw new CalendarConfigError(field, `${makeUp.date} is not a weekend day`);
      makeUpWorkingDays.add(day);
    });
  });
  for (const day of makeUpWorkingDays) {
    if (daysOff.has(day))
      throw new CalendarConfigError('schedules', 'a date is both a holiday and a make-up working day');
  }
  return { years: years.sort((a, b) => a - b), daysOff, makeUpWorkingDays };
}
