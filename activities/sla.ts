/**
 * The SLA's side effects: reading the deployment's calendar and budgets (so that a replayed history never depends on
 * the calendar data of the day), and delivering alerts — a structured log line with its metric, and each configured
 * webhook, signed. Merged into the activities object by activities/index.ts.
 */
import { createHmac } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import {
  CalendarYearMissingError,
  createWorkingCalendar,
  DEFAULT_OFFICE_HOURS,
  formatShanghai,
  parseInstant,
  type OfficePeriod,
  type ScheduleData,
} from '../domain/calendar';
import { OFFICIAL_SCHEDULES } from '../domain/calendar/official';
import { yearOfDayNumber, shanghaiDayAndOffset } from '../domain/calendar/time';
import {
  applicationDeadline,
  DEFAULT_SLA_BUDGETS,
  type CountingRule,
  type SlaAlert,
  type SlaBudgets,
  type SlaLevel,
  type SlaScope,
  type SlaSettings,
} from '../domain/sla';
import type { KaibanMetrics } from '../observability/metrics';

export interface SlaActivityDeps {
  settings: SlaSettings;
  /** Alert webhooks: `id` names the channel (config/sla.ts webhookChannelId), `url` receives the POST. */
  webhooks?: readonly { id: string; url: string }[];
  /** HMAC-SHA256 key of `X-Kaiban-Signature`; required when there are webhooks. */
  webhookSecret?: string;
  webhookTimeoutMs?: number;
  logger: Logger;
  metrics?: KaibanMetrics;
  now?: () => Date;
  fetch?: typeof fetch;
}

/**
 * Everything the workflow needs to run its SLA clocks deterministically, recorded in history once: the calendar
 * data and office hours (the workflow builds the same pure calendar from them), the budgets, the alert channels.
 */
export interface SlaPlan {
  computedAt: string;
  clockStartedAt: string;
  countingRule: CountingRule;
  officeHours: OfficePeriod[];
  /** The schedules from the year of the clock start on. */
  schedules: ScheduleData;
  budgets: SlaBudgets;
  /** `log`, then one `webhook:<id>` per configured webhook. */
  channels: string[];
  /** The application's deadlines at the clock start (before any pause), for the record and the log. */
  application?: { budgetMs: number; warningAt: string; dueAt: string };
  /** A year the deadlines need but the calendar data lacks (see domain/calendar/README.md); ask again later. */
  missingYear?: number;
}

export interface ComputeDeadlinesInput {
  applicationId: string;
  /** The application's clock start (ISO 8601): its submission instant (see acceptApplication). */
  clockStartedAt: string;
  /** A later year the workflow's clocks reached: the answer must cover it. */
  coverYear?: number;
}

export interface DeliverAlertInput {
  channel: string;
  alert: SlaAlert;
  /**
   * Every channel of the application's plan. A webhook of the plan that the configuration no longer has is replaced by
   * the configured ones the plan lacks (see deliverAlert). Absent in histories before it: such a channel is dropped.
   */
  channels?: string[];
}

export interface AlertDelivered {
  deliveredAt: string;
  attempts: number;
}

export interface SlaOutcomeInput {
  applicationId: string;
  outcome: string;
  /** For completed applications: the application clock's working time, pauses excluded. */
  elapsedWorkingMs?: number;
  level: SlaLevel;
  breached: SlaScope[];
}

export const ALERT_SIGNATURE_HEADER = 'X-Kaiban-Signature';
export const ALERT_ID_HEADER = 'X-Kaiban-Alert-Id';

/** `sha256=<lowercase hex HMAC-SHA256 of the exact body bytes>`. */
export function signAlertBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** The PRODUCT.md defaults with the shipped calendar, alerts to the log only: for callers that configure nothing. */
export function defaultSlaDeps(logger: Logger): SlaActivityDeps {
  return {
    settings: {
      budgets: DEFAULT_SLA_BUDGETS,
      officeHours: DEFAULT_OFFICE_HOURS,
      countingRule: 'working-time',
      schedules: OFFICIAL_SCHEDULES,
    },
    logger,
  };
}

/**
 * Attempts in a row at an alert channel that no worker running them knew, before it is given up (AlertChannelUnknown):
 * at the delivery's backoff (1 s doubling to 10 min) at least some 27 minutes, nearer two hours once the backoff has
 * reached 10 minutes — long enough for a rolling deploy, or a replica started without SLA_WEBHOOK_URLS, to be replaced
 * by workers that know it; short of holding an application open for ever for a webhook removed everywhere.
 */
export const UNKNOWN_CHANNEL_ATTEMPTS = 12;

export function createSlaActivities(deps: SlaActivityDeps) {
  const now = deps.now ?? (() => new Date());
  const send = deps.fetch ?? fetch;
  const { settings, logger } = deps;
  const calendar = createWorkingCalendar({ officeHours: settings.officeHours, schedules: settings.schedules });
  const webhooks = new Map((deps.webhooks ?? []).map((w) => [w.id, w]));
  if (webhooks.size > 0 && !deps.webhookSecret) throw new Error('SLA webhooks need a signing secret');

  /**
   * The webhooks that stand in for a planned one this configuration does not have (its URL changed, or it was
   * removed): those configured now that the plan lacks — all of them for the first such channel of the plan, none for
   * the others, so that each alert reaches each of them once.
   */
  const replacementsOf = (channel: string, planned: string[] | undefined): { id: string; url: string }[] => {
    if (!planned) return [];
    const unknown = planned.filter((c) => c !== 'log' && !webhooks.has(c));
    if (unknown[0] !== channel) return [];
    return [...webhooks.values()].filter((w) => !planned.includes(w.id));
  };

  return {
    /**
     * Never fails for missing calendar data: the plan then names the missing year, and the workflow asks again
     * later (a timer), so a December without next year's schedule is visible in the status, not a failing activity.
     */
    async computeDeadlines(input: ComputeDeadlinesInput): Promise<SlaPlan> {
      const start = parseInstant(input.clockStartedAt);
      const startYear = yearOfDayNumber(shanghaiDayAndOffset(start).dayNumber);
      const covered = calendar.coveredYears();
      let missingYear = [startYear, input.coverYear].find((year) => year !== undefined && !covered.includes(year));
      let application: SlaPlan['application'];
      if (missingYear === undefined) {
        try {
          const deadline = applicationDeadline(calendar, settings, start);
          application = {
            budgetMs: deadline.budgetMs,
            warningAt: formatShanghai(deadline.warningAt),
            dueAt: formatShanghai(deadline.dueAt),
          };
        } catch (err) {
          if (!(err instanceof CalendarYearMissingError)) throw err;
          missingYear = err.year;
        }
      }
      const plan: SlaPlan = {
        computedAt: now().toISOString(),
        clockStartedAt: formatShanghai(start),
        countingRule: settings.countingRule,
        officeHours: settings.officeHours.map((p) => ({ start: p.start, end: p.end })),
        schedules: { years: settings.schedules.years.filter((y) => y.year >= startYear) },
        budgets: settings.budgets,
        channels: ['log', ...webhooks.keys()],
        ...(application ? { application } : {}),
        ...(missingYear !== undefined ? { missingYear } : {}),
      };
      if (missingYear !== undefined) {
        logger.error(
          { applicationId: input.applicationId, year: missingYear },
          `SLA deadlines wait for the official schedule of ${missingYear}: ${new CalendarYearMissingError(missingYear).message}`,
        );
      } else {
        logger.info(
          {
            applicationId: input.applicationId,
            clockStartedAt: plan.clockStartedAt,
            ...application,
            rule: plan.countingRule,
          },
          'SLA deadlines computed',
        );
      }
      return plan;
    },

    async deliverAlert(input: DeliverAlertInput): Promise<AlertDelivered> {
      const { alert, channel } = input;
      const { attempt, heartbeatDetails } = Context.current().info;
      // `slaLevel`, not `level`: pino's own `level` field must stay the log level.
      const fields = {
        alertId: alert.alertId,
        applicationId: alert.applicationId,
        scope: alert.scope,
        slaLevel: alert.level,
        channel,
        attempt,
      };
      if (channel === 'log') {
        const line = {
          ...fields,
          event: 'sla_alert',
          deadline: alert.deadline,
          thresholdAt: alert.thresholdAt,
          consumedFraction: alert.consumedFraction,
        };
        const message = `SLA ${alert.level}: ${alert.scope} of ${alert.applicationId}, due ${alert.deadline}`;
        if (alert.level === 'breached') logger.error(line, message);
        else logger.warn(line, message);
        deps.metrics?.slaAlerts.inc({ level: alert.level, scope: alert.scope });
        return { deliveredAt: now().toISOString(), attempts: attempt };
      }
      const webhook = webhooks.get(channel);
      const targets = webhook ? [webhook] : replacementsOf(channel, input.channels);
      if (targets.length === 0) {
        // This worker knows no webhook for it: one started without the setting, or mid-deploy, while others know it —
        // tried again a while (another worker may take the retry) before it counts as removed. The attempts counted
        // are those in a row that found no webhook (the first of them in the heartbeat details, which reach the next
        // attempt), not those a receiver that was down spent before.
        const since = (heartbeatDetails as { unknownSince?: unknown } | undefined)?.unknownSince;
        const unknownSince = typeof since === 'number' && since <= attempt ? since : attempt;
        const unknownAttempts = attempt - unknownSince + 1;
        if (unknownAttempts < UNKNOWN_CHANNEL_ATTEMPTS) {
          Context.current().heartbeat({ unknownSince });
          throw ApplicationFailure.retryable(
            `alert channel ${channel} is not configured on this worker (attempt ${unknownAttempts} of ${UNKNOWN_CHANNEL_ATTEMPTS} without it)`,
            'AlertChannelNotConfiguredHere',
          );
        }
        // The webhook was removed from the configuration since the application was accepted, with none in its place.
        throw ApplicationFailure.nonRetryable(
          `alert channel ${channel} is not configured any more`,
          'AlertChannelUnknown',
        );
      }
      const body = JSON.stringify(alert);
      const failures: string[] = [];
      // A replaced channel goes to each of its replacements; a retry sends to them all again (receivers tell a repeat
      // by X-Kaiban-Alert-Id, as after any retried delivery).
      for (const target of targets) {
        try {
          const res = await send(target.url, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'user-agent': 'kaiban-sla-alerts',
              [ALERT_ID_HEADER]: alert.alertId,
              [ALERT_SIGNATURE_HEADER]: signAlertBody(deps.webhookSecret!, body),
              'X-Kaiban-Delivery-Attempt': String(attempt),
            },
            body,
            redirect: 'manual',
            signal: AbortSignal.timeout(deps.webhookTimeoutMs ?? 10_000),
          });
          await res.arrayBuffer().catch(() => undefined);
          if (!res.ok) failures.push(`the webhook answered ${res.status}`);
        } catch (err) {
          failures.push(`the webhook is unreachable: ${(err as Error).message}`);
        }
      }
      if (failures.length === 0) {
        logger.info(
          webhook ? fields : { ...fields, replacedBy: targets.map((t) => t.id) },
          webhook ? 'SLA alert delivered' : 'SLA alert delivered to the webhooks configured in place of its channel',
        );
        return { deliveredAt: now().toISOString(), attempts: attempt };
      }
      const failure = failures.join('; ');
      // A worker that knows the channel: a later one that does not starts counting afresh.
      Context.current().heartbeat({});
      deps.metrics?.slaAlertDeliveryFailures.inc({ channel });
      logger.warn({ ...fields, failure }, 'SLA alert delivery failed; retrying');
      throw ApplicationFailure.retryable(failure, 'AlertDeliveryFailed');
    },
  };
}

/**
 * The end of an application's SLA clocks: the completion-time histogram and a log line. Called through the
 * workflow's `sla` sink (workflows/sla.ts) once per application, by the worker that completed it, never on replay.
 */
export function recordSlaOutcome(deps: Pick<SlaActivityDeps, 'logger' | 'metrics'>, input: SlaOutcomeInput): void {
  if (input.outcome === 'completed' && input.elapsedWorkingMs !== undefined) {
    deps.metrics?.slaCompletionWorkingHours.observe(input.elapsedWorkingMs / 3_600_000);
  }
  const { level, ...rest } = input;
  deps.logger.info({ ...rest, slaLevel: level, event: 'sla_outcome' }, 'application SLA closed');
}

export type SlaActivities = ReturnType<typeof createSlaActivities>;
