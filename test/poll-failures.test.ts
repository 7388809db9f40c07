/**
 * A filing the agency answered "pending" is polled while its callback is awaited. A poll the agency does not answer
 * (down through the poll's retries) leaves the step pending — the callback may still come — up to
 * `pollFailuresBeforeIncident` failed polls in a row; then the step is an incident (patch
 * `poll-failure-waits-for-callback`). A filing the agency leaves undecided longer than `agencySilenceMs` is an
 * incident too (`AGENCY_SILENT`, patch `agency-silence-incident`): polling stops — it grew the history for ever —
 * while the callback is still taken. An operator may act on a step waiting for its agency before that (patch
 * `act-on-agency-wait`). Dev server, real simulator, polling every 0.2–0.4 s, two attempts per poll.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ApplicationStatus } from '../domain/status';
import { AGENCY_IDS, STEPS } from '../domain/steps';
import { loadConfig } from '../config';
import { authHeaders, securityTestEnv } from './helpers/auth';
import { startApplication } from './helpers/fixtures';
import { agencyRecords, patchSimulator, startStack, type Stack } from './helpers/stack';
import { startDevServer } from './helpers/temporal';
import { patchMarkers } from './helpers/histories';
import { waitForStatus } from './helpers/wait';

let env: TestWorkflowEnvironment;
let patient: Stack;
let strict: Stack;
let impatient: Stack;
/** A history budget of 150 events (patience of a week): what a few agencies silent at once would reach in days. */
let budgeted: Stack;
const HISTORY_BUDGET = 150;
const SETTINGS = { agencyMaxAttempts: 2, pollInitialMs: 200, pollMaxMs: 400 };
/** How long `impatient`'s filings may stay undecided before they are incidents. */
const SILENCE_MS = 1500;
const INSTANT = { processingMs: 0, transientFailureRate: 0, answerDelayMs: 0, callbacks: true };

beforeAll(async () => {
  env = await startDevServer();
  patient = await startStack(env, { settings: { ...SETTINGS, pollFailuresBeforeIncident: 100 } });
  strict = await startStack(env, { settings: { ...SETTINGS, pollFailuresBeforeIncident: 2 } });
  impatient = await startStack(env, { settings: { ...SETTINGS, agencySilenceMs: SILENCE_MS } });
  budgeted = await startStack(env, { settings: { ...SETTINGS, historyEventBudget: HISTORY_BUDGET } });
});

afterAll(async () => {
  await patient?.close();
  await strict?.close();
  await impatient?.close();
  await budgeted?.close();
  await env?.teardown();
});

/** Every agency deciding in its answer but the tax bureau, which decides after `processingMs` and calls back. */
async function taxDecidingLater(stack: Stack, processingMs: number): Promise<void> {
  await patchSimulator(stack.simulator, {
    agencies: { ...Object.fromEntries(AGENCY_IDS.map((a) => [a, INSTANT])), tax: { ...INSTANT, processingMs } },
  });
}

const tax = (s: ApplicationStatus) => s.steps.find((x) => x.id === 'tax')!;

it('when the agency cannot be polled while it works on a filing, then the step waits for its callback: no incident, the decision by callback', async () => {
  await taxDecidingLater(patient, 6000);
  const handle = await startApplication(env.client, { taskQueue: patient.taskQueue });
  await waitForStatus(handle, (s) => tax(s).state === 'pending');
  // The bureau's system stops answering requests; its decision is made all the same, and its callback sent.
  await patchSimulator(patient.simulator, { agencies: { tax: { transientFailureRate: 1 } } });
  const unreachable = await waitForStatus(handle, (s) => tax(s).error?.code === 'AGENCY_UNREACHABLE', 30_000);
  // Before, the first failed poll made an incident, which needed an operator's retry.
  expect(tax(unreachable).state).toBe('pending');
  expect(unreachable.pendingTasks).toEqual([]);
  const status = (await handle.result()) as ApplicationStatus;
  await patchSimulator(patient.simulator, { agencies: { tax: { transientFailureRate: 0 } } });
  expect(status.status).toBe('completed');
  expect(tax(status)).toMatchObject({ state: 'done', decidedVia: 'callback' });
  expect(tax(status).error).toBeUndefined();
  expect(status.audit).toEqual([]); // no operator was needed
  const taxRecords = (await agencyRecords(patient.simulator, handle.workflowId)).filter((r) => r.agency === 'tax');
  expect(taxRecords.map((r) => r.status)).toEqual(['approved']);
});

it('when the agency stays unreachable through the allowed failed polls, then the step becomes an incident', async () => {
  await taxDecidingLater(strict, 600_000);
  const handle = await startApplication(env.client, { taskQueue: strict.taskQueue });
  await waitForStatus(handle, (s) => tax(s).state === 'pending');
  await patchSimulator(strict.simulator, { agencies: { tax: { transientFailureRate: 1 } } });
  try {
    // The first failed poll is borne (the bound is 2), the second is not.
    const borne = await waitForStatus(handle, (s) => tax(s).error?.code === 'AGENCY_UNREACHABLE', 30_000);
    expect(borne.pendingTasks).toEqual([]);
    const incident = await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:tax'), 30_000);
    expect(tax(incident)).toMatchObject({ state: 'incident', error: { code: 'STEP_INCIDENT' } });
  } finally {
    await patchSimulator(strict.simulator, { agencies: { tax: { transientFailureRate: 0 } } });
    await handle.terminate('test done');
  }
});

it("when a step became an incident because its polls failed, then the agency's decision by callback completes it: no operator, nothing filed again", async () => {
  // The bureau decides in 10 s; its status service stops answering at once, so the two polls fail first (a few s).
  await taxDecidingLater(strict, 10_000);
  const handle = await startApplication(env.client, { taskQueue: strict.taskQueue });
  await waitForStatus(handle, (s) => tax(s).state === 'pending');
  await patchSimulator(strict.simulator, { agencies: { tax: { transientFailureRate: 1 } } });
  let status: ApplicationStatus;
  try {
    const incident = await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:tax'), 30_000);
    expect(tax(incident)).toMatchObject({ state: 'incident', error: { code: 'STEP_INCIDENT' } });
    // Its decision comes by callback while the intake is still down: before, the step stayed an incident with the
    // decision in hand (a retry filed again into the outage, a skip withdrew the approval).
    status = (await handle.result()) as ApplicationStatus;
  } finally {
    await patchSimulator(strict.simulator, { agencies: { tax: { transientFailureRate: 0 } } });
  }
  expect(status.status).toBe('completed');
  expect(tax(status)).toMatchObject({ state: 'done', decidedVia: 'callback' });
  expect(tax(status).error).toBeUndefined();
  expect(status.pendingTasks).toEqual([]);
  expect(status.audit).toEqual([]);
  expect(await activities(handle, 'fileAgencyRequest')).toBe(STEPS.filter((x) => x.agency).length); // one filing a step
  const taxRecords = (await agencyRecords(strict.simulator, handle.workflowId)).filter((r) => r.agency === 'tax');
  expect(taxRecords.map((r) => r.status)).toEqual(['approved']);
  expect(patchMarkers(await handle.fetchHistory())).toEqual(
    expect.arrayContaining(['poll-failure-waits-for-callback', 'incident-takes-callback-decision']),
  );
});

async function until(probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** How many activities of a type the workflow scheduled (pollAgencyRequest: how many times it polled the agencies). */
async function activities(handle: WorkflowHandle, type: string): Promise<number> {
  const events = (await handle.fetchHistory()).events ?? [];
  return events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type).length;
}

/** An operator's action on the application over the API, with a reason. */
async function operatorPost(
  handle: WorkflowHandle,
  path: string,
  reason: string,
  on = impatient,
  body: Record<string, unknown> = {},
  idempotencyKey?: string,
): Promise<Response> {
  return fetch(`${on.api.url}/v1/applications/${handle.workflowId}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(await authHeaders('operator')),
      ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
    },
    body: JSON.stringify({ reason, ...body }),
  });
}

const silent = (s: ApplicationStatus) =>
  s.pendingTasks.includes('incident:tax') && tax(s).error?.code === 'AGENCY_SILENT';

it("when the agency leaves a filing undecided past the patience, then the step is an incident, polling stops, and the agency's late callback completes it with no operator", async () => {
  await taxDecidingLater(impatient, 8000);
  const handle = await startApplication(env.client, { taskQueue: impatient.taskQueue });
  const incident = await waitForStatus(handle, silent, 30_000);
  expect(tax(incident).state).toBe('incident');
  expect(tax(incident).error!.message).toMatch(/tax has not decided filing .+ in \d+ s: polling stopped/);
  // Its intake stops answering too (often why it went silent): the decision its callback brings is enough.
  await patchSimulator(impatient.simulator, { agencies: { tax: { transientFailureRate: 1 } } });
  let status: ApplicationStatus;
  try {
    status = (await handle.result()) as ApplicationStatus;
  } finally {
    await patchSimulator(impatient.simulator, { agencies: { tax: { transientFailureRate: 0 } } });
  }
  expect(status.status).toBe('completed');
  expect(tax(status)).toMatchObject({ state: 'done', decidedVia: 'callback' });
  expect(await activities(handle, 'fileAgencyRequest')).toBe(STEPS.filter((x) => x.agency).length); // one filing a step
  expect(tax(status).error).toBeUndefined();
  expect(status.pendingTasks).toEqual([]);
  expect(status.audit).toEqual([]); // no operator was needed
  // Polls every 0.2–0.4 s stopped after the 1.5 s of patience; before, they went on for the 8 s the bureau took (~20).
  expect(await activities(handle, 'pollAgencyRequest')).toBeLessThanOrEqual(SILENCE_MS / SETTINGS.pollInitialMs);
  // Filed again under the same key once the decision came: still one record at the bureau.
  const taxRecords = (await agencyRecords(impatient.simulator, handle.workflowId)).filter((r) => r.agency === 'tax');
  expect(taxRecords.map((r) => r.status)).toEqual(['approved']);
});

it('when an operator marks a silent step done offline, then its filing is withdrawn at the agency and the application completes', async () => {
  await taxDecidingLater(impatient, 600_000);
  const handle = await startApplication(env.client, { taskQueue: impatient.taskQueue });
  await waitForStatus(handle, silent, 30_000);
  const res = await operatorPost(handle, '/steps/tax/skip', '已在窗口办理');
  expect(res.status).toBe(200);
  const status = (await handle.result()) as ApplicationStatus;
  expect(status.status).toBe('completed');
  expect(tax(status)).toMatchObject({ state: 'skipped', output: { skippedOffline: true, reason: '已在窗口办理' } });
  const taxRecords = (await agencyRecords(impatient.simulator, handle.workflowId)).filter((r) => r.agency === 'tax');
  expect(taxRecords.map((r) => [r.status, r.live])).toEqual([['cancelled', false]]);
});

it('when an application is aborted while a step is silent, then its pending filing is withdrawn', async () => {
  await taxDecidingLater(impatient, 600_000);
  const handle = await startApplication(env.client, { taskQueue: impatient.taskQueue });
  await waitForStatus(handle, silent, 30_000);
  const res = await operatorPost(handle, '/abort', '申请人放弃');
  expect(res.status).toBe(200);
  const status = (await handle.result()) as ApplicationStatus;
  expect(status.status).toBe('aborted');
  expect(status.pendingTasks).toEqual([]);
  const live = (await agencyRecords(impatient.simulator, handle.workflowId)).filter((r) => r.live);
  expect(live).toEqual([]);
  const taxRecords = (await agencyRecords(impatient.simulator, handle.workflowId)).filter((r) => r.agency === 'tax');
  expect(taxRecords.map((r) => r.status)).toEqual(['cancelled']);
});

it('when an operator retries a silent step, then the agency is asked again and given the same patience', async () => {
  await taxDecidingLater(impatient, 600_000);
  const handle = await startApplication(env.client, { taskQueue: impatient.taskQueue });
  try {
    await waitForStatus(handle, silent, 30_000);
    const before = await activities(handle, 'pollAgencyRequest');
    // As "retry all" sends it: taken, the step is in an incident.
    const retry = () =>
      operatorPost(handle, '/steps/tax/retry', '部门称已恢复', impatient, { onlyInIncident: true }, 'round-1:tax');
    const res = await retry();
    expect(res.status).toBe(200);
    const first = (await res.json()) as { actionId: string; at: string };
    const again = await waitForStatus(handle, (s) => silent(s) && s.audit.length === 1, 30_000);
    expect(again.audit[0]).toMatchObject({ action: 'retry', step: 'tax' });
    // The same request again (a round's retry sent twice): its first result, not a second retry.
    const repeated = await retry();
    expect(repeated.status).toBe(200);
    expect(await repeated.json()).toMatchObject({ actionId: first.actionId, at: first.at });
    expect((await handle.query<ApplicationStatus>('status')).audit).toHaveLength(1);
    expect(await activities(handle, 'pollAgencyRequest')).toBeGreaterThan(before);
    const taxRecords = (await agencyRecords(impatient.simulator, handle.workflowId)).filter((r) => r.agency === 'tax');
    expect(taxRecords.map((r) => r.status)).toEqual(['pending']); // the same filing, asked again
  } finally {
    await handle.terminate('test done');
  }
});

it("when the application's history reaches its budget while a filing waits, then polling stops as for a silent agency (Temporal ends a workflow at 51,200 events, nothing undone)", async () => {
  await taxDecidingLater(budgeted, 600_000);
  const handle = await startApplication(env.client, { taskQueue: budgeted.taskQueue });
  try {
    const incident = await waitForStatus(handle, silent, 30_000);
    expect(tax(incident).error!.message).toMatch(
      /tax has not decided filing .+, and the application's history holds \d+ events \(Temporal keeps at most 51,200\): polling stopped/,
    );
    const events = Number(/holds (\d+) events/.exec(tax(incident).error!.message)![1]);
    expect(events).toBeGreaterThanOrEqual(HISTORY_BUDGET);
    // Polls every 0.2–0.4 s stopped: none more while the week's patience would have gone on.
    const polls = await activities(handle, 'pollAgencyRequest');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await activities(handle, 'pollAgencyRequest')).toBe(polls);
    expect(patchMarkers(await handle.fetchHistory())).toEqual(['polls-within-history-budget']);
  } finally {
    await handle.terminate('test done');
  }
});

describe('an operator acting on a step that waits for its agency (patience of a week)', () => {
  /** Tax filed and waiting for the bureau, which decides in ten minutes: nothing to act on but the wait. */
  async function taxWaiting(): Promise<{ handle: WorkflowHandle; waiting: ApplicationStatus }> {
    await taxDecidingLater(patient, 600_000);
    const handle = await startApplication(env.client, { taskQueue: patient.taskQueue });
    const waiting = await waitForStatus(handle, (s) => tax(s).state === 'pending' && !!tax(s).waitingSince, 30_000);
    return { handle, waiting };
  }

  it('when an operator marks it done offline, then it is at once, its filing withdrawn, and the application completes', async () => {
    const { handle, waiting } = await taxWaiting();
    expect(waiting.pendingTasks).toEqual([]); // no incident: before, nothing could be done for a week
    expect(Date.parse(tax(waiting).waitingSince!)).toBeGreaterThanOrEqual(Date.parse(tax(waiting).startedAt!));
    const res = await operatorPost(handle, '/steps/tax/skip', '已在窗口办理', patient);
    expect(res.status).toBe(200);
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('completed');
    expect(tax(status)).toMatchObject({ state: 'skipped', output: { skippedOffline: true, reason: '已在窗口办理' } });
    expect(tax(status).waitingSince).toBeUndefined();
    // Why it was done offline: the agency had not decided when the operator acted.
    expect(tax(status).error).toMatchObject({
      code: 'AGENCY_SILENT',
      message: expect.stringMatching(/tax had not decided filing .+ when an operator marked it done offline/),
    });
    expect(status.audit).toEqual([expect.objectContaining({ action: 'skip', step: 'tax' })]);
    expect(status.pendingTasks).toEqual([]);
    const taxRecords = (await agencyRecords(patient.simulator, handle.workflowId)).filter((r) => r.agency === 'tax');
    expect(taxRecords.map((r) => [r.status, r.live])).toEqual([['cancelled', false]]);
    expect(patchMarkers(await handle.fetchHistory())).toContain('act-on-agency-wait');
  });

  it('when an operator marks it done offline while a poll of the agency is under way, then that is carried out when the poll returns', async () => {
    const { handle } = await taxWaiting();
    // The bureau now holds every request 3 s: catch a poll in flight.
    await patchSimulator(patient.simulator, { agencies: { tax: { latencySpikeRate: 1, latencySpikeMs: 3000 } } });
    try {
      await until(async () => {
        const { raw } = await handle.describe();
        return (raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'pollAgencyRequest');
      });
      const res = await operatorPost(handle, '/steps/tax/skip', '已在窗口办理', patient);
      expect(res.status).toBe(200);
      const status = (await handle.result()) as ApplicationStatus;
      expect(status.status).toBe('completed');
      expect(tax(status)).toMatchObject({ state: 'skipped', error: { code: 'AGENCY_SILENT' } });
      const taxRecords = (await agencyRecords(patient.simulator, handle.workflowId)).filter((r) => r.agency === 'tax');
      expect(taxRecords.map((r) => [r.status, r.live])).toEqual([['cancelled', false]]);
    } finally {
      await patchSimulator(patient.simulator, { agencies: { tax: { latencySpikeRate: 0, latencySpikeMs: 0 } } });
    }
  });

  it('when the application is aborted after such an action and before the poll returns, then the action is dropped: the undo the agency refuses waits for an operator', async () => {
    const { handle } = await taxWaiting();
    await patchSimulator(patient.simulator, {
      agencies: { tax: { latencySpikeRate: 1, latencySpikeMs: 3000, refuseUndo: true } },
    });
    try {
      await until(async () => {
        const { raw } = await handle.describe();
        return (raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'pollAgencyRequest');
      });
      expect((await operatorPost(handle, '/steps/tax/skip', '已在窗口办理', patient)).status).toBe(200);
      expect((await operatorPost(handle, '/abort', '申请人放弃', patient)).status).toBe(200);
      // The skip was meant for the wait: it must not answer the undo of the step (it did, unseen: `undone_offline`
      // with the reason written for the step, the filing still live at the bureau).
      const refused = await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:tax'), 30_000);
      expect(refused.compensations.find((c) => c.step === 'tax')).toMatchObject({ state: 'incident' });
      await patchSimulator(patient.simulator, { agencies: { tax: { refuseUndo: false } } });
      expect((await operatorPost(handle, '/steps/tax/retry', '税务局已恢复', patient)).status).toBe(200);
      const status = (await handle.result()) as ApplicationStatus;
      expect(status.status).toBe('aborted');
      expect(status.compensations.find((c) => c.step === 'tax')).toMatchObject({ state: 'done' });
      const live = (await agencyRecords(patient.simulator, handle.workflowId)).filter((r) => r.live);
      expect(live).toEqual([]);
    } finally {
      await patchSimulator(patient.simulator, {
        agencies: { tax: { latencySpikeRate: 0, latencySpikeMs: 0, refuseUndo: false } },
      });
    }
  });

  it('when an operator retries it, then the agency is asked again at once and the step waits anew; a step not waiting is refused, and so is a retry sent only for an incident', async () => {
    const { handle } = await taxWaiting();
    try {
      // "Retry all" retries incidents only: a colleague's retry may have sent the step back to its agency since.
      const onlyIncident = await operatorPost(handle, '/steps/tax/retry', '部门称已恢复', patient, {
        onlyInIncident: true,
      });
      expect(onlyIncident.status).toBe(409);
      expect(((await onlyIncident.json()) as { error: { code: string; message: string } }).error).toMatchObject({
        code: 'STEP_NOT_IN_INCIDENT',
        message: '步骤“涉税办理”（tax）正在等待部门决定，并不在异常中', // the API's default language, zh-CN
      });
      // Nothing waits on the archive yet, nor on the name (done): 409, as for a step in no incident.
      for (const step of ['archive', 'name']) {
        const refused = await operatorPost(handle, `/steps/${step}/retry`, '部门称已恢复', patient);
        expect(refused.status).toBe(409);
        expect(((await refused.json()) as { error: { code: string; message: string } }).error).toMatchObject({
          code: 'STEP_NOT_IN_INCIDENT',
          message: expect.stringContaining('既不在异常中，也未在等待部门决定'),
        });
      }
      const filings = await activities(handle, 'fileAgencyRequest');
      const res = await operatorPost(handle, '/steps/tax/retry', '部门称已恢复', patient);
      expect(res.status).toBe(200);
      const again = await waitForStatus(
        handle,
        (s) => s.audit.length === 1 && tax(s).state === 'pending' && !!tax(s).waitingSince,
        30_000,
      );
      expect(again.audit[0]).toMatchObject({ action: 'retry', step: 'tax' });
      expect(again.pendingTasks).toEqual([]);
      expect(tax(again).error).toBeUndefined();
      // Filed again under the same key: the bureau answers with the record it holds, still one.
      expect(await activities(handle, 'fileAgencyRequest')).toBe(filings + 1);
      const taxRecords = (await agencyRecords(patient.simulator, handle.workflowId)).filter((r) => r.agency === 'tax');
      expect(taxRecords.map((r) => r.status)).toEqual(['pending']);
    } finally {
      await handle.terminate('test done');
    }
  });
});

describe('the patience setting', () => {
  const configWith = (env: Record<string, string>) => loadConfig({ ...securityTestEnv(), ...env });

  it('defaults to a week, or to 1,000 polls at the longest interval when that is shorter', () => {
    expect(configWith({}).agencySilenceMs).toBe(168 * 3_600_000); // 672 polls every 15 minutes
    expect(configWith({ AGENCY_POLL_MAX_SECONDS: '60' }).agencySilenceMs).toBe(1000 * 60_000);
    expect(configWith({ AGENCY_SILENT_INCIDENT_HOURS: '2.5' }).agencySilenceMs).toBe(2.5 * 3_600_000);
  });

  it('refuses a patience that would poll one filing more than 1,000 times, naming both settings', () => {
    expect(() => configWith({ AGENCY_SILENT_INCIDENT_HOURS: '168', AGENCY_POLL_MAX_SECONDS: '60' })).toThrow(
      /AGENCY_SILENT_INCIDENT_HOURS: 168 h of polls every AGENCY_POLL_MAX_SECONDS \(60 s\) is 10080 polls .* at most 1000/,
    );
    expect(() => configWith({ AGENCY_SILENT_INCIDENT_HOURS: '721' })).toThrow(/AGENCY_SILENT_INCIDENT_HOURS/);
  });
});
