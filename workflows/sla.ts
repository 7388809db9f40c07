/**
 * The SLA clocks of one application, inside the workflow: the application's clock from submission, each step's
 * from its start to its end, all stopped by a pause (the application waiting on the applicant).
 *
 * Deterministic: time is workflow time, and the calendar is built from the data the `computeDeadlines` activity
 * returned once at acceptance — recorded in history, so new calendar data never changes a replayed history. One
 * timer at a time wakes the loop at the next 75 % or 100 % instant of any open clock. A step's start re-arms it if
 * the new clock's threshold comes first (stepStarted, no loop round); a pause, a resume or the end of the application
 * wakes the loop. A step's end only moves the next instant later: the loop notes it when it next wakes (from the
 * step's recorded end), and the status query computes its figures from the same records.
 *
 * Exactly one alert per (application, scope, level): the loop raises a level once, records it in workflow state
 * (rebuilt identically on replay, so a worker crash never raises it again) and schedules one `deliverAlert`
 * activity per channel, retried by Temporal until delivered. The alert id is stable, for receivers that see a
 * delivery twice (an attempt that succeeded but whose completion was lost).
 *
 * Used by businessStartup: `start` after acceptance, `pause`/`resume` around a correction request, `present` for
 * the status query, `finish` before returning (it waits for alert deliveries still being retried).
 */
import {
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxySinks,
  sleep,
  upsertSearchAttributes,
  type Sinks,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { SlaActivities, SlaOutcomeInput, SlaPlan } from '../activities/sla';
import {
  CalendarYearMissingError,
  createWorkingCalendar,
  formatShanghai,
  type WorkingCalendar,
} from '../domain/calendar';
import { parseIsoDate, shanghaiDayAndOffset, shanghaiMidnight, yearOfDayNumber } from '../domain/calendar/time';
import {
  ALERT_LEVELS,
  budgetMs,
  consumedFraction,
  countedWorkingTime,
  effectiveBudgetMs,
  instantWhenCounted,
  pausedWorkingTime,
  scopeStatus,
  thresholdMs,
  worseLevel,
  type AlertLevel,
  type ApplicationSla,
  type ClockSpan,
  type SlaAlert,
  type SlaAlertDelivery,
  type SlaAlertRecord,
  type SlaLevel,
  type SlaScope,
  type SlaScopeStatus,
} from '../domain/sla';
import type { ApplicationStatus, StepState } from '../domain/status';
import { breachedKey, DUE_AT_TOLERANCE_MS, dueAtKey, slaLevelKey } from '../infra/search-attributes';

/**
 * RUNG_ALARM_WAKES_THE_LOOP: a step starting in the workflow task in which the alarm rang leaves the alarm to the loop.
 * It replaced the rung alarm with a later one, so the loop, which waits for the alarm's ring, slept through the
 * threshold it rang for (a step's breach reached as its decision came in, raised only at the next wake). Asked only
 * when that happens, so other histories carry no marker.
 */
const RUNG_ALARM_WAKES_THE_LOOP = 'rung-alarm-wakes-the-loop';
/**
 * LEVEL_RAISED_WITH_ITS_DEADLINE: a level is marked raised only once its alert is made. Its deadline may lie in a year
 * the data lack (a step warned on 31 December, due in January): the loop then waits for the data and raises it. It was
 * marked raised before the deadline was worked out, so that warning was never sent. Asked only when that happens.
 */
const LEVEL_RAISED_WITH_ITS_DEADLINE = 'level-raised-with-its-deadline';
/**
 * SCOPES_WAIT_APART: a clock that needs a year the data lack waits for it alone; the others go on. A threshold that
 * falls in that year cannot come before the year begins, so the loop wakes then at the earliest; a level reached with
 * its deadline in that year waits for the data, asked for beside the loop. Before, the first such clock stopped the
 * loop until the year was deployed: an application due at 17:30 on 31 December got no breach alert because its seal's
 * warning fell in January. Asked only when that happens.
 */
const SCOPES_WAIT_APART = 'sla-scopes-wait-apart';
/**
 * REACHED_BEFORE_MISSING_YEAR: a clock that cannot be counted up to now, because now lies in a year the data lack, has
 * counted at least what it had when that year began: the levels it had reached by then are raised at once, with the
 * deadline the data give (a breach's is its own threshold). They waited for the year's data, so an application due on
 * 31 December whose workers were away over New Year was not breached until the schedule was deployed. Asked only when
 * such a level is there.
 */
const REACHED_BEFORE_MISSING_YEAR = 'sla-reached-before-missing-year';
/**
 * STARTS_WITHOUT_MISSING_YEAR: an application whose own deadline lies in a year the data lack (submitted on 31 December,
 * due in January) starts its clocks with the data there are: its steps are warned and breached on time, and only what
 * needs that year waits for it, beside the loop (SCOPES_WAIT_APART). Every clock waited for the year's data, so no
 * step of an application submitted on the last working day of the data was alerted until the schedule was deployed.
 * Asked only for such a plan, and not when the clock starts in the missing year itself (nothing can be counted).
 */
const STARTS_WITHOUT_MISSING_YEAR = 'sla-starts-without-missing-year';

const { computeDeadlines } = proxyActivities<SlaActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** Delivered durably: unlimited attempts with backoff, unless the channel was removed from the configuration. */
const { deliverAlert } = proxyActivities<SlaActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    nonRetryableErrorTypes: ['AlertChannelUnknown'],
  },
});

/**
 * The outcome is a metric and a log line, not a step of the application: a sink (called by the worker after the
 * workflow task, never on replay) rather than an activity, so it costs no history.
 */
export interface SlaSinks extends Sinks {
  sla: { outcome(input: SlaOutcomeInput): void };
}
const sinks = proxySinks<SlaSinks>();

/** States in which a step's clock has stopped for good. */
const STEP_ENDED: ReadonlySet<StepState> = new Set<StepState>(['done', 'skipped', 'rejected', 'cancelled']);

interface Clock extends ClockSpan {
  /** The effective budget in working ms (the counting rule applied). */
  budgetMs: number;
}

/** The one timer that wakes the loop at the next threshold; a later threshold keeps it, an earlier one replaces it. */
interface Alarm {
  at: number;
  scope: CancellationScope;
  rang: boolean;
}

interface Pause {
  from: number;
  to?: number;
  reason: string;
}

export class SlaClock {
  private plan?: SlaPlan;
  private calendar?: WorkingCalendar;
  /** The application clock's start: the submission instant (see acceptApplication). */
  private clockStartedAt = 0;
  private searchAttributes = false;
  private readonly pauses: Pause[] = [];
  private readonly clocks = new Map<SlaScope, Clock>();
  private readonly alerts: SlaAlertRecord[] = [];
  private readonly raised = new Set<string>();
  /** Levels reached whose deadline lies in a year the data lack: raised once it is deployed (SCOPES_WAIT_APART). */
  private readonly deferred = new Set<string>();
  /** The data for a missing year are being asked for beside the loop (SCOPES_WAIT_APART). */
  private fetchingYear = false;
  private readonly deliveries: Promise<void>[] = [];
  /** Bumped by pause, resume and finish: wakes the loop. */
  private version = 0;
  private stoppedAt?: number;
  private finishing = false;
  private finished = false;
  private loopDone = false;
  private waitingForCalendar = false;
  private published: { level?: SlaLevel; breached?: string; dueAt?: number } = {};
  private alarm?: Alarm;
  private armQueued = false;
  /** The scope start() was called in (the workflow's root): the parent of every alarm. */
  private rootScope?: CancellationScope;
  /** While start() runs, the search attributes are handed to the workflow's one upsert at acceptance. */
  private collected?: SearchAttributeUpdatePair[];

  constructor(
    private readonly applicationId: string,
    private readonly status: ApplicationStatus,
  ) {}

  /**
   * Starts the clocks with the plan the acceptance activity returned — the application's from the plan's clock start,
   * the submission instant (older histories: the acceptance's), each step's when it starts — and returns the SLA's
   * search attributes for the workflow's upsert at acceptance (one upsert instead of two).
   */
  start(input: { searchAttributes: boolean; plan: SlaPlan }): SearchAttributeUpdatePair[] {
    this.rootScope = CancellationScope.current();
    this.clockStartedAt = Date.parse(input.plan.clockStartedAt);
    this.searchAttributes = input.searchAttributes;
    this.status.sla = {
      state: 'starting',
      asOf: formatShanghai(Date.now()),
      paused: { now: false, totalWorkingMs: 0, totalMs: 0, intervals: [] },
      alerts: this.alerts,
    };
    const collected: SearchAttributeUpdatePair[] = [];
    this.collected = collected;
    // The loop's first round runs synchronously up to its first wait, so its search attributes land in `collected`.
    void this.run(input.plan)
      .catch((err: unknown) => this.failed(err))
      .finally(() => (this.loopDone = true));
    this.collected = undefined;
    return collected;
  }

  /** The SLA watches the application; a fault in it is reported, and must not stop the application. */
  private failed(err: unknown): void {
    if (isCancellation(err)) return;
    log.error('SLA clock failed', { applicationId: this.applicationId, error: String(err) });
    if (this.status.sla) this.status.sla.error = err instanceof Error ? err.message : String(err);
  }

  /**
   * A step has started (the workflow set its `startedAt`): its clock runs from then, and its first threshold may come
   * before the armed timer. Done once the code that started the step has scheduled its work (a microtask later), so
   * the timer command follows the step's activity, and steps started together arm once.
   */
  stepStarted(): void {
    if (this.armQueued) return;
    this.armQueued = true;
    void Promise.resolve().then(() => {
      this.armQueued = false;
      // The loop observes later; while a year's data are asked for beside it (fetchingYear), it runs on.
      if (!this.plan || this.stoppedAt !== undefined || (this.waitingForCalendar && !this.fetchingYear)) return;
      // The loop wakes on this ring, observes the step and arms the next alarm itself.
      if (this.alarm?.rang && patched(RUNG_ALARM_WAKES_THE_LOOP)) return;
      const now = Date.now();
      try {
        this.observe(now);
        this.arm(this.nextWake(now), now);
      } catch (err) {
        // A year the data lacks: the loop asks for it. Any other fault is reported like the loop's, never thrown
        // from this detached promise (that would fail every workflow task of the application).
        if (err instanceof CalendarYearMissingError) this.version++;
        else this.failed(err);
      }
    });
  }

  /** Stops every open clock (the application waits on the applicant). No effect if already paused or ended. */
  pause(reason: string): void {
    if (this.stoppedAt !== undefined || this.isPaused()) return;
    this.pauses.push({ from: Date.now(), reason });
    this.version++;
    log.info('SLA clock paused', { applicationId: this.applicationId, reason });
  }

  /** Restarts the clocks; every open deadline moves by the working time the pause lasted. */
  resume(): void {
    const open = this.openPause();
    if (!open) return;
    open.to = Date.now();
    this.version++;
    log.info('SLA clock resumed', { applicationId: this.applicationId });
  }

  /** The status with the SLA figures as of now (workflow time), for the status query. Never throws. */
  present(): ApplicationStatus {
    if (this.finished || !this.plan) return this.status;
    try {
      const at = Date.now();
      return {
        ...this.status,
        sla: this.view(at),
        steps: this.status.steps.map((s) => ({ ...s, sla: this.scopeView(s.id, at) })),
      };
    } catch {
      return this.status;
    }
  }

  /**
   * Called once the application has ended (its status is no longer `running`): stops the clocks, waits for the
   * alert deliveries still being retried, writes the final figures into the status and records the outcome.
   */
  async finish(): Promise<void> {
    this.finishing = true;
    this.version++;
    await condition(() => this.loopDone || this.waitingForCalendar || !this.status.sla);
    await Promise.all(this.deliveries);
    // The loop stops the clocks as it ends; one cancelled with the workflow (a cancel in Temporal) could not.
    if (this.loopDone && this.stoppedAt === undefined && this.plan && this.calendar) this.observe(Date.now());
    this.finished = true;
    if (!this.plan || !this.calendar || !this.status.sla) {
      if (this.status.sla) this.status.sla.state = 'stopped';
      return;
    }
    const end = this.stoppedAt ?? Date.now();
    try {
      const final = this.view(end);
      const steps = this.status.steps.map((s) => this.scopeView(s.id, end));
      this.status.sla = final;
      this.status.steps.forEach((step, i) => (step.sla = steps[i]));
    } catch (err) {
      if (!(err instanceof CalendarYearMissingError)) throw err;
      // The clocks ran into a year the recorded data lacks: no figures rather than wrong ones.
      this.status.sla = {
        ...this.status.sla,
        state: 'stopped',
        asOf: formatShanghai(end),
        missingCalendarYear: err.year,
      };
      return;
    }
    const application = this.status.sla.application;
    sinks.sla.outcome({
      applicationId: this.applicationId,
      outcome: this.status.status,
      ...(application ? { elapsedWorkingMs: application.elapsedWorkingMs } : {}),
      level: this.worstLevel(),
      breached: this.breachedScopes(),
    });
  }

  // ---- the loop ----------------------------------------------------------------------------

  private async run(initial: SlaPlan): Promise<void> {
    // A complete plan starts the loop synchronously (see start), and so does one lacking a later year than the clock's
    // start, which the clocks that reach that year wait for apart; one lacking more waits for the data.
    if (!this.startedWithout(initial)) {
      const first = initial.missingYear === undefined ? initial : await this.obtainPlan(undefined, initial);
      if (!first) return;
      this.usePlan(first);
    }
    for (;;) {
      const now = Date.now();
      try {
        this.observe(now);
        this.evaluate(now);
        this.publish(now);
        // No snapshot of the figures here: the status query computes them as of its own instant (present) and
        // finish() writes the final ones, so a wake costs no calendar arithmetic for every scope.
        if (this.stoppedAt !== undefined) break;
        this.arm(this.nextWake(now), now);
        const seen = this.signature();
        await condition(() => this.signature() !== seen || this.alarm?.rang === true);
      } catch (err) {
        if (!(err instanceof CalendarYearMissingError)) throw err;
        // A clock reached a year the recorded data lacks: data that covers it, recorded in history too.
        const plan = await this.obtainPlan(err.year);
        if (!plan) return;
        this.usePlan(plan);
      }
    }
  }

  /**
   * Keeps one timer for the earliest threshold to come. A step starting or ending usually moves the next
   * threshold later, and then the armed timer stays (it rings early, the loop finds nothing due and arms the next):
   * cheaper for the server than cancelling and starting a timer on every change. An earlier threshold replaces it;
   * a pause cancels it.
   */
  private arm(wake: number | undefined, now: number): void {
    if (this.alarm?.rang) this.alarm = undefined;
    const current = this.alarm;
    if (wake === undefined) {
      if (current && this.isPaused()) {
        current.scope.cancel();
        this.alarm = undefined;
      }
      return;
    }
    if (current && current.at <= wake) return;
    current?.scope.cancel();
    // A child of the workflow's root scope wherever arm() is called from (stepStarted runs in a step's scope, which a
    // withdrawal cancels): only arm() and pause end an alarm.
    const alarm: Alarm = {
      at: wake,
      scope: new CancellationScope({ cancellable: true, parent: this.rootScope }),
      rang: false,
    };
    this.alarm = alarm;
    alarm.scope
      .run(() => sleep(Math.max(1, wake - now)))
      .then(
        () => (alarm.rang = true),
        () => undefined, // cancelled: replaced by an earlier alarm or stopped by a pause
      );
  }

  /**
   * The deadline activity's answer; while the calendar data lacks a year the clocks need, asks again after a
   * backing-off timer (1 h up to 12 h): a new year's schedule is published in December and deployed once.
   * Undefined when the application ends meanwhile.
   */
  private async obtainPlan(coverYear: number | undefined, answer?: SlaPlan): Promise<SlaPlan | undefined> {
    let delay = 3_600_000;
    for (;;) {
      const plan =
        answer ??
        (await computeDeadlines({
          applicationId: this.applicationId,
          clockStartedAt: new Date(this.clockStartedAt).toISOString(),
          ...(coverYear !== undefined ? { coverYear } : {}),
        }));
      answer = undefined;
      if (plan.missingYear === undefined) {
        if (this.status.sla) delete this.status.sla.missingCalendarYear;
        this.waitingForCalendar = false;
        return plan;
      }
      if (this.status.sla) this.status.sla.missingCalendarYear = plan.missingYear;
      this.waitingForCalendar = true;
      if (await condition(() => this.finishing, delay)) return undefined;
      delay = Math.min(delay * 2, 12 * 3_600_000);
    }
  }

  /**
   * Starts with a plan lacking a year later than the clock's start (STARTS_WITHOUT_MISSING_YEAR), when the
   * application's budget can be worked out without it (not under `next-day` when its due day lies in that year).
   */
  private startedWithout(plan: SlaPlan): boolean {
    const missing = plan.missingYear;
    if (missing === undefined) return false;
    const startYear = yearOfDayNumber(shanghaiDayAndOffset(this.clockStartedAt).dayNumber);
    if (missing <= startYear || !plan.schedules.years.some((y) => y.year === startYear)) return false;
    if (!patched(STARTS_WITHOUT_MISSING_YEAR)) return false;
    try {
      this.usePlan(plan);
    } catch (err) {
      if (err instanceof CalendarYearMissingError) return false;
      throw err;
    }
    if (this.status.sla) this.status.sla.missingCalendarYear = missing;
    return true;
  }

  private usePlan(plan: SlaPlan): void {
    const calendar = createWorkingCalendar({ officeHours: plan.officeHours, schedules: plan.schedules });
    // Worked out before anything is set: a budget that needs a missing year leaves the clock as it was.
    const budget = this.clocks.has('application')
      ? undefined
      : effectiveBudgetMs(calendar, 'application', plan.countingRule, this.clockStartedAt, plan.budgets.application);
    this.plan = plan;
    this.calendar = calendar;
    if (budget !== undefined) this.clocks.set('application', { startedAt: this.clockStartedAt, budgetMs: budget });
  }

  /** Starts and stops clocks from what the workflow recorded in the status. */
  private observe(now: number): void {
    const plan = this.plan!;
    for (const step of this.status.steps) {
      let clock = this.clocks.get(step.id);
      if (!clock && step.startedAt) {
        clock = { startedAt: Date.parse(step.startedAt), budgetMs: budgetMs(plan.budgets[step.id]) };
        this.clocks.set(step.id, clock);
      }
      if (clock && clock.stoppedAt === undefined && STEP_ENDED.has(step.state)) {
        clock.stoppedAt = step.finishedAt ? Date.parse(step.finishedAt) : now;
      }
    }
    if (this.stoppedAt === undefined && (this.finishing || this.status.status !== 'running')) {
      this.stoppedAt = now;
      for (const clock of this.clocks.values()) clock.stoppedAt ??= now;
      const open = this.openPause();
      if (open) open.to = now;
    }
  }

  /** Raises every level an open clock has reached (both, in order, if the worker was away past both). */
  private evaluate(now: number): void {
    const calendar = this.calendar!;
    for (const [scope, clock] of this.clocks) {
      try {
        const counted = countedWorkingTime(calendar, clock, this.pauses, now);
        for (const level of ALERT_LEVELS) {
          const key = `${scope}:${level}`;
          if (this.raised.has(key)) continue;
          if (counted < thresholdMs(clock.budgetMs, level) || this.deferred.has(key)) break;
          this.raise(scope, clock, level, counted, now);
        }
      } catch (err) {
        if (!this.waitsApart(err)) throw err;
        // This clock cannot be counted now (it has run into the year the data lack): the levels it reached before that
        // year are raised, the others wait for the data, and no wake is armed for them (a threshold already past would
        // ring again at once, round after round).
        this.raiseReachedBefore(scope, clock, err.year, now);
        for (const level of ALERT_LEVELS) {
          if (!this.raised.has(`${scope}:${level}`)) this.deferred.add(`${scope}:${level}`);
        }
        this.needYear(err.year); // the others go on
      }
    }
  }

  /**
   * Raises the levels a clock had reached when the year the data lack began (REACHED_BEFORE_MISSING_YEAR): counted up
   * to then, with the data there are. A level whose deadline lies in that year stays for the data (raise defers it).
   */
  private raiseReachedBefore(scope: SlaScope, clock: Clock, year: number, now: number): void {
    const yearBegins = shanghaiMidnight(parseIsoDate(`${year}-01-01`));
    if (now < yearBegins || clock.startedAt >= yearBegins) return;
    let counted: number;
    try {
      counted = countedWorkingTime(this.calendar!, clock, this.pauses, yearBegins);
    } catch (err) {
      if (err instanceof CalendarYearMissingError) return; // an earlier year missing too: nothing is known
      throw err;
    }
    for (const level of ALERT_LEVELS) {
      const key = `${scope}:${level}`;
      if (this.raised.has(key)) continue;
      // Not reached by then, or already found to wait for the data (the count up to the year's start never changes).
      if (counted < thresholdMs(clock.budgetMs, level) || this.deferred.has(key)) return;
      if (!patched(REACHED_BEFORE_MISSING_YEAR)) return;
      try {
        this.raise(scope, clock, level, counted, now);
      } catch (err) {
        if (err instanceof CalendarYearMissingError) return; // its deadline lies in that year: deferred by raise
        throw err;
      }
    }
  }

  /** Whether a fault is a year the data lack, handled by the clock that met it alone (SCOPES_WAIT_APART). */
  private waitsApart(err: unknown): err is CalendarYearMissingError {
    return err instanceof CalendarYearMissingError && patched(SCOPES_WAIT_APART);
  }

  /**
   * Asks for the data of a missing year beside the loop (one request at a time), then takes the plan and wakes the
   * loop, which raises the levels that waited. In a scope of the workflow's root: a step's scope may be cancelled.
   */
  private needYear(year: number): void {
    if (this.fetchingYear) return;
    this.fetchingYear = true;
    new CancellationScope({ cancellable: true, parent: this.rootScope })
      .run(() => this.obtainPlan(year))
      .then(
        (plan) => {
          this.fetchingYear = false;
          if (!plan) return;
          this.deferred.clear();
          this.usePlan(plan);
          this.version++;
        },
        (err: unknown) => this.failed(err),
      );
  }

  private raise(scope: SlaScope, clock: Clock, level: AlertLevel, counted: number, now: number): void {
    const calendar = this.calendar!;
    const key = `${scope}:${level}`;
    const instant = (target: number) =>
      formatShanghai(instantWhenCounted(calendar, clock.startedAt, this.pauses, target, now));
    let deadline: string;
    let thresholdAt: string;
    try {
      deadline = instant(clock.budgetMs);
      thresholdAt = instant(thresholdMs(clock.budgetMs, level));
    } catch (err) {
      // The level waits for the missing year's data (beside the loop; before, the loop waited), then is raised with
      // its deadline.
      if (this.waitsApart(err)) this.deferred.add(key);
      else if (!(err instanceof CalendarYearMissingError) || !patched(LEVEL_RAISED_WITH_ITS_DEADLINE))
        this.raised.add(key);
      throw err;
    }
    this.raised.add(key);
    const alert: SlaAlert = {
      type: `sla.${level}`,
      alertId: `${this.applicationId}:${scope}:${level}`,
      applicationId: this.applicationId,
      scope,
      level,
      deadline,
      thresholdAt,
      consumedFraction: consumedFraction(counted, clock.budgetMs),
      committedHours: this.plan!.budgets[scope].committedHours,
      at: formatShanghai(now),
    };
    const record: SlaAlertRecord = {
      ...alert,
      deliveries: this.plan!.channels.map((channel) => ({ channel, state: 'pending' })),
    };
    this.alerts.push(record);
    for (const delivery of record.deliveries) this.deliveries.push(this.deliver(alert, delivery));
  }

  private async deliver(alert: SlaAlert, delivery: SlaAlertDelivery): Promise<void> {
    try {
      const done = await deliverAlert({ channel: delivery.channel, alert, channels: this.plan!.channels });
      delivery.state = 'delivered';
      delivery.attempts = done.attempts;
      delivery.deliveredAt = done.deliveredAt;
    } catch (err) {
      delivery.state = 'dropped';
      delivery.error =
        err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    }
  }

  /** The next instant at which an open clock reaches a level not raised yet; none while paused. */
  private nextWake(now: number): number | undefined {
    if (this.isPaused()) return undefined;
    let wake: number | undefined;
    for (const [scope, clock] of this.clocks) {
      if (clock.stoppedAt !== undefined) continue;
      const level = ALERT_LEVELS.find((l) => !this.raised.has(`${scope}:${l}`));
      if (!level || this.deferred.has(`${scope}:${level}`)) continue; // none left, or it waits for the data
      let at: number;
      try {
        at = instantWhenCounted(this.calendar!, clock.startedAt, this.pauses, thresholdMs(clock.budgetMs, level), now);
      } catch (err) {
        if (!this.waitsApart(err)) throw err;
        // Counted up to the end of the data, the threshold is not reached: not before the missing year begins.
        const yearBegins = shanghaiMidnight(parseIsoDate(`${err.year}-01-01`));
        if (yearBegins <= now) {
          this.needYear(err.year);
          continue;
        }
        at = yearBegins;
      }
      if (wake === undefined || at < wake) wake = at;
    }
    return wake;
  }

  /**
   * Changes when the pause state changes or the application ends: the loop then re-evaluates everything. A step's
   * start arms the timer without the loop (stepStarted); its end can only move the next threshold later.
   */
  private signature(): string {
    return `${this.version}|${this.status.status}`;
  }

  /** Search attributes for operators' filters: the worst level of any scope, the breached scopes, the promise. */
  private publish(now: number): void {
    if (!this.searchAttributes) return;
    const level = this.worstLevel();
    const breached = this.breachedScopes();
    const application = this.clocks.get('application')!;
    let dueAt = this.published.dueAt;
    if (!this.isPaused()) {
      try {
        dueAt = instantWhenCounted(this.calendar!, application.startedAt, this.pauses, application.budgetMs, now);
      } catch (err) {
        if (!this.waitsApart(err)) throw err;
        this.needYear(err.year); // the promise is published once the year is there; the levels meanwhile
      }
    }
    const sameDue =
      dueAt === this.published.dueAt ||
      (dueAt !== undefined &&
        this.published.dueAt !== undefined &&
        Math.abs(dueAt - this.published.dueAt) < DUE_AT_TOLERANCE_MS);
    if (level === this.published.level && breached.join() === this.published.breached && sameDue) return;
    const pairs: SearchAttributeUpdatePair[] = [
      { key: slaLevelKey, value: level },
      { key: breachedKey, value: breached },
      ...(dueAt !== undefined ? [{ key: dueAtKey, value: new Date(dueAt) }] : []),
    ];
    if (this.collected) this.collected.push(...pairs);
    else upsertSearchAttributes(pairs);
    this.published = { level, breached: breached.join(), dueAt };
  }

  // ---- figures -----------------------------------------------------------------------------

  private worstLevel(): SlaLevel {
    return this.alerts.reduce<SlaLevel>((worst, a) => worseLevel(worst, a.level), 'on_track');
  }

  private breachedScopes(): SlaScope[] {
    return this.alerts.filter((a) => a.level === 'breached').map((a) => a.scope);
  }

  private isPaused(): boolean {
    return this.openPause() !== undefined;
  }

  private openPause(): Pause | undefined {
    const last = this.pauses[this.pauses.length - 1];
    return last && last.to === undefined ? last : undefined;
  }

  private scopeView(scope: SlaScope, at: number): SlaScopeStatus {
    const plan = this.plan!;
    const clock = this.clocks.get(scope);
    const span = clock && this.spanOf(scope, clock);
    return scopeStatus(this.calendar!, {
      scope,
      budget: plan.budgets[scope],
      effectiveBudgetMs: clock?.budgetMs ?? budgetMs(plan.budgets[scope]),
      rule: plan.countingRule,
      ...(span ? { span } : {}),
      pauses: this.pauses,
      at,
    });
  }

  /** A step clock as the status records it: ended at the step's end even before the loop has noted it (observe). */
  private spanOf(scope: SlaScope, clock: Clock): ClockSpan {
    if (clock.stoppedAt !== undefined || scope === 'application') return clock;
    const step = this.status.steps.find((s) => s.id === scope);
    return step?.finishedAt && STEP_ENDED.has(step.state)
      ? { ...clock, stoppedAt: Date.parse(step.finishedAt) }
      : clock;
  }

  private view(at: number): ApplicationSla {
    const plan = this.plan!;
    const calendar = this.calendar!;
    const end = this.stoppedAt !== undefined ? Math.min(this.stoppedAt, at) : at;
    return {
      state: this.stoppedAt !== undefined && this.stoppedAt <= at ? 'stopped' : this.isPaused() ? 'paused' : 'running',
      asOf: formatShanghai(at),
      countingRule: plan.countingRule,
      officeHours: plan.officeHours,
      calendarYears: plan.schedules.years.map((y) => y.year),
      ...(this.status.sla?.missingCalendarYear !== undefined
        ? { missingCalendarYear: this.status.sla.missingCalendarYear }
        : {}),
      application: this.scopeView('application', at),
      paused: {
        now: this.isPaused(),
        totalWorkingMs: pausedWorkingTime(calendar, this.pauses, this.clockStartedAt, end),
        totalMs: this.pauses.reduce((sum, p) => sum + Math.max(0, (p.to ?? end) - p.from), 0),
        intervals: this.pauses.map((p) => ({
          from: formatShanghai(p.from),
          ...(p.to !== undefined ? { to: formatShanghai(p.to) } : {}),
          reason: p.reason,
          workingMs: calendar.workingTimeBetween(p.from, p.to ?? end),
        })),
      },
      alerts: this.alerts,
      ...(this.status.sla?.error ? { error: this.status.sla.error } : {}),
    };
  }
}
