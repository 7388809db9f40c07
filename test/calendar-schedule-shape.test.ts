/**
 * createWorkingCalendar checks the shape of schedule data by hand (domain/calendar/schedule-data.ts: the workflow
 * bundle carries no zod); configuration files are parsed with the zod schema (schedule-schema.ts). Both must accept
 * and reject the same data, and name the same field.
 */
import { CalendarConfigError, type ScheduleData } from '../domain/calendar';
import { OFFICIAL_SCHEDULES } from '../domain/calendar/official';
import { indexSchedules } from '../domain/calendar/schedule-data';
import { scheduleDataSchema } from '../domain/calendar/schedule-schema';

const year2026 = OFFICIAL_SCHEDULES.years.find((y) => y.year === 2026)!;
const withYear = (change: Record<string, unknown>): unknown => ({ years: [{ ...year2026, ...change }] });
const withNotice = (change: Record<string, unknown>): unknown =>
  withYear({ notice: { ...year2026.notice, ...change } });

describe('schedule data shape: the hand check agrees with the zod schema', () => {
  it('accepts the shipped data and its JSON round trip', () => {
    const received = JSON.parse(JSON.stringify(OFFICIAL_SCHEDULES)) as ScheduleData;
    expect(scheduleDataSchema.safeParse(received).success).toBe(true);
    expect(indexSchedules(received).years).toEqual([2021, 2022, 2023, 2024, 2025, 2026]);
  });

  it.each<[string, unknown]>([
    ['no data', null],
    ['a list instead of an object', []],
    ['no years', {}],
    ['years not a list', { years: {} }],
    ['a year that is not an object', { years: ['2026'] }],
    ['a year as text', withYear({ year: '2026' })],
    ['a fractional year', withYear({ year: 2026.5 })],
    ['a year before 1991', withYear({ year: 1990 })],
    ['no notice', withYear({ notice: undefined })],
    ['an empty notice number', withNotice({ number: '' })],
    ['no notice title', withNotice({ title: undefined })],
    ['a publication date in another format', withNotice({ publishedOn: '2025/11/04' })],
    ['a notice url that is not text', withNotice({ url: 42 })],
    ['holidays not a list', withYear({ holidays: 'none' })],
    ['a holiday without a name', withYear({ holidays: [{ from: '2026-10-01', to: '2026-10-07' }] })],
    ['a holiday date as a number', withYear({ holidays: [{ name: 'x', from: 20261001, to: '2026-10-07' }] })],
    ['no make-up days', withYear({ makeUpWorkingDays: undefined })],
    ['a make-up day for nothing', withYear({ makeUpWorkingDays: [{ date: '2026-02-14', for: '' }] })],
    ['a make-up date with a time', withYear({ makeUpWorkingDays: [{ date: '2026-02-14T09:00', for: 'x' }] })],
  ])('rejects %s, naming the field zod names', (_what, data) => {
    const parsed = scheduleDataSchema.safeParse(data);
    expect(parsed.success).toBe(false);
    const field = ['schedules', ...(parsed.error?.issues[0]?.path ?? [])].join('.');
    expect(() => indexSchedules(data)).toThrow(CalendarConfigError);
    expect(() => indexSchedules(data)).toThrow(expect.objectContaining({ field }));
  });
});
