import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  CalendarConfigError,
  CalendarYearMissingError,
  InstantFormatError,
  calendarReadiness,
  formatShanghai,
  parseInstant,
  type ScheduleData,
} from '../domain/calendar';
import { OFFICIAL_SCHEDULES, createOfficialCalendar as createWorkingCalendar } from '../domain/calendar/official';

// Expected values below are worked out by hand from the State Council notices and the office hours
// (09:00–12:00, 13:30–17:30 = 7 h a day); `at` only turns the written-out instant into epoch ms.
const at = (iso: string): number => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`bad test instant ${iso}`);
  return ms;
};
const H = 3_600_000;
const MIN = 60_000;

const calendar = createWorkingCalendar();

describe('working days from the official schedules', () => {
  it('covers exactly the published years 2021–2026, and no guessed 2027', () => {
    expect(calendar.coveredYears()).toEqual([2021, 2022, 2023, 2024, 2025, 2026]);
  });

  it('when a weekday is an ordinary weekday or a weekend is an ordinary weekend, then it follows the week', () => {
    expect(calendar.isWorkingDay('2026-03-13')).toBe(true); // Friday
    expect(calendar.isWorkingDay('2026-03-14')).toBe(false); // Saturday
    expect(calendar.isWorkingDay('2026-03-15')).toBe(false); // Sunday
    expect(calendar.isWorkingDay('2026-03-16')).toBe(true); // Monday
  });

  // One block per notice: first day off, last day off, the day after, and the make-up days (调休上班).
  it.each([
    // 国办发明电〔2020〕27号
    [
      '2021',
      {
        off: ['2021-01-01', '2021-02-11', '2021-02-17', '2021-10-01', '2021-10-07'],
        on: ['2021-02-07', '2021-02-18', '2021-02-20', '2021-09-18', '2021-09-26', '2021-10-08', '2021-10-09'],
      },
    ],
    // 国办发明电〔2021〕11号
    [
      '2022',
      {
        off: ['2022-01-03', '2022-01-31', '2022-02-04', '2022-04-04', '2022-10-07'],
        on: [
          '2022-01-29',
          '2022-01-30',
          '2022-02-07',
          '2022-04-02',
          '2022-04-24',
          '2022-05-07',
          '2022-10-08',
          '2022-10-09',
        ],
      },
    ],
    // 国办发明电〔2022〕16号 — 元旦 2023 starts on Saturday 2022-12-31
    [
      '2023',
      {
        off: [
          '2022-12-31',
          '2023-01-02',
          '2023-01-21',
          '2023-01-27',
          '2023-04-05',
          '2023-06-22',
          '2023-06-23',
          '2023-09-29',
          '2023-10-06',
        ],
        on: [
          '2023-01-03',
          '2023-01-28',
          '2023-01-29',
          '2023-04-23',
          '2023-05-06',
          '2023-06-25',
          '2023-10-07',
          '2023-10-08',
        ],
      },
    ],
    // 国办发明电〔2023〕7号
    [
      '2024',
      {
        off: [
          '2024-01-01',
          '2024-02-12',
          '2024-02-16',
          '2024-04-04',
          '2024-04-05',
          '2024-06-10',
          '2024-09-16',
          '2024-09-17',
          '2024-10-07',
        ],
        on: [
          '2024-01-02',
          '2024-02-04',
          '2024-02-18',
          '2024-04-07',
          '2024-04-28',
          '2024-05-11',
          '2024-09-14',
          '2024-09-29',
          '2024-10-08',
          '2024-10-12',
        ],
      },
    ],
    // 国办发明电〔2024〕12号
    [
      '2025',
      {
        off: ['2025-01-01', '2025-01-28', '2025-02-04', '2025-05-05', '2025-06-02', '2025-10-01', '2025-10-08'],
        on: [
          '2025-01-02',
          '2025-01-26',
          '2025-02-05',
          '2025-02-08',
          '2025-04-27',
          '2025-09-28',
          '2025-10-09',
          '2025-10-11',
        ],
      },
    ],
    // 国办发明电〔2025〕7号
    [
      '2026',
      {
        off: [
          '2026-01-01',
          '2026-01-02',
          '2026-02-16',
          '2026-02-23',
          '2026-04-06',
          '2026-05-05',
          '2026-06-19',
          '2026-09-25',
          '2026-10-01',
          '2026-10-07',
        ],
        on: [
          '2026-01-04',
          '2026-02-14',
          '2026-02-24',
          '2026-02-28',
          '2026-05-09',
          '2026-09-20',
          '2026-10-08',
          '2026-10-10',
        ],
      },
    ],
  ])('%s matches its State Council notice', (_year, { off, on }) => {
    for (const date of off) expect([date, calendar.isWorkingDay(date)]).toEqual([date, false]);
    for (const date of on) expect([date, calendar.isWorkingDay(date)]).toEqual([date, true]);
  });

  it('carries the notice number and publication date of every year', () => {
    for (const schedule of OFFICIAL_SCHEDULES.years) {
      expect(schedule.notice.number).toMatch(new RegExp(`^国办发明电〔${schedule.year - 1}〕\\d+号$`));
      expect(schedule.notice.publishedOn.startsWith(String(schedule.year - 1))).toBe(true);
    }
  });

  // chinese-days is an independently maintained transcription of the same notices; reading its JSON (not its
  // runtime, which depends on the host time zone) gives a second pair of eyes on every date of every year.
  it('agrees on every date of 2021–2026 with the chinese-days data set', () => {
    const dir = join(__dirname, '..', 'node_modules', 'chinese-days', 'dist', 'years');
    for (let year = 2021; year <= 2026; year++) {
      const theirs = JSON.parse(readFileSync(join(dir, `${year}.json`), 'utf8')) as {
        holidays: Record<string, string>;
        workdays: Record<string, string>;
      };
      for (let t = Date.UTC(year, 0, 1); t < Date.UTC(year + 1, 0, 1); t += 86_400_000) {
        const date = new Date(t).toISOString().slice(0, 10);
        const weekday = new Date(t).getUTCDay();
        const theirWorking = date in theirs.workdays || (weekday >= 1 && weekday <= 5 && !(date in theirs.holidays));
        expect([date, calendar.isWorkingDay(date)]).toEqual([date, theirWorking]);
      }
    }
  });
});

describe('addWorkingTime', () => {
  it('when accepted Friday 16:00 in a normal week with 7 h, then it is due Monday 16:00', () => {
    expect(calendar.addWorkingTime(at('2026-03-13T16:00:00+08:00'), 7 * H)).toBe(at('2026-03-16T16:00:00+08:00'));
  });

  it('when the budget spans lunch, then the lunch break does not count (11:00 + 2 h → 14:30)', () => {
    expect(calendar.addWorkingTime(at('2026-03-16T11:00:00+08:00'), 2 * H)).toBe(at('2026-03-16T14:30:00+08:00'));
  });

  it('when the budget ends exactly at 12:00, then it is due at 12:00, not at 13:30', () => {
    expect(calendar.addWorkingTime(at('2026-03-16T09:00:00+08:00'), 3 * H)).toBe(at('2026-03-16T12:00:00+08:00'));
    expect(calendar.addWorkingTime(at('2026-03-16T11:30:00+08:00'), 30 * MIN)).toBe(at('2026-03-16T12:00:00+08:00'));
  });

  it('when the budget ends exactly at the close, then it is due at 17:30 of that day', () => {
    expect(calendar.addWorkingTime(at('2026-03-16T09:00:00+08:00'), 7 * H)).toBe(at('2026-03-16T17:30:00+08:00'));
  });

  it('when submitted during lunch, then the clock starts at 13:30', () => {
    expect(calendar.addWorkingTime(at('2026-03-16T12:45:00+08:00'), H)).toBe(at('2026-03-16T14:30:00+08:00'));
  });

  it('when submitted at night, then the clock starts at 09:00 of the next working day', () => {
    expect(calendar.addWorkingTime(at('2026-03-17T22:00:00+08:00'), H)).toBe(at('2026-03-18T10:00:00+08:00'));
    // Friday night waits for Monday.
    expect(calendar.addWorkingTime(at('2026-03-13T22:00:00+08:00'), 7 * H)).toBe(at('2026-03-16T17:30:00+08:00'));
    // 00:30 the same morning counts from 09:00 that day.
    expect(calendar.addWorkingTime(at('2026-03-17T00:30:00+08:00'), 4 * H)).toBe(at('2026-03-17T14:30:00+08:00'));
  });

  it('when the submission is given in UTC, then Shanghai office hours still apply', () => {
    // 2026-03-13T08:00Z is Friday 16:00 in Shanghai.
    expect(calendar.addWorkingTime(new Date('2026-03-13T08:00:00Z'), 7 * H)).toBe(at('2026-03-16T08:00:00Z'));
  });

  it('when submitted on a holiday, then the clock waits for the first working day after it', () => {
    // 2026-10-03 is inside 国庆 10/1–10/7; Thursday 10/8 is a working day: 09:00 + 7 h = 17:30.
    expect(calendar.addWorkingTime(at('2026-10-03T10:00:00+08:00'), 7 * H)).toBe(at('2026-10-08T17:30:00+08:00'));
  });

  it('when submitted on the eve of the Spring Festival, then the make-up Saturday counts', () => {
    // Fri 2026-02-13 16:00: 1.5 h that day, then Sat 2/14 (调休上班) 09:00–12:00 and 13:30–16:00.
    expect(calendar.addWorkingTime(at('2026-02-13T16:00:00+08:00'), 7 * H)).toBe(at('2026-02-14T16:00:00+08:00'));
    // 14 h: 1.5 h Fri + 7 h Sat 2/14, holiday 2/15–2/23, then 5.5 h on Tue 2/24 → 16:00.
    expect(calendar.addWorkingTime(at('2026-02-13T16:00:00+08:00'), 14 * H)).toBe(at('2026-02-24T16:00:00+08:00'));
    // Fri 2/27 16:00 → Sat 2/28 is the second make-up day.
    expect(calendar.addWorkingTime(at('2026-02-27T16:00:00+08:00'), 7 * H)).toBe(at('2026-02-28T16:00:00+08:00'));
  });

  it('when submitted on the eve of National Day, then the clock resumes on 10/8', () => {
    // Wed 2026-09-30 16:00: 1.5 h, holiday 10/1–10/7, Thu 10/8 5.5 h → 16:00.
    expect(calendar.addWorkingTime(at('2026-09-30T16:00:00+08:00'), 7 * H)).toBe(at('2026-10-08T16:00:00+08:00'));
    // 2025: holiday 10/1–10/8, so Tue 2025-09-30 16:00 + 7 h → Thu 10/9 16:00.
    expect(calendar.addWorkingTime(at('2025-09-30T16:00:00+08:00'), 7 * H)).toBe(at('2025-10-09T16:00:00+08:00'));
  });

  it('when a make-up Sunday falls in the span, then it counts', () => {
    // 2025-01-26 is a make-up Sunday for 春节: Fri 1/24 16:00 + 7 h → Sun 1/26 16:00.
    expect(calendar.addWorkingTime(at('2025-01-24T16:00:00+08:00'), 7 * H)).toBe(at('2025-01-26T16:00:00+08:00'));
    // Mon 1/27 16:00: holiday 1/28–2/4, so Wed 2/5 16:00.
    expect(calendar.addWorkingTime(at('2025-01-27T16:00:00+08:00'), 7 * H)).toBe(at('2025-02-05T16:00:00+08:00'));
    // 2024-02-04 is a make-up Sunday: Fri 2/2 16:00 + 7 h → Sun 2/4 16:00.
    expect(calendar.addWorkingTime(at('2024-02-02T16:00:00+08:00'), 7 * H)).toBe(at('2024-02-04T16:00:00+08:00'));
  });

  it('when the budget is zero, then the start is the due instant', () => {
    expect(calendar.addWorkingTime(at('2026-03-14T03:00:00+08:00'), 0)).toBe(at('2026-03-14T03:00:00+08:00'));
  });

  it('rejects a negative or fractional budget', () => {
    expect(() => calendar.addWorkingTime(at('2026-03-16T09:00:00+08:00'), -1)).toThrow(RangeError);
    expect(() => calendar.addWorkingTime(at('2026-03-16T09:00:00+08:00'), 0.5)).toThrow(RangeError);
  });
});

describe('workingTimeBetween', () => {
  it('counts only office hours on working days', () => {
    expect(calendar.workingTimeBetween(at('2026-03-13T16:00:00+08:00'), at('2026-03-16T16:00:00+08:00'))).toBe(7 * H);
    expect(calendar.workingTimeBetween(at('2026-03-16T11:00:00+08:00'), at('2026-03-16T14:30:00+08:00'))).toBe(2 * H);
    expect(calendar.workingTimeBetween(at('2026-03-16T12:10:00+08:00'), at('2026-03-16T13:20:00+08:00'))).toBe(0);
    // Whole Spring Festival week: Fri 2/13 full 7 h, Sat 2/14 7 h, nothing 2/15–2/23.
    expect(calendar.workingTimeBetween(at('2026-02-13T00:00:00+08:00'), at('2026-02-24T00:00:00+08:00'))).toBe(14 * H);
  });

  it('is 0 when to is not after from', () => {
    expect(calendar.workingTimeBetween(at('2026-03-16T16:00:00+08:00'), at('2026-03-16T10:00:00+08:00'))).toBe(0);
    expect(calendar.workingTimeBetween(at('2026-03-16T10:00:00+08:00'), at('2026-03-16T10:00:00+08:00'))).toBe(0);
  });

  const start2021 = at('2021-01-01T00:00:00+08:00');
  const end2026 = at('2026-10-01T00:00:00+08:00'); // leaves room for 30 working days before 2027
  const instant = fc.integer({ min: start2021, max: end2026 });

  it('is the inverse of addWorkingTime, and the due instant is the earliest one', () => {
    fc.assert(
      fc.property(instant, fc.integer({ min: 0, max: 30 * 7 * H }), (start, budget) => {
        const due = calendar.addWorkingTime(start, budget);
        expect(calendar.workingTimeBetween(start, due)).toBe(budget);
        if (budget > 0) expect(calendar.workingTimeBetween(start, due - 1)).toBe(budget - 1);
      }),
      { numRuns: 2000 },
    );
  });

  it('adding the working time between two instants never passes the later one', () => {
    fc.assert(
      fc.property(instant, fc.integer({ min: 0, max: 40 * 86_400_000 }), (from, length) => {
        const to = from + length;
        const worked = calendar.workingTimeBetween(from, to);
        const due = calendar.addWorkingTime(from, worked);
        expect(due).toBeLessThanOrEqual(to);
        expect(calendar.workingTimeBetween(from, due)).toBe(worked);
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with counting minute by minute', () => {
    const naive = (from: number, to: number): number => {
      let worked = 0;
      for (let t = from; t < to; t += MIN) if (calendar.isWorkingTime(t)) worked += MIN;
      return worked;
    };
    const minuteInstant = instant.map((ms) => ms - (ms % MIN));
    fc.assert(
      fc.property(minuteInstant, fc.integer({ min: 0, max: 6 * 24 * 60 }), (from, minutes) => {
        expect(calendar.workingTimeBetween(from, from + minutes * MIN)).toBe(naive(from, from + minutes * MIN));
      }),
      { numRuns: 300 },
    );
  });
});

describe('dueNextDayRule (次日起算)', () => {
  it('when accepted Friday, then 1 working day is due Monday 17:30, whatever the hour of acceptance', () => {
    expect(calendar.dueNextDayRule(at('2026-03-13T16:00:00+08:00'), 1)).toBe(at('2026-03-16T17:30:00+08:00'));
    expect(calendar.dueNextDayRule(at('2026-03-13T08:00:00+08:00'), 1)).toBe(at('2026-03-16T17:30:00+08:00'));
    expect(calendar.dueNextDayRule(at('2026-03-13T23:59:00+08:00'), 1)).toBe(at('2026-03-16T17:30:00+08:00'));
  });

  it('differs from the working-time rule for an early acceptance', () => {
    // 08:00 + 7 h of working time is the close of the same day; the next-day rule starts counting on Monday.
    expect(calendar.addWorkingTime(at('2026-03-13T08:00:00+08:00'), 7 * H)).toBe(at('2026-03-13T17:30:00+08:00'));
  });

  it('counts make-up days and skips holidays', () => {
    expect(calendar.dueNextDayRule(at('2026-02-13T10:00:00+08:00'), 1)).toBe(at('2026-02-14T17:30:00+08:00'));
    expect(calendar.dueNextDayRule(at('2026-02-13T10:00:00+08:00'), 2)).toBe(at('2026-02-24T17:30:00+08:00'));
    expect(calendar.dueNextDayRule(at('2026-02-13T10:00:00+08:00'), 3)).toBe(at('2026-02-25T17:30:00+08:00'));
    // Accepted on the make-up Saturday itself: that day does not count.
    expect(calendar.dueNextDayRule(at('2026-02-14T10:00:00+08:00'), 1)).toBe(at('2026-02-24T17:30:00+08:00'));
    // Accepted on 10/1: 10/8 Thu, 10/9 Fri, 10/10 Sat (make-up).
    expect(calendar.dueNextDayRule(at('2026-10-01T10:00:00+08:00'), 3)).toBe(at('2026-10-10T17:30:00+08:00'));
  });

  it('rejects a count that is not a whole number >= 1', () => {
    expect(() => calendar.dueNextDayRule(at('2026-03-13T10:00:00+08:00'), 0)).toThrow(RangeError);
    expect(() => calendar.dueNextDayRule(at('2026-03-13T10:00:00+08:00'), 1.5)).toThrow(RangeError);
  });
});

describe('isWorkingTime', () => {
  it('is true inside office hours of working days only, ends exclusive', () => {
    expect(calendar.isWorkingTime(at('2026-03-16T09:00:00+08:00'))).toBe(true);
    expect(calendar.isWorkingTime(at('2026-03-16T11:59:59+08:00'))).toBe(true);
    expect(calendar.isWorkingTime(at('2026-03-16T12:00:00+08:00'))).toBe(false);
    expect(calendar.isWorkingTime(at('2026-03-16T13:30:00+08:00'))).toBe(true);
    expect(calendar.isWorkingTime(at('2026-03-16T17:30:00+08:00'))).toBe(false);
    expect(calendar.isWorkingTime(at('2026-02-14T10:00:00+08:00'))).toBe(true); // make-up Saturday
    expect(calendar.isWorkingTime(at('2026-10-02T10:00:00+08:00'))).toBe(false); // National Day
  });
});

describe('a year without schedule data', () => {
  const expectMissing = (run: () => unknown, year: number): void => {
    let caught: unknown;
    try {
      run();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CalendarYearMissingError);
    const error = caught as CalendarYearMissingError;
    expect(error.code).toBe('CALENDAR_YEAR_MISSING');
    expect(error.year).toBe(year);
    expect(error.message).toMatch(new RegExp(`^No official holiday schedule for ${year}; add it to `));
  };

  it('when an operation touches 2027, then it fails with CALENDAR_YEAR_MISSING instead of guessing weekends', () => {
    expectMissing(() => calendar.isWorkingDay('2027-01-04'), 2027);
    expectMissing(() => calendar.isWorkingTime(at('2027-03-01T10:00:00+08:00')), 2027);
    // Thu 2026-12-31 16:00: 1.5 h in 2026, the rest would need 2027.
    expectMissing(() => calendar.addWorkingTime(at('2026-12-31T16:00:00+08:00'), 7 * H), 2027);
    expectMissing(
      () => calendar.workingTimeBetween(at('2026-12-31T10:00:00+08:00'), at('2027-01-05T10:00:00+08:00')),
      2027,
    );
    expectMissing(() => calendar.dueNextDayRule(at('2026-12-31T10:00:00+08:00'), 1), 2027);
    expectMissing(() => calendar.isWorkingDay('2020-12-31'), 2020);
  });

  it('when the due instant stays inside the covered year, then nothing fails', () => {
    expect(calendar.addWorkingTime(at('2026-12-31T16:00:00+08:00'), H)).toBe(at('2026-12-31T17:00:00+08:00'));
  });

  it('when a year is missing between two covered years, then crossing it fails', () => {
    const gappy = createWorkingCalendar({
      schedules: { years: OFFICIAL_SCHEDULES.years.filter((y) => y.year === 2024 || y.year === 2026) },
    });
    expect(gappy.coveredYears()).toEqual([2024, 2026]);
    expectMissing(() => gappy.addWorkingTime(at('2024-12-31T16:00:00+08:00'), 7 * H), 2025);
    expectMissing(
      () => gappy.workingTimeBetween(at('2024-12-01T10:00:00+08:00'), at('2026-01-05T10:00:00+08:00')),
      2025,
    );
    expect(gappy.isWorkingDay('2026-02-14')).toBe(true);
  });
});

describe('configurable office hours', () => {
  it('counts up to a due instant at 24:00 on the last day the data hold (31 December), without the next year', () => {
    const roundTheClock = createWorkingCalendar({ officeHours: [{ start: '00:00', end: '24:00' }] });
    const from = at('2026-12-31T10:00:00+08:00');
    const due = roundTheClock.addWorkingTime(from, 14 * H);
    expect(due).toBe(at('2027-01-01T00:00:00+08:00'));
    expect(roundTheClock.workingTimeBetween(from, due)).toBe(14 * H);
    // The close of office of 31 December under the next-day rule, counted from the day before.
    expect(roundTheClock.dueNextDayRule(at('2026-12-30T10:00:00+08:00'), 1)).toBe(due);
    expect(roundTheClock.workingTimeBetween(at('2026-12-30T10:00:00+08:00'), due)).toBe(38 * H);
    // An interval that really reaches into 2027 still needs its data.
    expect(() => roundTheClock.workingTimeBetween(from, at('2027-01-01T00:00:01+08:00'))).toThrow(/2027/);
  });

  it('uses the configured periods for due instants and the close of office', () => {
    const longDay = createWorkingCalendar({ officeHours: [{ start: '08:30', end: '17:00' }] });
    expect(longDay.workingDayMs).toBe(8.5 * H);
    expect(longDay.addWorkingTime(at('2026-03-13T16:00:00+08:00'), 8.5 * H)).toBe(at('2026-03-16T16:00:00+08:00'));
    expect(longDay.dueNextDayRule(at('2026-03-13T16:00:00+08:00'), 1)).toBe(at('2026-03-16T17:00:00+08:00'));

    const threePeriods = createWorkingCalendar({
      officeHours: [
        { start: '08:00', end: '10:00' },
        { start: '10:30', end: '12:00' },
        { start: '14:00', end: '18:00' },
      ],
    });
    // 09:00 → 1 h to 10:00, 1.5 h to 12:00, then 0.5 h from 14:00.
    expect(threePeriods.addWorkingTime(at('2026-03-16T09:00:00+08:00'), 3 * H)).toBe(at('2026-03-16T14:30:00+08:00'));
    expect(threePeriods.addWorkingTime(at('2026-03-16T09:00:00+08:00'), 1 * H)).toBe(at('2026-03-16T10:00:00+08:00'));
  });

  it.each([
    [[], 'officeHours'],
    [[{ start: '9:00', end: '12:00' }], 'officeHours.0.start'],
    [[{ start: '12:00', end: '09:00' }], 'officeHours.0'],
    [
      [
        { start: '09:00', end: '12:00' },
        { start: '11:00', end: '17:00' },
      ],
      'officeHours.1',
    ],
  ])('rejects office hours %j, naming %s', (officeHours, field) => {
    expect(() => createWorkingCalendar({ officeHours })).toThrow(CalendarConfigError);
    expect(() => createWorkingCalendar({ officeHours })).toThrow(expect.objectContaining({ field }));
  });
});

describe('schedule data as a plain value', () => {
  it('builds the same calendar from a JSON round trip (as received from an activity)', () => {
    const received = JSON.parse(JSON.stringify(OFFICIAL_SCHEDULES)) as ScheduleData;
    const rebuilt = createWorkingCalendar({ schedules: received });
    expect(rebuilt.addWorkingTime(at('2026-02-13T16:00:00+08:00'), 7 * H)).toBe(at('2026-02-14T16:00:00+08:00'));
  });

  const year2026 = OFFICIAL_SCHEDULES.years.find((y) => y.year === 2026)!;
  it.each([
    ['a make-up day on a weekday', { ...year2026, makeUpWorkingDays: [{ date: '2026-03-16', for: 'x' }] }],
    ['a reversed range', { ...year2026, holidays: [{ name: 'x', from: '2026-10-07', to: '2026-10-01' }] }],
    ['a date that does not exist', { ...year2026, holidays: [{ name: 'x', from: '2026-02-30', to: '2026-03-01' }] }],
    [
      'a make-up day that is also a holiday',
      { ...year2026, holidays: [{ name: 'x', from: '2026-02-14', to: '2026-02-14' }] },
    ],
  ])('rejects %s', (_what, bad) => {
    expect(() => createWorkingCalendar({ schedules: { years: [bad] } })).toThrow(CalendarConfigError);
  });

  it('rejects a year listed twice and an empty list', () => {
    expect(() => createWorkingCalendar({ schedules: { years: [year2026, year2026] } })).toThrow(CalendarConfigError);
    expect(() => createWorkingCalendar({ schedules: { years: [] } })).toThrow(CalendarConfigError);
  });
});

describe('calendarReadiness', () => {
  it('is ready without issues in the middle of a covered year', () => {
    expect(calendarReadiness(calendar, at('2026-06-01T12:00:00+08:00'))).toEqual({
      ready: true,
      currentYear: 2026,
      coveredYears: [2021, 2022, 2023, 2024, 2025, 2026],
      issues: [],
    });
    expect(calendarReadiness(calendar, at('2026-11-30T23:59:00+08:00')).issues).toEqual([]);
  });

  it('warns in December when next year is missing', () => {
    const readiness = calendarReadiness(calendar, at('2026-12-01T00:00:00+08:00'));
    expect(readiness.ready).toBe(true);
    expect(readiness.issues).toEqual([
      expect.objectContaining({ level: 'warning', code: 'CALENDAR_NEXT_YEAR_MISSING', year: 2027 }),
    ]);
    expect(readiness.issues[0]?.message).toMatch(/schedule for next year \(2027\) is missing, 31 day/);
  });

  it('warns earlier when configured to', () => {
    const readiness = calendarReadiness(calendar, at('2026-11-15T10:00:00+08:00'), { warnDaysBeforeYearEnd: 60 });
    expect(readiness.issues.map((i) => i.code)).toEqual(['CALENDAR_NEXT_YEAR_MISSING']);
  });

  it('uses the Shanghai date: 31 Dec 16:30 UTC is already 1 January in Shanghai', () => {
    const readiness = calendarReadiness(calendar, at('2026-12-31T16:30:00Z'));
    expect(readiness.currentYear).toBe(2027);
    expect(readiness.ready).toBe(false);
  });

  it('is an error when the current year is missing', () => {
    const readiness = calendarReadiness(calendar, at('2027-01-10T10:00:00+08:00'));
    expect(readiness.ready).toBe(false);
    expect(readiness.issues).toEqual([
      expect.objectContaining({ level: 'error', code: 'CALENDAR_YEAR_MISSING', year: 2027 }),
    ]);
  });
});

describe('formatShanghai and parseInstant', () => {
  it('formats in +08:00, with milliseconds only when present', () => {
    expect(formatShanghai(at('2026-02-13T08:00:00Z'))).toBe('2026-02-13T16:00:00+08:00');
    expect(formatShanghai(new Date('2026-12-31T16:30:00.250Z'))).toBe('2027-01-01T00:30:00.250+08:00');
  });

  it.each([
    ['2026-02-13T16:00:00+08:00', '2026-02-13T08:00:00.000Z'],
    ['2026-02-13T08:00:00Z', '2026-02-13T08:00:00.000Z'],
    ['2026-02-13T03:00-05:00', '2026-02-13T08:00:00.000Z'],
    ['2026-02-13T16:00:00.5+0800', '2026-02-13T08:00:00.500Z'],
    ['2024-02-29T23:59:59.999999+08:00', '2024-02-29T15:59:59.999Z'],
  ])('parses %s', (text, utc) => {
    expect(new Date(parseInstant(text)).toISOString()).toBe(utc);
  });

  it.each([
    ['2026-02-13T16:00:00', /without an offset/],
    ['2026-02-13', /date alone/],
    ['2026-02-13T16:00:00 08:00', /%2B/],
    ['2026-02-30T10:00:00Z', /no such date/],
    ['2026-02-13T24:00:00Z', /no such time/],
    ['tomorrow', /expected YYYY-MM-DD/],
  ])('rejects %s with a clear message', (text, message) => {
    expect(() => parseInstant(text)).toThrow(InstantFormatError);
    expect(() => parseInstant(text)).toThrow(message);
  });

  it('rejects a malformed date in isWorkingDay', () => {
    expect(() => calendar.isWorkingDay('2026-2-14')).toThrow(InstantFormatError);
  });
});

describe('independence from the host', () => {
  it('gives the same answers whatever the process time zone', () => {
    const saved = process.env.TZ;
    try {
      process.env.TZ = 'America/New_York';
      const elsewhere = createWorkingCalendar();
      expect(elsewhere.isWorkingDay('2026-03-14')).toBe(false);
      expect(elsewhere.addWorkingTime(at('2026-02-13T16:00:00+08:00'), 7 * H)).toBe(at('2026-02-14T16:00:00+08:00'));
      expect(formatShanghai(at('2026-02-13T16:00:00+08:00'))).toBe('2026-02-13T16:00:00+08:00');
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});
