/**
 * The one-working-day SLA in the businessStartup workflow, on the time-skipping server with the real agency
 * simulator, the real API and a real webhook receiver. The server's clock is moved by hand (env.sleep) around each
 * expected instant; the expected instants are worked out here from the calendar rules (and checked against the naive
 * calendar of helpers/sla-reference.ts), never taken from the implementation.
 *
 * The worker caches no workflow (maxCachedWorkflows 0): every workflow task replays the history from the start, as
 * after a worker crash, so "exactly one alert" is tested against replays too. The correction test, which acts through
 * updates, runs on a second worker with a cache (see there).
 */
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Application } from '../domain/application';
import type { SlaAlert } from '../domain/sla';
import type { ApplicationStatus, StepStatus } from '../domain/status';
import type { StepId } from '../domain/steps';
import { correctionUpdate, reviewUpdate, statusQuery } from '../workflows/messages';
import { freshApplication, startApplication } from './helpers/fixtures';
import { referenceCalendar, RULES_2026, shiftYear } from './helpers/sla-reference';
import { eventually, skipTo, TEST_YEAR, writeTestCalendarFile } from './helpers/sla-world';
import { patchSimulator, startStack, type Stack } from './helpers/stack';
import { Worker } from '@temporalio/worker';
import { replaySinks, type WorkerTuning } from '../worker/worker';
import { testDataConverter } from './helpers/auth';
import { patchMarkers } from './helpers/histories';
import { startTimeSkippingServer, workflowBundle } from './helpers/temporal';
import { waitForStatus } from './helpers/wait';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver';

const H = 3_600_000;
const DAY = 24 * H;
const SECRET = 'test-sla-webhook-secret';
const at = (text: string) => Date.parse(text);
const iso = (ms: number) => {
  const d = new Date(ms + 8 * H).toISOString();
  return `${d.slice(0, 19)}${d.slice(19, 23) === '.000' ? '' : d.slice(19, 23)}+08:00`;
};
/** The 2026 rules on the 2037 dates, written out independently of domain/calendar. */
const reference = referenceCalendar(shiftYear(RULES_2026, 2026, TEST_YEAR));

let env: TestWorkflowEnvironment;
let stack: Stack;
/** The correction test's stack: a worker that caches workflows (see that test). */
let cached: Stack | undefined;
let receiver: WebhookReceiver;
/** The instant the next acceptance reports (see helpers/sla-world.ts). */
let acceptAt = 0;

// Decisions in the agencies' answers, no callbacks: each callback would make the API query the workflow (is the
// decision still awaited?), and with no workflow cached every query replays the whole history beside the test's own
// queries and updates — load this file does not need.
const FAST_AGENCIES = Object.fromEntries(
  ['market', 'police', 'tax', 'hrss', 'fund', 'bank'].map((a) => [a, { processingMs: 0, callbacks: false }]),
);

/**
 * Workers without a workflow cache (no sticky queue: a worker deployed later takes the next task at once), with Node's
 * 10 stack frames so that this file's workers leave the process-wide limit as it was: `npm test` runs every file in
 * this one process (`--runInBand`), and a limit set here would apply to the contexts later files create. The
 * production default is tested in test/worker-stack-traces.test.ts.
 */
const NO_CACHE_TUNING: WorkerTuning = {
  maxCachedWorkflows: 0,
  maxConcurrentWorkflowTaskExecutions: 10,
  maxConcurrentActivityTaskExecutions: 20,
  reuseV8Context: true,
  workflowStackTraceLimit: 10,
};

/** A stack whose acceptances report `acceptAt`; without tuning, the worker keeps its default workflow cache. */
async function startSlaStack(tuning?: WorkerTuning): Promise<Stack> {
  const started = await startStack(env, {
    env: { SLA_WEBHOOK_URLS: receiver.url, SLA_WEBHOOK_SECRET: SECRET, SLA_CALENDAR_FILE: writeTestCalendarFile() },
    // A slow agency is polled only every 10 days: its decision reaches the workflow at a time the test knows.
    settings: { pollInitialMs: 10 * DAY, pollMaxMs: 10 * DAY },
    activityDeps: (deps) => ({ ...deps, now: () => new Date(acceptAt) }),
    ...(tuning ? { tuning } : {}),
  });
  await patchSimulator(started.simulator, { agencies: FAST_AGENCIES });
  return started;
}

beforeAll(async () => {
  env = await startTimeSkippingServer();
  receiver = await startWebhookReceiver(SECRET);
  stack = await startSlaStack(NO_CACHE_TUNING);
});

afterAll(async () => {
  await cached?.close();
  await stack?.close();
  await receiver?.close();
  await env?.teardown();
});

beforeEach(async () => {
  await patchSimulator(stack.simulator, { agencies: FAST_AGENCIES });
});

async function acceptAtInstant(
  instant: number,
  edit?: (app: Application) => void,
  on: Stack = stack,
): Promise<WorkflowHandle> {
  await skipTo(env, instant);
  acceptAt = instant;
  return startApplication(env.client, { taskQueue: on.taskQueue, edit, submittedAt: instant });
}

const step = (status: ApplicationStatus, id: StepId): StepStatus => status.steps.find((s) => s.id === id)!;
const alertsOf = (applicationId: string) => receiver.accepted(applicationId).map((a) => `${a.scope}:${a.level}`);
const deliveriesOf = (alertId: string) => receiver.received.filter((r) => r.alertId === alertId);
const settle = () => new Promise((r) => setTimeout(r, 300));

/**
 * Runs an operator's or applicant's action once the workflow offers it. With no workflow cached, a query is answered
 * by replaying the history, which can hold events no workflow task has completed yet; the status can then show the
 * review before the workflow accepts an action on it (an update is validated before the task's other events are
 * applied). Such a refusal ("not pending") is retried for up to 30 s; any other refusal fails the test.
 */
async function whenOffered(send: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await send();
      return;
    } catch (err) {
      const type =
        err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type;
      if (attempt >= 60 || (type !== 'NO_REVIEW_PENDING' && type !== 'NO_CORRECTION_PENDING')) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** The patch markers of an application's history (sorted), once it has replayed on the current code. */
async function replayedMarkers(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  await Worker.runReplayHistory(
    { workflowBundle: await workflowBundle(), dataConverter: testDataConverter(), sinks: replaySinks() },
    history,
    handle.workflowId,
  );
  return patchMarkers(history).sort();
}

/** Until the workflow has completed (in real time: time is skipped only by the test). */
async function completed(handle: WorkflowHandle): Promise<ApplicationStatus> {
  await eventually(
    () => handle.describe(),
    (d) => d.status.name !== 'RUNNING',
  );
  return handle.query(statusQuery);
}

describe('the one-working-day SLA', () => {
  it('accepted on the eve of National Day with a slow public-security bureau: the seal and the application are warned and breached at the exact instants, once each, while the steps that finish in time raise nothing', async () => {
    // Wednesday 30 September 16:00; 1–7 October are days off; Thursday 8 October is the next working day.
    const accepted = at(`${TEST_YEAR}-09-30T16:00:00+08:00`);
    await patchSimulator(stack.simulator, { agencies: { police: { processingMs: 1, callbacks: false } } });
    receiver.failNext(':seal:warning', 2);
    const handle = await acceptAtInstant(accepted);
    const id = handle.workflowId;

    const filed = await waitForStatus(
      handle,
      (s) =>
        step(s, 'seal').state === 'pending' &&
        (['tax', 'social', 'fund'] as const).every((x) => step(s, x).state === 'done'),
    );
    const sealStart = Date.parse(step(filed, 'seal').startedAt!);
    const lag = sealStart - accepted; // real milliseconds between acceptance and the seal step
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThan(60_000);

    // By hand. Application, 7 h from 16:00: 1.5 h on 30 September, then 8 October 09:00–12:00 (4.5 h) and 13:30 on:
    // 75 % = 5.25 h at 14:15, 100 % at 16:00. Seal, 2 h from 16:00 + lag: 1.5 h − lag on 30 September, so 75 %
    // (1.5 h) is reached at 09:00 + lag on 8 October and 100 % half an hour later.
    const expected = {
      sealWarning: at(`${TEST_YEAR}-10-08T09:00:00+08:00`) + lag,
      sealBreach: at(`${TEST_YEAR}-10-08T09:30:00+08:00`) + lag,
      appWarning: at(`${TEST_YEAR}-10-08T14:15:00+08:00`),
      appBreach: at(`${TEST_YEAR}-10-08T16:00:00+08:00`),
    };
    expect(reference.add(sealStart, 1.5 * H)).toBe(expected.sealWarning);
    expect(reference.add(sealStart, 2 * H)).toBe(expected.sealBreach);
    expect(reference.add(accepted, 5.25 * H)).toBe(expected.appWarning);
    expect(reference.add(accepted, 7 * H)).toBe(expected.appBreach);
    expect(filed.sla?.application).toMatchObject({
      dueAt: iso(expected.appBreach),
      warningAt: iso(expected.appWarning),
      level: 'on_track',
    });

    const exact = (alert: SlaAlert | undefined, instant: number, deadline: number) => {
      expect(alert).toBeDefined();
      expect(alert!.thresholdAt).toBe(iso(instant));
      expect(alert!.deadline).toBe(iso(deadline));
      // Raised by the timer that fires at that instant (workflow time), not at a later wake (the nearest is half an
      // hour away). The server's clock runs in real time while the workflow task waits for a loaded worker: seconds.
      expect(Date.parse(alert!.at) - instant).toBeGreaterThanOrEqual(0);
      expect(Date.parse(alert!.at) - instant).toBeLessThan(10_000);
    };
    const find = (scope: string, level: string) =>
      receiver.accepted(id).find((a) => a.scope === scope && a.level === level);

    await skipTo(env, expected.sealWarning - 1000);
    await settle();
    expect(alertsOf(id)).toEqual([]);

    // The first two deliveries of the seal warning answer 500; Temporal retries with backoff (skipped time).
    await skipTo(env, expected.sealBreach - 1000);
    await eventually(
      () => alertsOf(id),
      (a) => a.length === 1,
    );
    exact(find('seal', 'warning'), expected.sealWarning, expected.sealBreach);
    expect(deliveriesOf(`${id}:seal:warning`).map((r) => r.answered)).toEqual([500, 500, 200]);

    await skipTo(env, expected.appWarning - 1000);
    await eventually(
      () => alertsOf(id),
      (a) => a.length === 2,
    );
    exact(find('seal', 'breached'), expected.sealBreach, expected.sealBreach);

    await skipTo(env, expected.appBreach - 1000);
    await eventually(
      () => alertsOf(id),
      (a) => a.length === 3,
    );
    exact(find('application', 'warning'), expected.appWarning, expected.appBreach);
    expect(find('application', 'warning')!.consumedFraction).toBe(0.75);

    await skipTo(env, expected.appBreach + 1000);
    await eventually(
      () => alertsOf(id),
      (a) => a.length === 4,
    );
    exact(find('application', 'breached'), expected.appBreach, expected.appBreach);

    // A breach never stops the application: the bureau's decision is polled 10 days after the filing, the chain goes on.
    const breached = await handle.query(statusQuery);
    expect(breached.status).toBe('running');
    expect(breached.sla?.application).toMatchObject({ level: 'breached', consumedFraction: expect.any(Number) });
    expect(step(breached, 'seal').sla).toMatchObject({
      level: 'breached',
      clock: 'running',
      dueAt: iso(expected.sealBreach),
    });
    await skipTo(env, sealStart + 10 * DAY + 60_000);
    const status = await completed(handle);
    expect(status.status).toBe('completed');

    // Exactly one alert per (application, scope, level), each signed, each delivered once with a 2xx.
    expect(alertsOf(id).sort()).toEqual([
      'application:breached',
      'application:warning',
      'seal:breached',
      'seal:warning',
    ]);
    const mine = receiver.received.filter((r) => r.body.applicationId === id);
    expect(mine.every((r) => r.signatureValid)).toBe(true);
    for (const alertId of new Set(mine.map((r) => r.alertId))) {
      const deliveries = deliveriesOf(alertId);
      expect(deliveries.filter((r) => r.answered < 300)).toHaveLength(1);
      expect(new Set(deliveries.map((r) => r.rawBody)).size).toBe(1); // a retry sends the same body and signature
    }
    expect(mine[0]!.body).toMatchObject({
      type: 'sla.warning',
      alertId: `${id}:seal:warning`,
      applicationId: id,
      scope: 'seal',
      level: 'warning',
      consumedFraction: 0.75,
      committedHours: 2,
    });

    // The status shows the alerts with their delivery per channel, and every scope's figures.
    expect(
      status.sla?.alerts.map((a) => [
        a.alertId,
        a.deliveries.map((d) => [d.channel.replace(/:.*/, ''), d.state, d.attempts]),
      ]),
    ).toEqual([
      [
        `${id}:seal:warning`,
        [
          ['log', 'delivered', 1],
          ['webhook', 'delivered', 3],
        ],
      ],
      [
        `${id}:seal:breached`,
        [
          ['log', 'delivered', 1],
          ['webhook', 'delivered', 1],
        ],
      ],
      [
        `${id}:application:warning`,
        [
          ['log', 'delivered', 1],
          ['webhook', 'delivered', 1],
        ],
      ],
      [
        `${id}:application:breached`,
        [
          ['log', 'delivered', 1],
          ['webhook', 'delivered', 1],
        ],
      ],
    ]);
    for (const s of status.steps.filter((x) => x.id !== 'seal'))
      expect([s.id, s.sla?.level]).toEqual([s.id, 'on_track']);
    const finishedAt = Date.parse(status.finishedAt!);
    expect(status.sla).toMatchObject({ state: 'stopped', countingRule: 'working-time', calendarYears: [TEST_YEAR] });
    expect(status.sla?.application).toMatchObject({
      statutoryLimit: { kind: 'none' },
      committedBudget: { hours: 7, workingMs: 7 * H },
      clock: 'stopped',
      level: 'breached',
      elapsedWorkingMs: reference.between(accepted, finishedAt),
      startedAt: iso(accepted),
      dueAt: iso(expected.appBreach),
    });
    expect(step(status, 'seal').sla).toMatchObject({
      statutoryLimit: { kind: 'working_days', value: 1, label: '1 working day' },
      committedBudget: { hours: 2 },
    });
  });

  it('when the operator requests a correction, the clocks stop until the applicant answers, and the deadlines move by exactly the paused working time', async () => {
    // Tuesday 10 November 10:00. 7 h are due Wednesday 11 November 10:00 (2 h + 4 h on Tuesday, 1 h on Wednesday).
    const accepted = at(`${TEST_YEAR}-11-10T10:00:00+08:00`);
    // Operators' actions are updates: on a cache-less worker the time-skipping server kept refusing them while the
    // status showed them pending (each task replays from the start), so this test runs on a worker with a cache.
    cached = await startSlaStack();
    const handle = await acceptAtInstant(
      accepted,
      (app) => {
        app.company.name = app.company.name.replace('科技', '金融');
      },
      cached,
    );
    const waiting = await waitForStatus(handle, (s) => s.pendingTasks.includes('review') && s.sla?.state === 'running');
    const dueBefore = waiting.sla!.application!.dueAt!;
    expect(dueBefore).toBe(`${TEST_YEAR}-11-11T10:00:00+08:00`);
    const licenseDueBefore = step(waiting, 'license').sla!.dueAt!;

    const correctionRequest = randomUUID();
    await whenOffered(() =>
      handle.executeUpdate(reviewUpdate, {
        args: [
          {
            actionId: correctionRequest,
            by: { subject: 'op-1', role: 'operator' },
            decision: 'request_correction',
            reason: '名称不得含「金融」',
            fields: ['company.name'],
          },
        ],
      }),
    );
    const paused = await waitForStatus(handle, (s) => s.pendingTasks.includes('correction'));
    expect(paused.sla).toMatchObject({ state: 'paused', paused: { now: true } });
    expect(step(paused, 'license').sla?.clock).toBe('paused');

    // Past the original deadline, and then some: nothing counts while the applicant corrects.
    await skipTo(env, at(`${TEST_YEAR}-11-11T15:00:00+08:00`));
    await settle();
    expect(alertsOf(handle.workflowId)).toEqual([]);

    const answer = { actionId: randomUUID(), by: { subject: 'applicant-1', role: 'applicant' as const } };
    await whenOffered(() =>
      handle.executeUpdate(correctionUpdate, { args: [{ ...answer, application: freshApplication() }] }),
    );
    await waitForStatus(handle, (s) => s.pendingTasks.includes('review'));
    const approval = randomUUID();
    await whenOffered(() =>
      handle.executeUpdate(reviewUpdate, {
        args: [
          { actionId: approval, by: { subject: 'op-1', role: 'operator' }, decision: 'approve', reason: 'corrected' },
        ],
      }),
    );
    const status = await completed(handle);
    expect(status.status).toBe('completed');

    const [interval] = status.sla!.paused.intervals;
    const pausedWorking = reference.between(Date.parse(interval!.from), Date.parse(interval!.to!));
    // From 10:00 + a few ms on Tuesday to 15:00 + a few ms on Wednesday: 2 h + 4 h, then 3 h + 1.5 h of working time.
    expect(Math.abs(pausedWorking - 10.5 * H)).toBeLessThan(60_000);
    expect(interval).toMatchObject({ reason: 'correction requested', workingMs: pausedWorking });
    expect(status.sla!.paused).toMatchObject({ now: false, totalWorkingMs: pausedWorking });
    expect(status.sla!.application).toMatchObject({
      pausedWorkingMs: pausedWorking,
      dueAt: iso(reference.add(Date.parse(dueBefore), pausedWorking)),
    });
    expect(step(status, 'license').sla).toMatchObject({
      pausedWorkingMs: pausedWorking,
      dueAt: iso(reference.add(Date.parse(licenseDueBefore), pausedWorking)),
    });
    // The name step had finished before the pause: its clock is untouched.
    expect(step(status, 'name').sla).toMatchObject({ pausedWorkingMs: 0, level: 'on_track' });
    expect(status.sla!.alerts).toEqual([]);
    expect(alertsOf(handle.workflowId)).toEqual([]);
  });

  it('when no worker takes an application up for hours, its clock still counts from the submission, and a warning already due at acceptance is raised at once', async () => {
    // Tuesday 17 November: submitted 09:00, taken up by a worker at 16:30 (the workers were down). 7 h from 09:00:
    // 3 h + 4 h, due 17:30; 75 % (5.25 h) at 15:45 — already past when the workflow accepts it.
    const submitted = at(`${TEST_YEAR}-11-17T09:00:00+08:00`);
    const accepted = at(`${TEST_YEAR}-11-17T16:30:00+08:00`);
    expect(reference.add(submitted, 7 * H)).toBe(at(`${TEST_YEAR}-11-17T17:30:00+08:00`));
    expect(reference.add(submitted, 5.25 * H)).toBe(at(`${TEST_YEAR}-11-17T15:45:00+08:00`));
    await skipTo(env, accepted);
    acceptAt = accepted;
    const handle = await startApplication(env.client, { taskQueue: stack.taskQueue, submittedAt: submitted });

    const status = await completed(handle);
    expect(status.status).toBe('completed');
    expect(status).toMatchObject({
      submittedAt: new Date(submitted).toISOString(),
      acceptedAt: new Date(accepted).toISOString(),
    });
    expect(status.sla!.application).toMatchObject({
      dueAt: `${TEST_YEAR}-11-17T17:30:00+08:00`,
      warningAt: `${TEST_YEAR}-11-17T15:45:00+08:00`,
      level: 'warning',
    });
    // Raised once, at acceptance (workflow time), naming the instant the threshold was crossed.
    const alerts = await eventually(
      () => receiver.accepted(handle.workflowId),
      (a) => a.length >= 1,
    );
    expect(alerts.map((a) => `${a.scope}:${a.level}`)).toEqual(['application:warning']);
    expect(alerts[0]).toMatchObject({
      thresholdAt: `${TEST_YEAR}-11-17T15:45:00+08:00`,
      deadline: `${TEST_YEAR}-11-17T17:30:00+08:00`,
    });
    expect(Date.parse(alerts[0]!.at) - accepted).toBeGreaterThanOrEqual(0);
    expect(Date.parse(alerts[0]!.at) - accepted).toBeLessThan(60_000);
    expect(alerts[0]!.consumedFraction).toBeGreaterThanOrEqual(6 / 7 - 0.01);
    // The steps' clocks run from when each started, after the acceptance: none of them is late.
    expect(status.steps.filter((s) => s.sla?.level !== 'on_track').map((s) => s.id)).toEqual([]);
  });
});

/** The next year's schedule, "published" late in the test year: 1 January a day off, nothing else. */
const NEXT_YEAR = {
  year: TEST_YEAR + 1,
  notice: { number: 'TEST', title: 'test data', publishedOn: `${TEST_YEAR}-12-31`, url: 'test:' },
  holidays: [{ name: '元旦', from: `${TEST_YEAR + 1}-01-01`, to: `${TEST_YEAR + 1}-01-01` }],
  makeUpWorkingDays: [],
};

/** A stack without a workflow cache (no sticky queue: a worker deployed later takes the next task at once). */
const redeployableStack = () => startSlaStack(NO_CACHE_TUNING);

describe('a year the calendar data lack', () => {
  it('when a step is warned on the last day of the data and due in the next year, not yet published, then the application is still breached that day, and the warning is raised with its deadline once that year is deployed, not lost', async () => {
    // Thursday 31 December, the last day of the data. Accepted 09:00 with a name that needs review; the operator
    // approves at 15:45, and the seal (2 h, a slow bureau) starts then: 75 % (1.5 h) at 17:15, the last 15 minutes of
    // its budget on the next working day, in a year nobody has published yet.
    const accepted = at(`${TEST_YEAR}-12-31T09:00:00+08:00`);
    const approvedAt = at(`${TEST_YEAR}-12-31T15:45:00+08:00`);
    const deployed = await redeployableStack();
    try {
      await patchSimulator(deployed.simulator, { agencies: { police: { processingMs: 600_000, callbacks: false } } });
      const handle = await acceptAtInstant(
        accepted,
        (app) => {
          app.company.name = app.company.name.replace('科技', '金融');
        },
        deployed,
      );
      const id = handle.workflowId;
      await waitForStatus(handle, (s) => s.pendingTasks.includes('review') && s.sla?.state === 'running');

      // Meanwhile, at 10:00, an application that needs no review, due one working day on: Monday 4 January, in the
      // year nobody has published. Its seal (the same slow bureau) is warned at 11:30 and due at 12:00 of that day, on
      // time (patch sla-starts-without-missing-year: every clock waited for the next year's data, no alert at all).
      const morning = await acceptAtInstant(at(`${TEST_YEAR}-12-31T10:00:00+08:00`), undefined, deployed);
      const morningFiled = await waitForStatus(morning, (s) => step(s, 'seal').state === 'pending');
      const morningSeal = Date.parse(step(morningFiled, 'seal').startedAt!);
      expect(morningSeal - at(`${TEST_YEAR}-12-31T10:00:00+08:00`)).toBeLessThan(60_000);
      expect(morningFiled.sla).toMatchObject({ state: 'running', missingCalendarYear: TEST_YEAR + 1 });
      const morningSealDue = reference.add(morningSeal, 2 * H);
      await skipTo(env, morningSealDue + 60_000);
      const morningAlerts = await eventually(
        () => receiver.accepted(morning.workflowId),
        (a) => a.some((x) => x.scope === 'seal' && x.level === 'breached'),
        30_000,
      );
      expect(
        [...morningAlerts]
          .sort((a, b) => a.thresholdAt.localeCompare(b.thresholdAt))
          .map((a) => [a.scope, a.level, a.thresholdAt, a.deadline]),
      ).toEqual([
        ['seal', 'warning', iso(reference.add(morningSeal, 1.5 * H)), iso(morningSealDue)],
        ['seal', 'breached', iso(morningSealDue), iso(morningSealDue)],
      ]);
      // The application's own deadline waits for the data: shown as such, not guessed.
      const morningStatus = await morning.query(statusQuery);
      expect(morningStatus.sla?.application).toMatchObject({ deadlineYearMissing: TEST_YEAR + 1 });

      await skipTo(env, approvedAt);
      await whenOffered(() =>
        handle.executeUpdate(reviewUpdate, {
          args: [
            { actionId: randomUUID(), by: { subject: 'op-1', role: 'operator' }, decision: 'approve', reason: '可' },
          ],
        }),
      );
      const filed = await waitForStatus(handle, (s) => step(s, 'seal').state === 'pending');
      const sealStart = Date.parse(step(filed, 'seal').startedAt!);
      const lag = sealStart - approvedAt;
      expect(lag).toBeGreaterThanOrEqual(0);
      expect(lag).toBeLessThan(60_000);
      const warningAt = at(`${TEST_YEAR}-12-31T17:15:00+08:00`) + lag;
      expect(reference.add(sealStart, 1.5 * H)).toBe(warningAt);

      // Past the warning: its deadline lies in the missing year, and the seal's clock waits for the data.
      await skipTo(env, warningAt + 60_000);
      const waiting = await waitForStatus(handle, (s) => s.sla?.missingCalendarYear === TEST_YEAR + 1);
      expect(waiting.status).toBe('running');
      await settle();
      expect(alertsOf(id)).not.toContain('seal:warning');
      // The others go on: the application, due at 17:30 that day, is breached then (the seal's wait held every clock,
      // and the breach came only with next year's data, or never).
      const seen = await handle.query(statusQuery);
      const dueAt = at(`${TEST_YEAR}-12-31T17:30:00+08:00`);
      expect(Date.parse(seen.sla!.application!.dueAt!) - dueAt).toBeLessThan(60_000); // submitted at 09:00 and a moment
      expect(Date.parse(seen.sla!.application!.dueAt!)).toBeGreaterThanOrEqual(dueAt);
      expect(step(seen, 'seal').sla).toMatchObject({ clock: 'running', deadlineYearMissing: TEST_YEAR + 1 });
      await skipTo(env, dueAt + 90_000);
      const breached = await eventually(
        () => receiver.accepted(id),
        (a) => a.some((x) => x.scope === 'application' && x.level === 'breached'),
        30_000,
      );
      expect(breached.find((x) => x.scope === 'application' && x.level === 'breached')!.deadline).toBe(
        seen.sla!.application!.dueAt,
      );
      expect(alertsOf(id)).not.toContain('seal:warning');

      // The notice is published and deployed: 1 January a day off, then the weekend; Monday 4 January works.
      await deployed.redeployWorker({ SLA_CALENDAR_FILE: writeTestCalendarFile([NEXT_YEAR]) });
      // The clocks ask for the data again an hour later.
      await skipTo(env, warningAt + 2 * H);
      const alerts = await eventually(
        () => receiver.accepted(id),
        (a) => a.some((x) => x.scope === 'seal' && x.level === 'warning'),
        30_000,
      );
      const warnings = alerts.filter((x) => x.scope === 'seal' && x.level === 'warning');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.thresholdAt).toBe(iso(warningAt));
      expect(warnings[0]!.deadline).toBe(iso(at(`${TEST_YEAR + 1}-01-04T09:15:00+08:00`) + lag));
      await handle.terminate('test done');

      // The morning application's warning (75 % of its 7 hours: 16:45) waited for the data too; it asks for them on
      // its own backing-off timers (10:00, 11:00, 13:00, 17:00, then 01:00), and is warned with its deadline then.
      await skipTo(env, at(`${TEST_YEAR + 1}-01-01T01:30:00+08:00`));
      const morningWarned = await eventually(
        () => receiver.accepted(morning.workflowId),
        (a) => a.some((x) => x.scope === 'application' && x.level === 'warning'),
        30_000,
      );
      expect(morningWarned.find((x) => x.scope === 'application')).toMatchObject({
        thresholdAt: iso(at(`${TEST_YEAR}-12-31T16:45:00+08:00`)),
        deadline: iso(at(`${TEST_YEAR + 1}-01-04T10:00:00+08:00`)),
      });
      await morning.terminate('test done');
      expect(await replayedMarkers(morning)).toEqual(['sla-scopes-wait-apart', 'sla-starts-without-missing-year']);
      // The history took the patched branch (its marker) and replays on the current code.
      expect(await replayedMarkers(handle)).toEqual(['sla-scopes-wait-apart']);
    } finally {
      await deployed.close();
    }
  });
});

describe('webhooks changed while applications run', () => {
  it("when the alert webhook's URL changes, then alerts of applications accepted before go to the new one, not dropped", async () => {
    // Monday 4 January of the next year, 09:00: the seal (2 h, a slow bureau) is warned at 10:30.
    const accepted = at(`${TEST_YEAR + 1}-01-04T09:00:00+08:00`);
    const calendarFile = writeTestCalendarFile([NEXT_YEAR]);
    const moved = await startWebhookReceiver(SECRET);
    const deployed = await redeployableStack();
    try {
      await deployed.redeployWorker({ SLA_CALENDAR_FILE: calendarFile });
      await patchSimulator(deployed.simulator, { agencies: { police: { processingMs: 600_000, callbacks: false } } });
      const handle = await acceptAtInstant(accepted, undefined, deployed);
      const id = handle.workflowId;
      const filed = await waitForStatus(handle, (s) => step(s, 'seal').state === 'pending');
      const warningAt = Date.parse(step(filed, 'seal').startedAt!) + 1.5 * H;
      expect(warningAt - at(`${TEST_YEAR + 1}-01-04T10:30:00+08:00`)).toBeLessThan(60_000);

      // The supervision platform moves: the deployment's SLA_WEBHOOK_URLS names the new receiver only.
      await deployed.redeployWorker({ SLA_CALENDAR_FILE: calendarFile, SLA_WEBHOOK_URLS: moved.url });
      await skipTo(env, warningAt + 60_000);
      const alerts = await eventually(
        () => moved.accepted(id),
        (a) => a.some((x) => x.scope === 'seal' && x.level === 'warning'),
        30_000,
      );
      expect(alerts.filter((x) => x.scope === 'seal' && x.level === 'warning')).toHaveLength(1);
      expect(receiver.accepted(id).filter((x) => x.scope === 'seal')).toEqual([]);
      const status = await handle.query(statusQuery);
      const warning = status.sla!.alerts!.find((a) => a.alertId === `${id}:seal:warning`)!;
      expect(warning.deliveries.map((d) => d.state)).toEqual(['delivered', 'delivered']); // the log, and the webhook
      await handle.terminate('test done');
    } finally {
      await deployed.close();
      await moved.close();
    }
  });
});

// Last in the file: it moves the time-skipping server's clock into the year after the test year, and the server's clock
// only moves forward.
describe('a year the calendar data lack, after it began', () => {
  it('when the workers come back after New Year to an application whose thresholds passed in the old year, then it is warned and breached at once with its deadline in the old year, and its clock waits for the unpublished year without arming a timer round after round', async () => {
    // Submitted Thursday 31 December 16:00 and promised in 30 working minutes (SLA_BUDGETS; the steps in 3 each, so
    // the chain fits): 75 % at 16:22:30, due 16:30, both in the data. No worker takes it up until Monday 4 January
    // 09:30, in a year nobody has published: the clock cannot be counted up to now, while its thresholds, computable,
    // are past (patch sla-reached-before-missing-year: they waited for the year's data). Parked in review, the
    // application stays open.
    const submitted = at(`${TEST_YEAR}-12-31T16:00:00+08:00`);
    const accepted = at(`${TEST_YEAR + 1}-01-04T09:30:00+08:00`);
    const steps = ['name', 'license', 'seal', 'tax', 'social', 'fund', 'bank', 'archive'];
    const budgets = { application: 0.5, ...Object.fromEntries(steps.map((s) => [s, 0.05])) };
    const halfHour = await startStack(env, {
      env: {
        SLA_WEBHOOK_URLS: receiver.url,
        SLA_WEBHOOK_SECRET: SECRET,
        SLA_CALENDAR_FILE: writeTestCalendarFile(),
        SLA_BUDGETS: JSON.stringify(budgets),
      },
      activityDeps: (deps) => ({ ...deps, now: () => new Date(acceptAt) }),
    });
    try {
      await patchSimulator(halfHour.simulator, { agencies: FAST_AGENCIES });
      await skipTo(env, accepted);
      acceptAt = accepted;
      const handle = await startApplication(env.client, {
        taskQueue: halfHour.taskQueue,
        submittedAt: submitted,
        edit: (app) => void (app.company.name = app.company.name.replace('科技', '金融')),
      });
      await waitForStatus(
        handle,
        (s) => s.pendingTasks.includes('review') && s.sla?.missingCalendarYear === TEST_YEAR + 1,
      );
      const alerts = await eventually(
        () => receiver.accepted(handle.workflowId),
        (a) => a.some((x) => x.scope === 'application' && x.level === 'breached'),
        30_000,
      );
      const dueAt = iso(at(`${TEST_YEAR}-12-31T16:30:00+08:00`));
      // Delivered side by side: in either order.
      const byLevel = [...alerts].sort((a, b) => a.thresholdAt.localeCompare(b.thresholdAt));
      expect(byLevel.map((a) => [a.scope, a.level, a.thresholdAt, a.deadline])).toEqual([
        ['application', 'warning', iso(at(`${TEST_YEAR}-12-31T16:22:30+08:00`)), dueAt],
        ['application', 'breached', dueAt, dueAt],
      ]);
      // Counted up to the end of the data: the whole budget at least.
      expect(byLevel[1]!.consumedFraction).toBeGreaterThanOrEqual(1);
      // Real time, none skipped: a clock that re-armed its past threshold would start a timer every few milliseconds.
      await new Promise((r) => setTimeout(r, 3000));
      expect(receiver.accepted(handle.workflowId)).toHaveLength(2); // the steps' clocks, begun in January, wait
      const history = await handle.fetchHistory();
      const timers = (history.events ?? []).filter((e) => e.timerStartedEventAttributes);
      // At most the hourly ask for the year's data, and a step's alarm.
      expect(timers.length).toBeLessThanOrEqual(2);
      const status = await handle.query(statusQuery);
      expect(status.status).toBe('running');
      expect(status.sla?.alerts.map((a) => `${a.scope}:${a.level}`)).toEqual([
        'application:warning',
        'application:breached',
      ]);
      await handle.terminate('test done');
      expect(await replayedMarkers(handle)).toEqual(['sla-reached-before-missing-year', 'sla-scopes-wait-apart']);
    } finally {
      await halfHour.close();
    }
  });
});
