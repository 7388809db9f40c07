/**
 * The one-working-day SLA as pure data and arithmetic: budgets with their statutory limits, levels,
 * and the pausable working-time clock. No clock of its own and no I/O: the workflow (workflows/sla.ts)
 * passes workflow time and the calendar it received in history, the API passes the current time.
 *
 * A clock counts working time from its start to its stop, minus the working time of the pauses
 * (the application waiting on the applicant). A threshold (75 % or 100 % of the budget) is reached at
 * the earliest instant at which the counted working time equals it — so a pause moves every open
 * deadline by exactly the working time it lasted.
 */
import {
  CalendarYearMissingError,
  formatShanghai,
  type OfficePeriod,
  type ScheduleData,
  type WorkingCalendar,
} from './calendar';
import { STEP_IDS, STEPS, type StepId } from './steps';

export const SLA_LEVELS = ['on_track', 'warning', 'breached'] as const;
export type SlaLevel = (typeof SLA_LEVELS)[number];
/** The levels that raise an alert, in the order they are reached. */
export const ALERT_LEVELS = ['warning', 'breached'] as const;
export type AlertLevel = (typeof ALERT_LEVELS)[number];

export const SLA_SCOPES = ['application', ...STEP_IDS] as const;
export type SlaScope = (typeof SLA_SCOPES)[number];

/**
 * `working-time`: the budget is working time, due at the earliest instant it has elapsed.
 * `next-day` (次日起算): whole working days from the day after the clock start, due at the close of the last one;
 * it applies to the application's promise (a whole number of working days); step budgets, in hours, always count
 * working time.
 */
export const COUNTING_RULES = ['working-time', 'next-day'] as const;
export type CountingRule = (typeof COUNTING_RULES)[number];

/** Yellow card (黄牌) at 75 % of the budget, red card (红牌) at 100 %. */
export const WARNING_NUMERATOR = 3;
export const WARNING_DENOMINATOR = 4;

export type StatutoryLimit =
  { kind: 'immediate' } | { kind: 'working_days'; value: number } | { kind: 'days'; value: number } | { kind: 'none' };

export interface ScopeBudget {
  /** The committed budget in working hours. */
  committedHours: number;
  statutory: StatutoryLimit;
  /** The rule or plan the statutory limit comes from, when there is one. */
  basis?: string;
}

export type SlaBudgets = Record<SlaScope, ScopeBudget>;

/** PRODUCT.md, "Default budgets": the critical path name → license → seal → bank → archive uses exactly 7 h. */
export const DEFAULT_SLA_BUDGETS: SlaBudgets = {
  application: {
    committedHours: 7,
    statutory: { kind: 'none' },
    basis: '南昌市开办企业一个工作日内办结 (2021 work plan, item 9)',
  },
  name: { committedHours: 0.5, statutory: { kind: 'immediate' }, basis: '名称自主申报, 即时办结' },
  license: { committedHours: 3, statutory: { kind: 'working_days', value: 3 }, basis: '市场主体登记管理条例 第十九条' },
  seal: { committedHours: 2, statutory: { kind: 'working_days', value: 1 }, basis: '国办发〔2018〕32号' },
  tax: { committedHours: 2, statutory: { kind: 'working_days', value: 2 }, basis: '国办发〔2018〕32号' },
  social: { committedHours: 1, statutory: { kind: 'working_days', value: 15 } },
  fund: { committedHours: 1, statutory: { kind: 'days', value: 30 } },
  bank: { committedHours: 1, statutory: { kind: 'working_days', value: 1 } },
  archive: { committedHours: 0.5, statutory: { kind: 'none' } },
};

/**
 * Per scope, the committed hours, or a change of the committed hours and/or the statutory limit; scopes not named
 * keep their defaults. Parsed from `SLA_BUDGETS` by domain/sla-config.ts (zod stays out of this module: the workflow
 * bundle imports it).
 */
export type ScopeBudgetOverride = number | { committedHours?: number; statutory?: StatutoryLimit };
export type SlaBudgetsOverride = Partial<Record<SlaScope, ScopeBudgetOverride>>;

export function resolveBudgets(override: SlaBudgetsOverride = {}): SlaBudgets {
  const budgets = { ...DEFAULT_SLA_BUDGETS };
  for (const scope of SLA_SCOPES) {
    const change = override[scope];
    if (change === undefined) continue;
    const base = DEFAULT_SLA_BUDGETS[scope];
    budgets[scope] =
      typeof change === 'number'
        ? { ...base, committedHours: change }
        : {
            ...base,
            ...(change.committedHours !== undefined ? { committedHours: change.committedHours } : {}),
            ...(change.statutory ? { statutory: change.statutory, basis: undefined } : {}),
          };
  }
  return budgets;
}

export const budgetMs = (budget: ScopeBudget): number => Math.round(budget.committedHours * 3_600_000);

export function statutoryLabel(limit: StatutoryLimit): string {
  switch (limit.kind) {
    case 'immediate':
      return 'immediate (即时办结)';
    case 'working_days':
      return `${limit.value} working day${limit.value === 1 ? '' : 's'}`;
    case 'days':
      return `${limit.value} day${limit.value === 1 ? '' : 's'}`;
    case 'none':
      return 'none';
  }
}

/** The longest chain of committed step budgets through the step graph: it must fit the application's budget. */
export function criticalPath(budgets: SlaBudgets): { hours: number; steps: StepId[] } {
  const best = new Map<StepId, { hours: number; steps: StepId[] }>();
  const longest = (id: StepId): { hours: number; steps: StepId[] } => {
    const known = best.get(id);
    if (known) return known;
    const step = STEPS.find((s) => s.id === id)!;
    let before = { hours: 0, steps: [] as StepId[] };
    for (const need of step.needs) {
      const path = longest(need);
      if (path.hours > before.hours) before = path;
    }
    const path = { hours: before.hours + budgets[id].committedHours, steps: [...before.steps, id] };
    best.set(id, path);
    return path;
  };
  return STEP_IDS.map(longest).reduce((a, b) => (b.hours > a.hours ? b : a));
}

// ---- levels -------------------------------------------------------------------------------

/** Working ms at which a level is reached; integers, so "exactly 75 %" never depends on floating point. */
export function thresholdMs(budget: number, level: AlertLevel): number {
  return level === 'breached' ? budget : Math.ceil((budget * WARNING_NUMERATOR) / WARNING_DENOMINATOR);
}

export function levelFor(countedMs: number, budget: number): SlaLevel {
  if (countedMs >= thresholdMs(budget, 'breached')) return 'breached';
  if (countedMs >= thresholdMs(budget, 'warning')) return 'warning';
  return 'on_track';
}

export const worseLevel = (a: SlaLevel, b: SlaLevel): SlaLevel =>
  SLA_LEVELS.indexOf(a) >= SLA_LEVELS.indexOf(b) ? a : b;

/** Consumed share of the budget, 4 decimals (1.0 = the whole budget; it keeps growing after a breach). */
export function consumedFraction(countedMs: number, budget: number): number {
  return budget > 0 ? Math.round((countedMs / budget) * 10_000) / 10_000 : 0;
}

// ---- the pausable clock -------------------------------------------------------------------

/** A pause of the whole application, epoch ms; `to` is absent while it lasts. Pauses never overlap. */
export interface PauseInterval {
  from: number;
  to?: number;
}

export interface ClockSpan {
  startedAt: number;
  stoppedAt?: number;
}

/** Working time of the pauses inside [from, to). */
export function pausedWorkingTime(
  calendar: WorkingCalendar,
  pauses: readonly PauseInterval[],
  from: number,
  to: number,
): number {
  let paused = 0;
  for (const p of pauses) {
    const start = Math.max(p.from, from);
    const end = Math.min(p.to ?? to, to);
    if (end > start) paused += calendar.workingTimeBetween(start, end);
  }
  return paused;
}

/** Working time the clock has counted by `at`: from its start to its stop (or `at`), pauses excluded. */
export function countedWorkingTime(
  calendar: WorkingCalendar,
  span: ClockSpan,
  pauses: readonly PauseInterval[],
  at: number,
): number {
  const end = Math.min(span.stoppedAt ?? at, at);
  if (end <= span.startedAt) return 0;
  return calendar.workingTimeBetween(span.startedAt, end) - pausedWorkingTime(calendar, pauses, span.startedAt, end);
}

/** The pauses as they stood at `until`: those begun later left out, one still open then ended there. */
function pausesUntil(pauses: readonly PauseInterval[], until: number): PauseInterval[] {
  return pauses
    .filter((p) => p.from < until)
    .map((p) => (p.to === undefined || p.to > until ? { ...p, to: until } : p));
}

/**
 * The earliest instant at which a clock started at `startedAt` has counted `target` ms of working time, given the
 * pauses (sorted). A pause still open is taken to end at `resumeAt`: while paused, the answer is "if resumed now".
 */
export function instantWhenCounted(
  calendar: WorkingCalendar,
  startedAt: number,
  pauses: readonly PauseInterval[],
  target: number,
  resumeAt: number,
): number {
  let cursor = startedAt;
  let remaining = target;
  for (const p of pauses) {
    const end = p.to ?? Math.max(resumeAt, p.from);
    if (end <= cursor) continue;
    if (p.from > cursor) {
      const before = calendar.workingTimeBetween(cursor, p.from);
      if (before >= remaining) return calendar.addWorkingTime(cursor, remaining);
      remaining -= before;
    }
    cursor = end;
  }
  return calendar.addWorkingTime(cursor, remaining);
}

/**
 * The working-time budget of a scope. Under `next-day` the application's promise is whole working days due at the
 * close of the last one, expressed as the working time from the clock start to that close (so 75 % and pauses work
 * the same way under both rules).
 */
export function effectiveBudgetMs(
  calendar: WorkingCalendar,
  scope: SlaScope,
  rule: CountingRule,
  startedAt: number,
  budget: ScopeBudget,
): number {
  const ms = budgetMs(budget);
  if (rule !== 'next-day' || scope !== 'application') return ms;
  const days = Math.max(1, Math.ceil(ms / calendar.workingDayMs));
  return calendar.workingTimeBetween(startedAt, calendar.dueNextDayRule(startedAt, days));
}

/**
 * The application's deadlines for a clock started at `startedAt`, before any pause: what the acceptance activity
 * records in the SLA plan, and what the API publishes to visibility at submission (KaibanDueAt) until then.
 */
export function applicationDeadline(
  calendar: WorkingCalendar,
  settings: Pick<SlaSettings, 'countingRule' | 'budgets'>,
  startedAt: number,
): { budgetMs: number; warningAt: number; dueAt: number } {
  const budget = effectiveBudgetMs(
    calendar,
    'application',
    settings.countingRule,
    startedAt,
    settings.budgets.application,
  );
  return {
    budgetMs: budget,
    warningAt: instantWhenCounted(calendar, startedAt, [], thresholdMs(budget, 'warning'), startedAt),
    dueAt: instantWhenCounted(calendar, startedAt, [], budget, startedAt),
  };
}

/**
 * The deadline counted from the submission instant, for visibility until the workflow has accepted the application
 * (within a minute of it, the workflow keeps it: infra/search-attributes.ts). None when the calendar lacks the year.
 */
export function provisionalDueAt(
  calendar: WorkingCalendar,
  sla: Pick<SlaSettings, 'countingRule' | 'budgets'>,
  submittedAt: number,
): number | undefined {
  try {
    return applicationDeadline(calendar, sla, submittedAt).dueAt;
  } catch (err) {
    // A year the calendar data lacks: the workflow publishes the deadline once it has one.
    if (err instanceof CalendarYearMissingError) return undefined;
    throw err;
  }
}

// ---- what the status shows -----------------------------------------------------------------

export type ClockState = 'not_started' | 'running' | 'paused' | 'stopped';

/** The SLA of one scope (the application or a step), as the status shows it. Instants are ISO 8601 with +08:00. */
export interface SlaScopeStatus {
  scope: SlaScope;
  statutoryLimit: StatutoryLimit & { label: string; basis?: string };
  committedBudget: { hours: number; workingMs: number };
  countingRule: CountingRule;
  clock: ClockState;
  startedAt?: string;
  stoppedAt?: string;
  /** The actual time: working time counted so far, pauses excluded. */
  elapsedWorkingMs: number;
  pausedWorkingMs: number;
  consumedFraction: number;
  level: SlaLevel;
  /** When 75 % and 100 % are (or were) reached; while paused, if resumed at `asOf`. */
  warningAt?: string;
  dueAt?: string;
  /**
   * The year of official schedule data that `warningAt` or `dueAt` would fall in, when the data lack it: they are
   * left out (the figures counted so far stand) until the year is deployed.
   */
  deadlineYearMissing?: number;
}

export interface SlaAlertDelivery {
  /** `log` (structured log line and metric) or `webhook:<id>` (one configured webhook). */
  channel: string;
  state: 'pending' | 'delivered' | 'dropped';
  attempts?: number;
  deliveredAt?: string;
  error?: string;
}

/** What a webhook receives (JSON body, signed) and what the status lists. */
export interface SlaAlert {
  type: `sla.${AlertLevel}`;
  /** `${applicationId}:${scope}:${level}`: the same on every retry, for the receiver's deduplication. */
  alertId: string;
  applicationId: string;
  scope: SlaScope;
  level: AlertLevel;
  /** The scope's due instant (100 %). */
  deadline: string;
  /** The instant the level was reached. */
  thresholdAt: string;
  consumedFraction: number;
  committedHours: number;
  /** When the alert was raised (workflow time). */
  at: string;
}

export interface SlaAlertRecord extends SlaAlert {
  deliveries: SlaAlertDelivery[];
}

export interface SlaPauseRecord {
  from: string;
  to?: string;
  reason: string;
  workingMs: number;
}

export interface ApplicationSla {
  /** `starting` until the deadlines are computed (an activity), `stopped` once the application has ended. */
  state: 'starting' | 'running' | 'paused' | 'stopped';
  /** The instant the figures refer to (workflow time of the last change, or the API's now after refresh). */
  asOf: string;
  countingRule?: CountingRule;
  officeHours?: { start: string; end: string }[];
  /** Years of official schedule data recorded in this application's history. */
  calendarYears?: number[];
  /** A year the calendar data lacks: deadlines wait for it (see domain/calendar/README.md). */
  missingCalendarYear?: number;
  application?: SlaScopeStatus;
  paused: { now: boolean; totalWorkingMs: number; totalMs: number; intervals: SlaPauseRecord[] };
  alerts: SlaAlertRecord[];
  error?: string;
}

/**
 * The status of a scope at `at`. `budget` is the effective budget in working ms; `pauses` sorted.
 */
export function scopeStatus(
  calendar: WorkingCalendar,
  options: {
    scope: SlaScope;
    budget: ScopeBudget;
    effectiveBudgetMs: number;
    rule: CountingRule;
    span?: ClockSpan;
    pauses: readonly PauseInterval[];
    at: number;
  },
): SlaScopeStatus {
  const { scope, budget, span, pauses, at } = options;
  const effective = options.effectiveBudgetMs;
  const statutoryLimit: SlaScopeStatus['statutoryLimit'] = {
    ...budget.statutory,
    label: statutoryLabel(budget.statutory),
  };
  if (budget.basis) statutoryLimit.basis = budget.basis;
  const status: SlaScopeStatus = {
    scope,
    statutoryLimit,
    committedBudget: { hours: budget.committedHours, workingMs: effective },
    countingRule: scope === 'application' ? options.rule : 'working-time',
    clock: 'not_started',
    elapsedWorkingMs: 0,
    pausedWorkingMs: 0,
    consumedFraction: 0,
    level: 'on_track',
  };
  if (!span) return status;
  const end = Math.min(span.stoppedAt ?? at, at);
  const counted = countedWorkingTime(calendar, span, pauses, at);
  const stopped = span.stoppedAt !== undefined && span.stoppedAt <= at;
  let paused = false;
  for (const p of pauses) if (p.from <= at && (p.to === undefined || p.to > at)) paused = true;
  status.clock = stopped ? 'stopped' : paused ? 'paused' : 'running';
  status.startedAt = formatShanghai(span.startedAt);
  if (stopped) status.stoppedAt = formatShanghai(span.stoppedAt!);
  status.elapsedWorkingMs = counted;
  status.pausedWorkingMs = end > span.startedAt ? pausedWorkingTime(calendar, pauses, span.startedAt, end) : 0;
  status.consumedFraction = consumedFraction(counted, effective);
  status.level = levelFor(counted, effective);
  // A stopped clock keeps the deadlines that applied to it, reached or not: pauses after its stop do not move them (a
  // step done before a correction was asked kept getting later deadlines). A paused one shows them as if resumed now.
  const applying = stopped ? pausesUntil(pauses, span.stoppedAt!) : pauses;
  const resumeAt = stopped ? span.stoppedAt! : at;
  try {
    status.warningAt = formatShanghai(
      instantWhenCounted(calendar, span.startedAt, applying, thresholdMs(effective, 'warning'), resumeAt),
    );
    status.dueAt = formatShanghai(instantWhenCounted(calendar, span.startedAt, applying, effective, resumeAt));
  } catch (err) {
    // A deadline in a year the data lack (the last days of December): the rest of the figures stand without it.
    if (!(err instanceof CalendarYearMissingError)) throw err;
    status.deadlineYearMissing = err.year;
  }
  return status;
}

/**
 * Brings a running or paused application's SLA figures from the workflow's `asOf` (its last activation) to `now`, for
 * the API: only the working time since `asOf` is counted with the caller's calendar, so the figures recorded by the
 * workflow with the calendar of its history stay as they were. A running clock counts it as elapsed (levels only ever
 * go up here; the workflow's timers raise the alerts); a paused one as paused, its deadlines shown as if it resumed
 * now — nothing wakes the workflow while the applicant corrects, and its own figures say "if resumed" at the pause's
 * start, a deadline long past by the next day. An application ended in Temporal (terminated…) counts nothing more.
 */
export function refreshSla<
  T extends { sla?: ApplicationSla; steps: { sla?: SlaScopeStatus }[]; endedInTemporal?: string },
>(status: T, calendar: WorkingCalendar, now: number): T {
  const sla = status.sla;
  if (!sla || (sla.state !== 'running' && sla.state !== 'paused') || status.endedInTemporal) return status;
  const asOf = Date.parse(sla.asOf);
  if (!(now > asOf)) return status;
  let delta: number;
  try {
    delta = calendar.workingTimeBetween(asOf, now);
  } catch {
    return status; // a year the API's calendar lacks: show the workflow's figures as they are
  }
  const extend = (scope: SlaScopeStatus | undefined): SlaScopeStatus | undefined => {
    if (scope?.clock === 'paused') return resumedNow(scope);
    if (!scope || scope.clock !== 'running') return scope;
    const elapsed = scope.elapsedWorkingMs + delta;
    const budget = scope.committedBudget.workingMs;
    return {
      ...scope,
      elapsedWorkingMs: elapsed,
      consumedFraction: consumedFraction(elapsed, budget),
      level: worseLevel(scope.level, levelFor(elapsed, budget)),
    };
  };
  /** A paused scope: the pause grows; a threshold not yet reached falls as far after now as it had left to count. */
  const resumedNow = (scope: SlaScopeStatus): SlaScopeStatus => {
    const moved: SlaScopeStatus = { ...scope, pausedWorkingMs: scope.pausedWorkingMs + delta };
    const budget = scope.committedBudget.workingMs;
    try {
      for (const [field, level] of [
        ['warningAt', 'warning'],
        ['dueAt', 'breached'],
      ] as const) {
        const left = thresholdMs(budget, level) - scope.elapsedWorkingMs;
        if (left > 0) moved[field] = formatShanghai(calendar.addWorkingTime(now, left));
      }
    } catch (err) {
      if (!(err instanceof CalendarYearMissingError)) throw err;
      // A deadline in a year the API's calendar lacks: left out, as the workflow leaves it out (scopeStatus).
      delete moved.warningAt;
      delete moved.dueAt;
      moved.deadlineYearMissing = err.year;
    }
    return moved;
  };
  const paused =
    sla.state === 'paused'
      ? {
          ...sla.paused,
          totalWorkingMs: sla.paused.totalWorkingMs + delta,
          totalMs: sla.paused.totalMs + (now - asOf),
          intervals: sla.paused.intervals.map((i) =>
            i.to === undefined ? { ...i, workingMs: i.workingMs + delta } : i,
          ),
        }
      : sla.paused;
  return {
    ...status,
    sla: { ...sla, asOf: formatShanghai(now), paused, application: extend(sla.application) },
    steps: status.steps.map((s) => ({ ...s, sla: extend(s.sla) })),
  };
}

// ---- settings -----------------------------------------------------------------------------

/** What a deployment configures (config/sla.ts); the deadline activity hands the workflow what it needs of it. */
export interface SlaSettings {
  budgets: SlaBudgets;
  officeHours: readonly OfficePeriod[];
  countingRule: CountingRule;
  /** The official schedules: shipped in domain/calendar/schedules.ts, plus any years from SLA_CALENDAR_FILE. */
  schedules: ScheduleData;
}

/** PRODUCT.md's budgets and counting rule: what the API and the acceptance activity use without SLA_* settings. */
export const DEFAULT_SLA_TERMS: Pick<SlaSettings, 'countingRule' | 'budgets'> = {
  countingRule: 'working-time',
  budgets: DEFAULT_SLA_BUDGETS,
};
