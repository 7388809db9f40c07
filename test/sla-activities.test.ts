/**
 * The SLA activities and the SLA parts of the API without Temporal: the deadline plan (calendar data recorded for the
 * workflow, a missing year named, never guessed), alert delivery (signed webhook, log line, metric), configuration,
 * and the routes /v1/calendar/due, /metrics and /readyz on the real app.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import express from 'express';
import {
  createSlaActivities,
  recordSlaOutcome,
  signAlertBody,
  UNKNOWN_CHANNEL_ATTEMPTS,
  type AlertDelivered,
  type SlaActivityDeps,
  type SlaPlan,
} from '../activities/sla';
import { clockStartOf } from '../activities';
import { ConfigError, loadConfig } from '../config';
import { criticalPathWarning, loadSlaConfig, parseOfficeHours, webhookChannelId } from '../config/sla';
import { OFFICIAL_SCHEDULES } from '../domain/calendar/official';
import { DEFAULT_SLA_BUDGETS, type SlaAlert } from '../domain/sla';
import { createLogger } from '../observability/logger';
import { createMetrics, metricsRouter, startMetricsServer } from '../observability/metrics';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver';

const SECRET = 'activities-test-webhook-secret';
const lines: Array<Record<string, unknown>> = [];
const logger = createLogger({
  level: 'info',
  destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
});
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver(SECRET);
});
afterAll(() => receiver.close());

function activities(overrides: Partial<SlaActivityDeps> = {}) {
  const metrics = createMetrics({ defaultMetrics: false });
  const deps: SlaActivityDeps = {
    settings: {
      budgets: DEFAULT_SLA_BUDGETS,
      officeHours: [
        { start: '09:00', end: '12:00' },
        { start: '13:30', end: '17:30' },
      ],
      countingRule: 'working-time',
      schedules: OFFICIAL_SCHEDULES,
    },
    webhooks: [{ id: webhookChannelId(receiver.url), url: receiver.url }],
    webhookSecret: SECRET,
    logger,
    metrics,
    ...overrides,
  };
  return { run: createSlaActivities(deps), metrics };
}

const alert: SlaAlert = {
  type: 'sla.breached',
  alertId: 'kb-1:seal:breached',
  applicationId: 'kb-1',
  scope: 'seal',
  level: 'breached',
  deadline: '2026-02-14T10:00:00+08:00',
  thresholdAt: '2026-02-14T10:00:00+08:00',
  consumedFraction: 1,
  committedHours: 2,
  at: '2026-02-14T10:00:00.012+08:00',
};

describe('computeDeadlines', () => {
  it('returns the calendar data and office hours the workflow needs, from the year of acceptance on, and the application deadlines', async () => {
    const { run } = activities();
    const plan: SlaPlan = await new MockActivityEnvironment().run(run.computeDeadlines, {
      applicationId: 'kb-1',
      clockStartedAt: '2026-02-13T08:00:00.000Z',
    });
    expect(plan.schedules.years.map((y) => y.year)).toEqual([2026]);
    expect(plan.officeHours).toEqual([
      { start: '09:00', end: '12:00' },
      { start: '13:30', end: '17:30' },
    ]);
    expect(plan.channels).toEqual(['log', webhookChannelId(receiver.url)]);
    // Friday 16:00 before the Spring Festival; Saturday 14 February is a make-up working day.
    expect(plan.application).toEqual({
      budgetMs: 7 * 3_600_000,
      warningAt: '2026-02-14T14:15:00+08:00',
      dueAt: '2026-02-14T16:00:00+08:00',
    });
    expect(plan.missingYear).toBeUndefined();
  });

  it('names a missing year instead of guessing from weekends', async () => {
    const { run } = activities();
    const env = new MockActivityEnvironment();
    expect(
      await env.run(run.computeDeadlines, { applicationId: 'kb-1', clockStartedAt: '2026-12-31T08:00:00Z' }),
    ).toMatchObject({ missingYear: 2027 });
    expect(
      await env.run(run.computeDeadlines, {
        applicationId: 'kb-1',
        clockStartedAt: '2026-03-02T08:00:00Z',
        coverYear: 2027,
      }),
    ).toMatchObject({ missingYear: 2027 });
    expect(lines.some((l) => l.level === 50 && l.year === 2027)).toBe(true);
  });
});

describe('the clock start', () => {
  const now = new Date('2026-12-01T08:30:00.000Z');
  it('is the submission instant, however long before the acceptance it was', () => {
    expect(clockStartOf('2026-12-01T01:00:00.000Z', now).toISOString()).toBe('2026-12-01T01:00:00.000Z');
    expect(clockStartOf('2026-11-30T09:00:00+08:00', now).toISOString()).toBe('2026-11-30T01:00:00.000Z');
  });
  it("is the acceptance instant when the submission lies ahead of the worker's clock, is missing or unreadable", () => {
    for (const submittedAt of ['2026-12-01T08:30:00.001Z', undefined, '', 'yesterday']) {
      expect(clockStartOf(submittedAt, now)).toEqual(now);
    }
  });
});

describe('deliverAlert', () => {
  it('posts the alert to the webhook with its id and an HMAC-SHA256 signature of the exact body', async () => {
    const { run, metrics } = activities();
    const done: AlertDelivered = await new MockActivityEnvironment({ attempt: 3 }).run(run.deliverAlert, {
      channel: webhookChannelId(receiver.url),
      alert,
    });
    expect(done.attempts).toBe(3);
    const got = receiver.received.at(-1)!;
    expect(got.signatureValid).toBe(true);
    expect(got.headers['x-kaiban-signature']).toBe(signAlertBody(SECRET, got.rawBody));
    expect(got.headers['x-kaiban-alert-id']).toBe('kb-1:seal:breached');
    expect(got.body).toEqual(alert);
    expect((await metrics.registry.getSingleMetric('kaiban_sla_alerts_total')!.get()).values).toEqual([]);
  });

  it('fails (so Temporal retries) when the webhook does not answer 2xx, and counts the failure', async () => {
    const { run, metrics } = activities();
    receiver.failNext('kb-2:seal:breached', 1);
    await expect(
      new MockActivityEnvironment().run(run.deliverAlert, {
        channel: webhookChannelId(receiver.url),
        alert: { ...alert, alertId: 'kb-2:seal:breached' },
      }),
    ).rejects.toMatchObject({
      type: 'AlertDeliveryFailed',
      nonRetryable: false,
    });
    expect(await metrics.registry.getSingleMetricAsString('kaiban_sla_alert_delivery_failures_total')).toContain(
      `channel="${webhookChannelId(receiver.url)}"} 1`,
    );
  });

  it('retries a channel this worker does not know for a while (another worker may know it), then gives it up', async () => {
    const { run } = activities();
    const unknown = { channel: 'webhook:000000000000', alert };
    await expect(new MockActivityEnvironment().run(run.deliverAlert, unknown)).rejects.toMatchObject({
      type: 'AlertChannelNotConfiguredHere',
      nonRetryable: false,
    });
    await expect(
      new MockActivityEnvironment({ attempt: UNKNOWN_CHANNEL_ATTEMPTS - 1 }).run(run.deliverAlert, unknown),
    ).rejects.toMatchObject({ type: 'AlertChannelNotConfiguredHere', nonRetryable: false });
    await expect(
      new MockActivityEnvironment({ attempt: UNKNOWN_CHANNEL_ATTEMPTS, heartbeatDetails: { unknownSince: 1 } }).run(
        run.deliverAlert,
        unknown,
      ),
    ).rejects.toMatchObject({ type: 'AlertChannelUnknown', nonRetryable: true });
    // Counted from the first attempt in a row without it (the heartbeat details say which), not from the first of
    // all: an alert whose receiver was down for an hour is not dropped by the first replica that lacks its webhook.
    const after = (attempt: number, heartbeatDetails?: unknown) =>
      new MockActivityEnvironment({ attempt, heartbeatDetails }).run(run.deliverAlert, unknown);
    await expect(after(30)).rejects.toMatchObject({ type: 'AlertChannelNotConfiguredHere', nonRetryable: false });
    await expect(after(30, { unknownSince: 20 })).rejects.toMatchObject({ type: 'AlertChannelNotConfiguredHere' });
    await expect(after(31, { unknownSince: 20 })).rejects.toMatchObject({ type: 'AlertChannelUnknown' });
    // Each attempt without it passes the count on; a failed delivery by a worker that knows it starts it afresh.
    const beats: unknown[] = [];
    const env = new MockActivityEnvironment({ attempt: 25, heartbeatDetails: { unknownSince: 20 } });
    env.on('heartbeat', (d: unknown) => beats.push(d));
    await expect(env.run(run.deliverAlert, unknown)).rejects.toMatchObject({ type: 'AlertChannelNotConfiguredHere' });
    expect(beats).toEqual([{ unknownSince: 20 }]);
  });

  it('sends a planned webhook the configuration no longer has to the configured ones the plan lacks, once: the first such channel takes them, the others none', async () => {
    const { run } = activities();
    const current = webhookChannelId(receiver.url);
    const channels = ['log', 'webhook:000000000001', 'webhook:000000000002'];
    const before = receiver.received.length;
    await new MockActivityEnvironment().run(run.deliverAlert, { channel: 'webhook:000000000001', alert, channels });
    expect(receiver.received.slice(before).map((r) => r.headers['x-kaiban-alert-id'])).toEqual([alert.alertId]);
    expect(lines.at(-1)).toMatchObject({ replacedBy: [current] });
    const last = new MockActivityEnvironment({
      attempt: UNKNOWN_CHANNEL_ATTEMPTS,
      heartbeatDetails: { unknownSince: 1 },
    });
    await expect(
      last.run(run.deliverAlert, { channel: 'webhook:000000000002', alert, channels }),
    ).rejects.toMatchObject({ type: 'AlertChannelUnknown', nonRetryable: true });
    // A plan that has the configured webhook already: nothing stands in for the removed one.
    await expect(
      new MockActivityEnvironment({ attempt: UNKNOWN_CHANNEL_ATTEMPTS, heartbeatDetails: { unknownSince: 1 } }).run(
        run.deliverAlert,
        {
          channel: 'webhook:000000000001',
          alert,
          channels: ['log', 'webhook:000000000001', current],
        },
      ),
    ).rejects.toMatchObject({ type: 'AlertChannelUnknown' });
    expect(receiver.received.length).toBe(before + 1);
  });

  it('the log channel writes one structured line and counts the alert by level and scope', async () => {
    const { run, metrics } = activities();
    await new MockActivityEnvironment().run(run.deliverAlert, { channel: 'log', alert });
    expect(lines.at(-1)).toMatchObject({
      level: 50,
      slaLevel: 'breached',
      event: 'sla_alert',
      alertId: 'kb-1:seal:breached',
      scope: 'seal',
      deadline: alert.deadline,
      msg: expect.stringContaining('SLA breached'),
    });
    expect(await metrics.registry.getSingleMetricAsString('kaiban_sla_alerts_total')).toContain(
      'kaiban_sla_alerts_total{level="breached",scope="seal"} 1',
    );
  });

  it('observes the completion working time of completed applications', async () => {
    const { metrics } = activities();
    recordSlaOutcome(
      { logger, metrics },
      {
        applicationId: 'kb-1',
        outcome: 'completed',
        elapsedWorkingMs: 5.5 * 3_600_000,
        level: 'on_track' as const,
        breached: [],
      },
    );
    const text = await metrics.registry.getSingleMetricAsString('kaiban_sla_completion_working_hours');
    expect(text).toContain('kaiban_sla_completion_working_hours_bucket{le="6"} 1');
    expect(text).toContain('kaiban_sla_completion_working_hours_bucket{le="5"} 0');
  });
});

describe('configuration', () => {
  const base = {
    ...process.env,
    SLA_WEBHOOK_URLS: undefined,
    SLA_WEBHOOK_SECRET: undefined,
    SLA_BUDGETS: undefined,
    SLA_OFFICE_HOURS: undefined,
    SLA_CALENDAR_FILE: undefined,
  };

  it('reads budgets, office hours, the counting rule and webhooks', () => {
    const sla = loadSlaConfig(
      loadConfig({
        ...base,
        SLA_BUDGETS: '{"license": 2.5}',
        SLA_OFFICE_HOURS: '08:30-12:00, 14:00-17:30',
        SLA_COUNTING_RULE: 'next-day',
        SLA_WEBHOOK_URLS: 'https://a.example/x, https://b.example/y',
        SLA_WEBHOOK_SECRET: SECRET,
      }),
    );
    expect(sla.settings.budgets.license.committedHours).toBe(2.5);
    expect(sla.settings.officeHours).toEqual([
      { start: '08:30', end: '12:00' },
      { start: '14:00', end: '17:30' },
    ]);
    expect(sla.calendar.workingDayMs).toBe(7 * 3_600_000);
    expect(sla.settings.countingRule).toBe('next-day');
    expect(sla.webhooks.map((w) => w.id)).toEqual([
      webhookChannelId('https://a.example/x'),
      webhookChannelId('https://b.example/y'),
    ]);
    expect(criticalPathWarning(sla.settings)).toBeUndefined();
  });

  it('refuses webhooks without a secret, bad budgets and bad office hours, naming the variable', () => {
    expect(() => loadSlaConfig(loadConfig({ ...base, SLA_WEBHOOK_URLS: 'https://a.example/x' }))).toThrow(
      /SLA_WEBHOOK_SECRET is required/,
    );
    expect(() => loadSlaConfig(loadConfig({ ...base, SLA_BUDGETS: '{"lisence": 2}' }))).toThrow(ConfigError);
    // A user name and password in a webhook URL: fetch would refuse it on every alert; the password is not repeated.
    const withPassword = () =>
      loadSlaConfig(
        loadConfig({
          ...base,
          SLA_WEBHOOK_URLS: 'https://a.example/x, https://ops:s3cret@b.example/y',
          SLA_WEBHOOK_SECRET: 'x'.repeat(32),
        }),
      );
    expect(withPassword).toThrow(/^SLA_WEBHOOK_URLS: URL 2 carries a user name or password/);
    expect(withPassword).not.toThrow(/s3cret/);
    expect(() => parseOfficeHours('9-12')).toThrow(/SLA_OFFICE_HOURS/);
    /** What loading the SLA configuration with `variable` set to `text` says ('accepted' when it loads). */
    const configError = (variable: 'SLA_OFFICE_HOURS' | 'SLA_BUDGETS', text: string) => {
      try {
        loadSlaConfig(loadConfig({ ...base, [variable]: text }));
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    const officeHoursError = (text: string) => configError('SLA_OFFICE_HOURS', text);
    const budgetsError = (text: string) => configError('SLA_BUDGETS', text);
    // The period by its number as written (counted from 1) and its text; one variable named, not two.
    expect(officeHoursError('12:00-09:00')).toBe(
      "SLA_OFFICE_HOURS: period 1 '12:00-09:00': 09:00 is not after 12:00 (a period lies within one day: one across midnight is two, 12:00-24:00 and 00:00-09:00)",
    );
    expect(officeHoursError('09:00-12:00,11:30-17:30')).toBe(
      "SLA_OFFICE_HOURS: period 2 '11:30-17:30': periods must be in order and must not overlap",
    );
    expect(officeHoursError('22:00-02:00')).toMatch(/one across midnight is two, 22:00-24:00 and 00:00-02:00/);
    // A budget that rounds to no time would be breached on arrival; a bad statutory limit is named as such.
    expect(budgetsError('{"application": 0.0000001}')).toMatch(/at least one second[^]*at application/);
    expect(budgetsError('{"license": {"statutory": {"workingDays": 0}}}')).toMatch(
      /statutory: a statutory limit is "immediate"[^]*at license/,
    );
    expect(budgetsError('{"seal": 0.001}')).toBe('accepted'); // 3.6 s: the real-time tests' budgets
  });

  it("promises the configured office hours' working day, unless SLA_BUDGETS names the application's hours", () => {
    // Six-hour days: "one working day" is six hours (it stayed seven, more than a day), and the critical path's seven
    // committed hours no longer fit: said at start-up.
    const sixHours = loadSlaConfig(loadConfig({ ...base, SLA_OFFICE_HOURS: '09:00-12:00,14:00-17:00' }));
    expect(sixHours.settings.budgets.application.committedHours).toBe(6);
    expect(criticalPathWarning(sixHours.settings)).toMatch(/commits 7 h, more than the application's 6 h/);
    const named = loadSlaConfig(
      loadConfig({ ...base, SLA_OFFICE_HOURS: '09:00-12:00,14:00-17:00', SLA_BUDGETS: '{"application": 8}' }),
    );
    expect(named.settings.budgets.application.committedHours).toBe(8);
    expect(loadSlaConfig(loadConfig(base)).settings.budgets.application.committedHours).toBe(7);
  });

  it('warns when the committed step budgets on the critical path exceed the promise', () => {
    const sla = loadSlaConfig(loadConfig({ ...base, SLA_BUDGETS: '{"seal": 3}' }));
    expect(criticalPathWarning(sla.settings)).toMatch(/name → license → seal → bank → archive commits 8 h/);
  });
});

describe('/metrics', () => {
  it('serves the registry in the Prometheus text format, with open applications by level from visibility', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.openApplicationsByLevel = async () => ({ on_track: 4, warning: 2, breached: 1 });
    metrics.slaAlerts.inc({ level: 'warning', scope: 'application' });
    const app = express().use(metricsRouter(metrics));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/metrics`);
      expect(res.headers.get('content-type')).toContain('text/plain');
      const text = await res.text();
      expect(text).toContain('kaiban_sla_alerts_total{level="warning",scope="application"} 1');
      expect(text).toContain('kaiban_sla_open_applications{level="breached"} 1');
      expect(text).toContain('kaiban_sla_open_applications{level="on_track"} 4');
    } finally {
      server.close();
    }
  });

  it('when visibility cannot be counted, then the open-task figures are left out of that scrape, not kept stale, and the failure is logged', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const warnings: string[] = [];
    metrics.logger = createLogger({
      level: 'warn',
      destination: { write: (line: string) => void warnings.push((JSON.parse(line) as { msg: string }).msg) },
    });
    let temporalUp = true;
    metrics.openApplicationsByTask = async () => {
      if (!temporalUp) throw new Error('14 UNAVAILABLE: connection refused');
      return { incident: 3, review: 1 };
    };
    expect(await metrics.registry.metrics()).toContain('kaiban_open_tasks{task="incident"} 3');
    temporalUp = false;
    const scraped = await metrics.registry.metrics();
    expect(scraped).not.toContain('kaiban_open_tasks{task="incident"}');
    expect(scraped).toContain('kaiban_sla_alerts_total'); // the scrape itself still answers
    expect(warnings).toEqual(['open tasks: visibility count failed']);
  });

  it('a standalone worker serves the same registry on WORKER_METRICS_PORT', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.slaCompletionWorkingHours.observe(6.5);
    const server = await startMetricsServer(metrics, { port: 0, host: '127.0.0.1' });
    try {
      expect(await (await fetch(server.url)).text()).toContain('kaiban_sla_completion_working_hours_count 1');
      expect((await fetch(server.url.replace('/metrics', '/other'))).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
