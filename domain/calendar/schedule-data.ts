/**
 * The shape of the official holiday schedules: plain JSON-safe data, so the workflow side can receive it as an
 * activity result and build the same calendar from it.
 */
import { CalendarConfigError } from './errors';
import { tryParseIsoDate, weekdayOfDayNumber, yearOfDayNumber } from './time';

/**
 * One year of an official schedule. Types written out rather than inferred from zod: the workflow bundle imports
 * this module and carries no zod. The zod schemas of the same shape (for configuration files) are in
 * schedule-schema.ts.
 */
export type YearSchedule = {
  /** The year the notice arranges. */
  year: number;
  /** The State Council General Office notice the data was copied from. */
  notice: {
    /** e.g. 国办发明电〔2025〕7号 */
    number: string;
    title: string;
    /** YYYY-MM-DD */
    publishedOn: string;
    url: string;
  };
  /** Days off, as inclusive date ranges in the notice's words (放假调休). A range may start in the previous year. */
  holidays: { name: string; from: string; to: string }[];
  /** Weekend days that are working days (调休上班). */
  makeUpWorkingDays: { date: string; for: string }[];
};

export type ScheduleData = { years: YearSchedule[] };

// ---- structure, checked by hand (the same rules as schedule-schema.ts) -------------------------

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

function invalid(field: string, message: string): never {
  throw new CalendarConfigError(field, message);
}

function record(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(field, 'expected an object');
  return value as Record<string, unknown>;
}

function list(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) invalid(field, 'expected an array');
  return value;
}

function text(value: unknown, field: string): void {
  if (typeof value !== 'string' || value.length === 0) invalid(field, 'expected a non-empty string');
}

function isoDate(value: unknown, field: string): void {
  if (typeof value !== 'string' || !ISO_DATE.test(value)) invalid(field, 'expected a date YYYY-MM-DD');
}

/** Throws CalendarConfigError naming the first field (in data order) that does not have the ScheduleData shape. */
function checkShape(data: unknown): ScheduleData {
  list(record(data, 'schedules').years, 'schedules.years').forEach((entry, i) => {
    const where = `schedules.years.${i}`;
    const schedule = record(entry, where);
    const year = schedule.year;
    if (typeof year !== 'number' || !Number.isSafeInteger(year) || year < 1991 || year > 9999) {
      invalid(`${where}.year`, 'expected a whole number from 1991 to 9999');
    }
    const notice = record(schedule.notice, `${where}.notice`);
    text(notice.number, `${where}.notice.number`);
    text(notice.title, `${where}.notice.title`);
    isoDate(notice.publishedOn, `${where}.notice.publishedOn`);
    text(notice.url, `${where}.notice.url`);
    list(schedule.holidays, `${where}.holidays`).forEach((item, j) => {
      const range = record(item, `${where}.holidays.${j}`);
      text(range.name, `${where}.holidays.${j}.name`);
      isoDate(range.from, `${where}.holidays.${j}.from`);
      isoDate(range.to, `${where}.holidays.${j}.to`);
    });
    list(schedule.makeUpWorkingDays, `${where}.makeUpWorkingDays`).forEach((item, j) => {
      const makeUp = record(item, `${where}.makeUpWorkingDays.${j}`);
      isoDate(makeUp.date, `${where}.makeUpWorkingDays.${j}.date`);
      text(makeUp.for, `${where}.makeUpWorkingDays.${j}.for`);
    });
  });
  return data as ScheduleData;
}

/** Day numbers of the days off and the make-up working days of every schedule, after checking the data. */
export interface ScheduleIndex {
  years: number[];
  daysOff: Set<number>;
  makeUpWorkingDays: Set<number>;
}

/** Validates the data (structure and meaning) and indexes it; throws CalendarConfigError naming the bad field. */
export function indexSchedules(data: unknown): ScheduleIndex {
  const checked = checkShape(data);
  const years: number[] = [];
  const daysOff = new Set<number>();
  const makeUpWorkingDays = new Set<number>();
  checked.years.forEach((schedule, i) => {
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
