/**
 * The SLA's pure parts (domain/sla.ts): budgets and their statutory limits, levels, and the pausable clock, checked
 * against a naive calendar written from the rules (test/helpers/sla-reference.ts), never against itself.
 */
import fc from 'fast-check';
import { createWorkingCalendar, formatShanghai } from '../domain/calendar';
import { OFFICIAL_SCHEDULES } from '../domain/calendar/official';
import {
  countedWorkingTime,
  criticalPath,
  DEFAULT_SLA_BUDGETS,
  effectiveBudgetMs,
  instantWhenCounted,
  levelFor,
  refreshSla,
  resolveBudgets,
  scopeStatus,
  statutoryLabel,
  thresholdMs,
  type ApplicationSla,
  type PauseInterval,
  type SlaScopeStatus,
} from '../domain/sla';
import { slaBudgetsOverrideSchema } from '../domain/sla-config';
import { referenceCalendar, RULES_2026 } from './helpers/sla-reference';

const H = 3_600_000;
const MIN = 60_000;
const at = (text: string) => Date.parse(text);
const calendar = createWorkingCalendar({ schedules: OFFICIAL_SCHEDULES });
const reference = referenceCalendar(RULES_2026);

describe('budgets', () => {
  it('carries the committed budgets and statutory limits of PRODUCT.md', () => {
    const table = Object.fromEntries(
      Object.entries(DEFAULT_SLA_BUDGETS).map(([scope, b]) => [scope, [b.committedHours, statutoryLabel(b.statutory)]]),
    );
    expect(table).toEqual({
      application: [7, 'none'],
      name: [0.5, 'immediate (即时办结)'],
      license: [3, '3 working days'],
      seal: [2, '1 working day'],
      tax: [2, '2 working days'],
      social: [1, '15 working days'],
      fund: [1, '30 days'],
      bank: [1, '1 working day'],
      archive: [0.5, 'none'],
    });
  });

  it('the critical path name → license → seal → bank → archive uses exactly the 7 hours of the promise', () => {
    expect(criticalPath(DEFAULT_SLA_BUDGETS)).toEqual({
      hours: 7,
      steps: ['name', 'license', 'seal', 'bank', 'archive'],
    });
  });

  it('when SLA_BUDGETS changes some scopes, then the others keep their defaults', () => {
    const override = slaBudgetsOverrideSchema.parse({
      license: 2.5,
      fund: { statutory: { workingDays: 20 } },
      application: { committedHours: 8 },
    });
    const budgets = resolveBudgets(override);
    expect(budgets.license).toEqual({ ...DEFAULT_SLA_BUDGETS.license, committedHours: 2.5 });
    expect(budgets.fund).toEqual({
      committedHours: 1,
      statutory: { kind: 'working_days', value: 20 },
      basis: undefined,
    });
    expect(budgets.application.committedHours).toBe(8);
    expect(budgets.seal).toEqual(DEFAULT_SLA_BUDGETS.seal);
    expect(criticalPath(budgets)).toMatchObject({ hours: 6.5 });
  });

  it('rejects unknown scopes, zero and negative hours', () => {
    expect(slaBudgetsOverrideSchema.safeParse({ lisence: 2 }).success).toBe(false);
    expect(slaBudgetsOverrideSchema.safeParse({ license: 0 }).success).toBe(false);
    expect(slaBudgetsOverrideSchema.safeParse({ license: { committedHours: -1 } }).success).toBe(false);
  });
});

describe('levels', () => {
  it('is a warning from exactly 75 % of the budget and breached from exactly 100 %', () => {
    const budget = 7 * H;
    expect(thresholdMs(budget, 'warning')).toBe(5.25 * H);
    expect(levelFor(5.25 * H - 1, budget)).toBe('on_track');
    expect(levelFor(5.25 * H, budget)).toBe('warning');
    expect(levelFor(7 * H - 1, budget)).toBe('warning');
    expect(levelFor(7 * H, budget)).toBe('breached');
  });

  it("rounds an odd budget's 75 % up to a whole millisecond, so the warning is never early", () => {
    expect(thresholdMs(1001, 'warning')).toBe(751);
    expect(levelFor(750, 1001)).toBe('on_track');
  });
});

describe('the pausable clock', () => {
  it('when accepted on Friday 2026-02-13 16:00 (the eve of the Spring Festival), then 7 h are due on the make-up Saturday at 16:00', () => {
    // By hand: 1.5 h on Friday (16:00–17:30); Saturday 2/14 is a make-up working day: 3 h in the morning (4.5 h),
    // 2.5 h from 13:30 → 16:00. The 75 % (5.25 h): 0.75 h after 13:30 → 14:15.
    const start = at('2026-02-13T16:00:00+08:00');
    expect(formatShanghai(instantWhenCounted(calendar, start, [], 7 * H, start))).toBe('2026-02-14T16:00:00+08:00');
    expect(formatShanghai(instantWhenCounted(calendar, start, [], thresholdMs(7 * H, 'warning'), start))).toBe(
      '2026-02-14T14:15:00+08:00',
    );
  });

  it('when the application waits on the applicant, then no working time counts and the deadline moves by exactly the paused working time', () => {
    const start = at('2026-03-02T10:00:00+08:00'); // Monday
    const pause = { from: at('2026-03-02T11:00:00+08:00'), to: at('2026-03-03T14:00:00+08:00') };
    // By hand: the pause holds 1 h + 4 h (Monday) + 3 h + 0.5 h (Tuesday) = 8.5 h of working time.
    expect(reference.between(pause.from, pause.to)).toBe(8.5 * H);
    const due = instantWhenCounted(calendar, start, [pause], 7 * H, pause.to);
    expect(due).toBe(reference.add(reference.add(start, 7 * H), 8.5 * H));
    // 1 h counted before the pause; 6 h left from Tuesday 14:00: 3.5 h that day, 2.5 h on Wednesday morning.
    expect(formatShanghai(due)).toBe('2026-03-04T11:30:00+08:00');
    expect(countedWorkingTime(calendar, { startedAt: start }, [pause], at('2026-03-03T15:00:00+08:00'))).toBe(2 * H);
  });

  it('while paused, shows the deadline as if resumed now', () => {
    const start = at('2026-03-02T10:00:00+08:00');
    const open: PauseInterval[] = [{ from: at('2026-03-02T11:00:00+08:00') }];
    const now = at('2026-03-02T15:00:00+08:00');
    const status = scopeStatus(calendar, {
      scope: 'application',
      budget: DEFAULT_SLA_BUDGETS.application,
      effectiveBudgetMs: 7 * H,
      rule: 'working-time',
      span: { startedAt: start },
      pauses: open,
      at: now,
    });
    expect(status).toMatchObject({
      clock: 'paused',
      elapsedWorkingMs: H,
      pausedWorkingMs: 2.5 * H,
      consumedFraction: 0.1429,
      level: 'on_track',
    });
    // 6 h left from 15:00 Monday: 2.5 h that day, then 3.5 h on Tuesday → 13:30 + 0.5 h.
    expect(status.dueAt).toBe('2026-03-03T14:00:00+08:00');
  });

  it('a stopped clock keeps the deadlines it had when it stopped: a pause begun later does not move them', () => {
    // The name reserved 09:00–09:05 (0.5 h budget); a correction asked at 09:20 pauses the application until 11:00.
    const status = scopeStatus(calendar, {
      scope: 'name',
      budget: DEFAULT_SLA_BUDGETS.name,
      effectiveBudgetMs: 0.5 * H,
      rule: 'working-time',
      span: { startedAt: at('2026-03-16T09:00:00+08:00'), stoppedAt: at('2026-03-16T09:05:00+08:00') },
      pauses: [{ from: at('2026-03-16T09:20:00+08:00'), to: at('2026-03-16T11:00:00+08:00') }],
      at: at('2026-03-16T12:00:00+08:00'),
    });
    expect(status).toMatchObject({ clock: 'stopped', elapsedWorkingMs: 5 * MIN, pausedWorkingMs: 0 });
    // They were 11:10 and 11:02:30: the step's deadlines moved with a pause that began after it was done.
    expect(status.dueAt).toBe('2026-03-16T09:30:00+08:00');
    expect(status.warningAt).toBe('2026-03-16T09:22:30+08:00');

    // A clock stopped during a pause (the application withdrawn while it waited on the applicant) keeps the deadline
    // it showed then: as if resumed at the stop.
    const withdrawn = scopeStatus(calendar, {
      scope: 'application',
      budget: DEFAULT_SLA_BUDGETS.application,
      effectiveBudgetMs: 7 * H,
      rule: 'working-time',
      span: { startedAt: at('2026-03-16T09:00:00+08:00'), stoppedAt: at('2026-03-16T15:00:00+08:00') },
      pauses: [{ from: at('2026-03-16T10:00:00+08:00') }],
      at: at('2026-03-17T10:00:00+08:00'),
    });
    expect(withdrawn).toMatchObject({ clock: 'stopped', elapsedWorkingMs: H });
    // 6 h left at 15:00 Monday: 2.5 h that day, 3.5 h on Tuesday → 14:00.
    expect(withdrawn.dueAt).toBe('2026-03-17T14:00:00+08:00');
  });

  it('a pause after a level was reached does not move the instant it was reached', () => {
    const start = at('2026-03-02T09:00:00+08:00');
    const pause = { from: at('2026-03-02T17:00:00+08:00'), to: at('2026-03-03T12:00:00+08:00') };
    // 6.5 h counted by 17:00 Monday: the 75 % (5.25 h) were reached at 15:45, before the pause.
    expect(formatShanghai(instantWhenCounted(calendar, start, [pause], thresholdMs(7 * H, 'warning'), pause.to))).toBe(
      '2026-03-02T15:45:00+08:00',
    );
    // The last 0.5 h waits for the end of the pause: 13:30 + 0.5 h on Tuesday.
    expect(formatShanghai(instantWhenCounted(calendar, start, [pause], 7 * H, pause.to))).toBe(
      '2026-03-03T14:00:00+08:00',
    );
  });

  it('for any start, pauses and budget, the instant is the earliest at which the counted time reaches the budget', () => {
    const base = at('2026-03-01T00:00:00+08:00');
    const minute = fc.integer({ min: 0, max: 60 * 24 * 60 });
    fc.assert(
      fc.property(
        minute,
        fc.array(fc.tuple(minute, fc.integer({ min: 1, max: 5 * 24 * 60 })), { maxLength: 3 }),
        fc.integer({ min: 1, max: 40 * 60 }),
        (s, raw, budgetMinutes) => {
          const start = base + s * MIN;
          const pauses: PauseInterval[] = [];
          let cursor = start;
          for (const [gap, length] of raw) {
            const from = cursor + (gap % (3 * 24 * 60)) * MIN;
            pauses.push({ from, to: from + length * MIN });
            cursor = from + length * MIN + MIN;
          }
          const target = budgetMinutes * MIN;
          const due = instantWhenCounted(calendar, start, pauses, target, cursor);
          const counted = (t: number) =>
            reference.between(start, t) -
            pauses.reduce(
              (sum, p) =>
                sum +
                (Math.min(p.to!, t) > Math.max(p.from, start)
                  ? reference.between(Math.max(p.from, start), Math.min(p.to!, t))
                  : 0),
              0,
            );
          expect(counted(due)).toBe(target);
          expect(counted(due - MIN)).toBeLessThan(target);
          expect(countedWorkingTime(calendar, { startedAt: start }, pauses, due)).toBe(target);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('counting rules', () => {
  it('次日起算: accepted Friday 2026-02-13 16:00 is due at the close of the next working day, the make-up Saturday, 17:30', () => {
    const start = at('2026-02-13T16:00:00+08:00');
    const budget = effectiveBudgetMs(calendar, 'application', 'next-day', start, DEFAULT_SLA_BUDGETS.application);
    expect(budget).toBe(8.5 * H); // 1.5 h on Friday + 7 h on Saturday
    expect(formatShanghai(instantWhenCounted(calendar, start, [], budget, start))).toBe('2026-02-14T17:30:00+08:00');
  });

  it('step budgets count working time whatever the rule', () => {
    const start = at('2026-02-13T16:00:00+08:00');
    expect(effectiveBudgetMs(calendar, 'seal', 'next-day', start, DEFAULT_SLA_BUDGETS.seal)).toBe(2 * H);
  });
});

describe('live figures in the API', () => {
  const running = (elapsed: number): SlaScopeStatus => ({
    scope: 'application',
    statutoryLimit: { kind: 'none', label: 'none' },
    committedBudget: { hours: 7, workingMs: 7 * H },
    countingRule: 'working-time',
    clock: 'running',
    elapsedWorkingMs: elapsed,
    pausedWorkingMs: 0,
    consumedFraction: elapsed / (7 * H),
    level: 'on_track',
  });
  const sla = (state: ApplicationSla['state'], asOf: string): ApplicationSla => ({
    state,
    asOf,
    application: running(5 * H),
    paused: { now: false, totalWorkingMs: 0, totalMs: 0, intervals: [] },
    alerts: [],
  });

  it("adds the working time since the workflow's last activation to the running clocks only", () => {
    const status = {
      sla: sla('running', '2026-03-02T14:00:00+08:00'),
      steps: [{ sla: running(H) }, { sla: { ...running(H), clock: 'stopped' as const } }],
    };
    const refreshed = refreshSla(status, calendar, at('2026-03-02T15:00:00+08:00'));
    expect(refreshed.sla!.application).toMatchObject({
      elapsedWorkingMs: 6 * H,
      level: 'warning',
      consumedFraction: 0.8571,
    });
    expect(refreshed.steps.map((s) => s.sla!.elapsedWorkingMs)).toEqual([2 * H, H]);
    expect(refreshed.sla!.asOf).toBe('2026-03-02T15:00:00+08:00');
  });

  it('counts the working time since a pause began as paused, and shows the deadlines as if the clock resumed now', () => {
    // Started Monday 2026-03-02 09:00; a correction asked at 12:00 (3 h counted); read on Wednesday at 10:00.
    const paused = (scope: SlaScopeStatus, elapsed: number, warningAt: string, dueAt: string): SlaScopeStatus => ({
      ...scope,
      clock: 'paused',
      elapsedWorkingMs: elapsed,
      consumedFraction: elapsed / scope.committedBudget.workingMs,
      warningAt,
      dueAt,
    });
    const license = { ...running(0), scope: 'license' as const, committedBudget: { hours: 3, workingMs: 3 * H } };
    const status = {
      sla: {
        ...sla('paused', '2026-03-02T12:00:00+08:00'),
        application: paused(running(0), 3 * H, '2026-03-02T15:45:00+08:00', '2026-03-02T17:30:00+08:00'),
        paused: {
          now: true,
          totalWorkingMs: 0,
          totalMs: 0,
          intervals: [{ from: '2026-03-02T12:00:00+08:00', reason: 'correction requested', workingMs: 0 }],
        },
      },
      steps: [
        { sla: paused(license, H, '2026-03-02T15:45:00+08:00', '2026-03-02T15:30:00+08:00') },
        { sla: { ...running(H), clock: 'stopped' as const, dueAt: '2026-03-02T10:00:00+08:00' } },
      ],
    };
    const refreshed = refreshSla(status, calendar, at('2026-03-04T10:00:00+08:00'));
    // Monday afternoon 4 h, Tuesday 7 h, Wednesday 09:00–10:00 1 h.
    expect(refreshed.sla!.paused).toEqual({
      now: true,
      totalWorkingMs: 12 * H,
      totalMs: 46 * H,
      intervals: [{ from: '2026-03-02T12:00:00+08:00', reason: 'correction requested', workingMs: 12 * H }],
    });
    expect(refreshed.sla!.application).toMatchObject({
      clock: 'paused',
      elapsedWorkingMs: 3 * H,
      pausedWorkingMs: 12 * H,
      level: 'on_track',
      warningAt: '2026-03-04T13:45:00+08:00', // 2.25 h left: 10:00–12:00, then 13:30–13:45
      dueAt: '2026-03-04T15:30:00+08:00',
    });
    // The license: 1.25 h and 2 h left — a budget that ends at 12:00 is due at 12:00, not at 13:30.
    expect(refreshed.steps[0]!.sla).toMatchObject({
      warningAt: '2026-03-04T11:15:00+08:00',
      dueAt: '2026-03-04T12:00:00+08:00',
    });
    expect(refreshed.steps[1]!.sla).toBe(status.steps[1]!.sla);
    expect(refreshed.sla!.asOf).toBe('2026-03-04T10:00:00+08:00');
  });

  it('leaves stopped applications, and those ended in Temporal, as the workflow reported them', () => {
    const stopped = { sla: sla('stopped', '2026-03-02T14:00:00+08:00'), steps: [] };
    expect(refreshSla(stopped, calendar, at('2026-03-03T15:00:00+08:00'))).toBe(stopped);
    const terminated = { sla: sla('running', '2026-03-02T14:00:00+08:00'), steps: [], endedInTemporal: 'terminated' };
    expect(refreshSla(terminated, calendar, at('2026-03-03T15:00:00+08:00'))).toBe(terminated);
  });
});
