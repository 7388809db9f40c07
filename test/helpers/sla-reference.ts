/**
 * A deliberately naive working-time calendar for the SLA tests, written from the rules of PRODUCT.md and not from
 * domain/calendar: walk the days one by one, and inside each working day its office periods one by one. Slow and
 * obvious, so that the tests compare the implementation with the rules, not with itself.
 */
const H = 3_600_000;
const DAY = 24 * H;
const SHANGHAI = 8 * H;

export interface ReferenceRules {
  /** Days off 'YYYY-MM-DD' (holidays, including the weekend days inside them). */
  daysOff: readonly string[];
  /** Weekend days that are working days. */
  makeUpDays: readonly string[];
  /** Office periods as [start, end) minutes after midnight, Shanghai wall clock. */
  periods?: ReadonlyArray<readonly [number, number]>;
}

export const DEFAULT_PERIODS = [
  [9 * 60, 12 * 60],
  [13 * 60 + 30, 17 * 60 + 30],
] as const;

export interface ReferenceCalendar {
  isWorkingDay(date: string): boolean;
  /** The earliest instant at which `ms` working ms have passed since `from`. */
  add(from: number, ms: number): number;
  between(from: number, to: number): number;
}

/** 'YYYY-MM-DD' of the Shanghai day containing the instant. */
export function shanghaiDate(instant: number): string {
  return new Date(instant + SHANGHAI).toISOString().slice(0, 10);
}

export function referenceCalendar(rules: ReferenceRules): ReferenceCalendar {
  const periods = rules.periods ?? DEFAULT_PERIODS;
  const off = new Set(rules.daysOff);
  const on = new Set(rules.makeUpDays);
  const isWorkingDay = (date: string) => {
    if (on.has(date)) return true;
    if (off.has(date)) return false;
    const weekday = new Date(`${date}T00:00:00Z`).getUTCDay();
    return weekday >= 1 && weekday <= 5;
  };
  /** Shanghai midnight (epoch ms) of the day containing the instant. */
  const midnight = (instant: number) => Date.parse(`${shanghaiDate(instant)}T00:00:00+08:00`);
  const periodsOf = (dayStart: number): Array<[number, number]> =>
    isWorkingDay(shanghaiDate(dayStart)) ? periods.map(([a, b]) => [dayStart + a * 60_000, dayStart + b * 60_000]) : [];

  return {
    isWorkingDay,
    add(from, ms) {
      let remaining = ms;
      if (remaining === 0) return from;
      for (let day = midnight(from); ; day += DAY) {
        for (const [a, b] of periodsOf(day)) {
          const start = Math.max(a, from);
          if (start >= b) continue;
          if (remaining <= b - start) return start + remaining;
          remaining -= b - start;
        }
      }
    },
    between(from, to) {
      let total = 0;
      for (let day = midnight(from); day < to; day += DAY) {
        for (const [a, b] of periodsOf(day)) total += Math.max(0, Math.min(b, to) - Math.max(a, from));
      }
      return total;
    },
  };
}

/**
 * The 2026 State Council notice (国办发明电〔2025〕7号), transcribed again by hand for the tests: 2037 has the
 * same calendar as 2026 (1 January on a Thursday, neither a leap year), so `shiftYear` replays it in a year far
 * enough ahead for the time-skipping server, which can only move forward from today.
 */
export const RULES_2026 = {
  daysOff: [
    ...range('2026-01-01', '2026-01-03'),
    ...range('2026-02-15', '2026-02-23'),
    ...range('2026-04-04', '2026-04-06'),
    ...range('2026-05-01', '2026-05-05'),
    ...range('2026-06-19', '2026-06-21'),
    ...range('2026-09-25', '2026-09-27'),
    ...range('2026-10-01', '2026-10-07'),
  ],
  makeUpDays: ['2026-01-04', '2026-02-14', '2026-02-28', '2026-05-09', '2026-09-20', '2026-10-10'],
};

export function shiftYear(rules: ReferenceRules, from: number, to: number): ReferenceRules {
  const shift = (d: string) => (d.startsWith(`${from}-`) ? `${to}${d.slice(4)}` : d);
  return { ...rules, daysOff: rules.daysOff.map(shift), makeUpDays: rules.makeUpDays.map(shift) };
}

function range(from: string, to: string): string[] {
  const days: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += DAY)
    days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}
