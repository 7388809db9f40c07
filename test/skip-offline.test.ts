/**
 * An operator marks a step in an incident done offline (skip). If the agency holds a filing of ours for that step,
 * that filing is withdrawn: otherwise the agency would keep a second registration, which no compensation undoes.
 * - It answered with a ticket, and then polling it failed for good: withdrawn beside the chain, however long the
 *   agency stays down (patch `withdraw-skipped-filing-beside-chain`; `cancel-filing-on-skip` withdrew it before the
 *   chain went on).
 * - No answer came, and an attempt may have reached the agency — it timed out (patch
 *   `cancel-unanswered-filing-on-skip`): it is filed again under the same key to learn its ticket and cancelled,
 *   beside the chain, however long the agency stays down — the application completes meanwhile, and stays open in
 *   Temporal until the withdrawal is done.
 * - Every attempt was turned away ("unavailable", 503): nothing reached the agency, nothing is filed to be withdrawn —
 *   nor by the compensation when the application is aborted instead (patch `no-undo-of-unreached-filing`).
 * Dev server, real simulator, polling every 0.2 s, agency calls time out after 3 s, two attempts make an incident.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import type { ApplicationStatus } from '../domain/status';
import { AGENCY_IDS, type AgencyId, type StepId } from '../domain/steps';
import { abortUpdate, correctionUpdate, reviewUpdate, stepActionUpdate, statusQuery } from '../workflows/messages';
import { authHeaders } from './helpers/auth';
import { freshApplication, startApplication } from './helpers/fixtures';
import { agencyRecords, patchSimulator, startStack, type Stack } from './helpers/stack';
import { startDevServer } from './helpers/temporal';
import { eventually } from './helpers/sla-world';
import { waitForStatus } from './helpers/wait';

let env: TestWorkflowEnvironment;
let stack: Stack;

beforeAll(async () => {
  env = await startDevServer();
  stack = await startStack(env, {
    env: { AGENCY_TIMEOUT_MS: '3000' },
    settings: { agencyMaxAttempts: 2, pollInitialMs: 200, pollMaxMs: 400 },
  });
});

afterAll(async () => {
  await stack?.close();
  await env?.teardown();
});

const OPERATOR = { subject: 'op-1', role: 'operator' as const };
const INSTANT = { processingMs: 0, transientFailureRate: 0, answerDelayMs: 0, refuseUndo: false };

/** Every agency deciding in its answer, but `agency`, set as given. */
function agenciesInstantBut(agency: AgencyId, settings: Record<string, unknown>): Promise<void> {
  return patchSimulator(stack.simulator, {
    agencies: { ...Object.fromEntries(AGENCY_IDS.map((a) => [a, INSTANT])), [agency]: { ...INSTANT, ...settings } },
  });
}

/** The supervisors' completion figures (GET /v1/stats). */
async function stats(): Promise<{ completedToday: number; completedByDay: { date: string; count: number }[] }> {
  const res = await fetch(`${stack.api.url}/v1/stats`, { headers: await authHeaders('supervisor') });
  expect(res.status).toBe(200);
  return (await res.json()) as { completedToday: number; completedByDay: { date: string; count: number }[] };
}

/** The application's records at one agency. */
async function recordsAt(handle: WorkflowHandle, agency: AgencyId) {
  return (await agencyRecords(stack.simulator, handle.workflowId)).filter((r) => r.agency === agency);
}

/** An operator retries a step in an incident, or marks it done offline with a reason. */
function operatorActs(
  handle: WorkflowHandle,
  step: StepId,
  action: 'retry' | 'skip',
  reason?: string,
  output?: Record<string, unknown>,
) {
  return handle.executeUpdate(stepActionUpdate, {
    args: [
      {
        actionId: randomUUID(),
        by: OPERATOR,
        step,
        action,
        ...(reason ? { reason } : {}),
        ...(output ? { output } : {}),
      },
    ],
  });
}

it('when an operator marks a step done offline while the agency holds our filing for it, then that filing is withdrawn', async () => {
  // The tax bureau takes the filing and decides much later, without calling back: the workflow polls.
  await agenciesInstantBut('tax', { processingMs: 600_000, callbacks: false });
  const handle = await startApplication(env.client, { taskQueue: stack.taskQueue });
  const pending = await waitForStatus(handle, (s) => s.steps.find((x) => x.id === 'tax')?.state === 'pending');
  const ticket = pending.steps.find((x) => x.id === 'tax')!.ticket;
  expect(ticket).toEqual(expect.any(String));
  // Then the bureau's system goes down: the polls fail twice, the step is an incident.
  await patchSimulator(stack.simulator, { agencies: { tax: { transientFailureRate: 1 } } });
  await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:tax'), 30_000);
  await patchSimulator(stack.simulator, { agencies: { tax: { transientFailureRate: 0 } } });
  await operatorActs(handle, 'tax', 'skip', '已在税务窗口办理');
  const status = (await handle.result()) as ApplicationStatus;
  expect(status.status).toBe('completed');
  // One filing went through; the failed polls are not filing attempts (they were counted as two more).
  expect(status.steps.find((s) => s.id === 'tax')).toMatchObject({ state: 'skipped', attempts: 1 });
  expect(status.compensations).toEqual([
    expect.objectContaining({ step: 'tax', action: 'cancel', state: 'done', result: 'cancelled' }),
  ]);
  // Before, the bureau kept the online filing pending (and would have approved it): two tax registrations.
  const tax = await recordsAt(handle, 'tax');
  expect(tax.map((r) => [r.ticket, r.status, r.live])).toEqual([[ticket, 'cancelled', false]]);
});

it('when an operator marks a step done offline while the agency holding our filing is down, then the chain goes on and the filing is withdrawn once the agency is back', async () => {
  await agenciesInstantBut('tax', { processingMs: 600_000, callbacks: false });
  const handle = await startApplication(env.client, { taskQueue: stack.taskQueue });
  const pending = await waitForStatus(handle, (s) => s.steps.find((x) => x.id === 'tax')?.state === 'pending');
  const ticket = pending.steps.find((x) => x.id === 'tax')!.ticket;
  await patchSimulator(stack.simulator, { agencies: { tax: { transientFailureRate: 1 } } });
  await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:tax'), 30_000);

  // The bureau is still down when the operator marks the step done at its window.
  await operatorActs(handle, 'tax', 'skip', '已在税务窗口办理');
  // Before, the withdrawal came first, and the application waited for the bureau to come back.
  const completed = await waitForStatus(handle, (s) => s.status === 'completed', 30_000);
  expect(completed.steps.find((x) => x.id === 'tax')).toMatchObject({ state: 'skipped', ticket });
  expect(completed.steps.find((x) => x.id === 'archive')).toMatchObject({ state: 'done' });
  expect(completed.compensations).toEqual([
    expect.objectContaining({ step: 'tax', action: 'cancel', state: 'running' }),
  ]);
  expect((await handle.describe()).status.name).toBe('RUNNING');
  expect((await recordsAt(handle, 'tax')).map((r) => [r.ticket, r.live])).toEqual([[ticket, true]]);
  // Supervisors count it completed once it closes, on the day it closes, in the figure as in the chart: the figures
  // are "closed since" queries, which a workflow still open does not match.
  const whileOpen = await stats();
  expect(whileOpen.completedToday).toBe(whileOpen.completedByDay.at(-1)!.count);

  await patchSimulator(stack.simulator, { agencies: { tax: { transientFailureRate: 0 } } });
  const status = (await handle.result()) as ApplicationStatus;
  expect(status.status).toBe('completed');
  const closed = await eventually(
    stats,
    (s) => s.completedByDay.at(-1)!.count > whileOpen.completedByDay.at(-1)!.count,
  );
  expect(closed.completedToday).toBe(whileOpen.completedToday + 1);
  expect(closed.completedByDay.at(-1)!.count).toBe(whileOpen.completedByDay.at(-1)!.count + 1);
  expect(status.compensations).toEqual([
    expect.objectContaining({ step: 'tax', action: 'cancel', state: 'done', result: 'cancelled' }),
  ]);
  // The ticket was cancelled as it was: nothing filed again, no second record.
  expect((await recordsAt(handle, 'tax')).map((r) => [r.ticket, r.status, r.live])).toEqual([
    [ticket, 'cancelled', false],
  ]);
});

it("when an application whose step was done offline is aborted while that step's filing is still being withdrawn, then what the step needs is undone only after the withdrawal", async () => {
  await agenciesInstantBut('tax', { processingMs: 600_000, callbacks: false });
  await patchSimulator(stack.simulator, { agencies: { bank: { processingMs: 600_000 } } }); // keeps it running
  const handle = await startApplication(env.client, { taskQueue: stack.taskQueue });
  await waitForStatus(handle, (s) => s.steps.find((x) => x.id === 'tax')?.state === 'pending');
  await patchSimulator(stack.simulator, { agencies: { tax: { transientFailureRate: 1 } } });
  await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:tax'), 30_000);
  await operatorActs(handle, 'tax', 'skip', '已在税务窗口办理');
  await waitForStatus(handle, (s) => s.steps.find((x) => x.id === 'bank')?.state === 'pending', 30_000);
  await handle.executeUpdate(abortUpdate, {
    args: [{ actionId: randomUUID(), by: OPERATOR, reason: '申请人放弃' }],
  });
  // The bank, the seal, social security and the fund are undone; the tax filing is still being withdrawn (the bureau
  // is down), so the tax step's own undo waits, and the license it needs is not revoked.
  const undoneBeside = await waitForStatus(
    handle,
    (s) =>
      ['bank', 'seal', 'social', 'fund'].every((id) =>
        s.compensations.some((c) => c.step === id && c.state === 'done'),
      ),
    30_000,
  );
  expect(undoneBeside.status).toBe('compensating');
  expect(undoneBeside.compensations.filter((c) => c.step === 'license')).toEqual([]);
  // Before, the operator was asked at once to undo the tax registration done at the window, and the license was
  // revoked on the answer, its tax filing still live at the bureau.
  expect(undoneBeside.pendingTasks).not.toContain('incident:tax');

  await patchSimulator(stack.simulator, { agencies: { tax: { transientFailureRate: 0 } } });
  // Withdrawn, the operator undoes what was done at the window.
  await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:tax'), 60_000);
  await operatorActs(handle, 'tax', 'skip', '已在税务窗口注销');
  const status = (await handle.result()) as ApplicationStatus;
  expect(status.status).toBe('aborted');
  const withdrawn = status.compensations.find((c) => c.step === 'tax' && c.action === 'cancel')!;
  const license = status.compensations.find((c) => c.step === 'license')!;
  expect(withdrawn).toMatchObject({ state: 'done', result: 'cancelled' });
  expect(Date.parse(license.startedAt)).toBeGreaterThanOrEqual(Date.parse(withdrawn.finishedAt!));
  expect((await agencyRecords(stack.simulator, handle.workflowId)).filter((r) => r.live)).toEqual([]);
  await patchSimulator(stack.simulator, { agencies: { bank: { processingMs: 0 } } });
});

/**
 * An application sent to review (金融 in its name) whose name the regulator took and then could not answer for: the
 * name is an incident, which an operator marks done offline at the regulator's window. Resolves with the name's ticket.
 */
async function nameDoneOfflineWhileHeld(): Promise<{ handle: WorkflowHandle; ticket: string | undefined }> {
  await agenciesInstantBut('market', { processingMs: 600_000, callbacks: false });
  const handle = await startApplication(env.client, {
    taskQueue: stack.taskQueue,
    edit: (a) => void (a.company.name = a.company.name.replace('科技', '金融')),
  });
  const pending = await waitForStatus(handle, (s) => s.steps.find((x) => x.id === 'name')?.state === 'pending');
  await patchSimulator(stack.simulator, { agencies: { market: { transientFailureRate: 1 } } });
  await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:name'), 30_000);
  await operatorActs(handle, 'name', 'skip', '已在窗口办理名称', { reservationId: 'MZ-WINDOW-0001' });
  return { handle, ticket: pending.steps.find((x) => x.id === 'name')!.ticket };
}

/** The reviewer asks for another name, and the applicant gives one. */
async function askForAnotherName(handle: WorkflowHandle): Promise<void> {
  await handle.executeUpdate(reviewUpdate, {
    args: [
      {
        actionId: randomUUID(),
        by: OPERATOR,
        decision: 'request_correction',
        reason: '名称不得含「金融」',
        fields: ['company.name'],
      },
    ],
  });
  await waitForStatus(handle, (s) => s.pendingTasks.includes('correction'));
  await handle.executeUpdate(correctionUpdate, {
    args: [
      { actionId: randomUUID(), by: { subject: 'applicant-1', role: 'applicant' }, application: freshApplication() },
    ],
  });
}

const offlineNameUndo = (s: ApplicationStatus) =>
  s.compensations.some((c) => c.step === 'name' && c.state === 'incident' && c.error?.code === 'UNDO_OFFLINE');

/**
 * The name is corrected; one reserved at the window is released there first (the operator marks it undone offline).
 * Resolves when the corrected name is reserved and the application is back in review.
 */
async function correctTheName(handle: WorkflowHandle): Promise<void> {
  const doneOffline = (await handle.query(statusQuery)).steps[0]!.state === 'skipped';
  await askForAnotherName(handle);
  if (doneOffline) {
    await waitForStatus(handle, offlineNameUndo, 30_000);
    await operatorActs(handle, 'name', 'skip', '原名称已在窗口注销');
  }
  await waitForStatus(handle, (s) => s.pendingTasks.includes('review') && s.steps[0]!.state === 'done');
}

it('when the name was done offline while its filing is withdrawn, then a corrected name does not undo that filing a second time', async () => {
  const { handle, ticket } = await nameDoneOfflineWhileHeld();
  // The license's review goes on while the withdrawal waits for the regulator; the reviewer asks for another name.
  await waitForStatus(handle, (s) => s.pendingTasks.includes('review'), 30_000);
  await patchSimulator(stack.simulator, { agencies: { market: INSTANT } });
  await correctTheName(handle);
  // The corrected application goes back to the reviewer, who approves it.
  await handle.executeUpdate(reviewUpdate, {
    args: [{ actionId: randomUUID(), by: OPERATOR, decision: 'approve', reason: '名称已更正' }],
  });
  const status = (await handle.result()) as ApplicationStatus;
  expect(status.status).toBe('completed');
  // One withdrawal of the name's first filing (the skip's); the corrected name's release did not undo it again. The
  // name reserved at the window was released there before the corrected one was reserved (nothing told anyone).
  expect(status.compensations).toEqual([
    expect.objectContaining({ step: 'name', action: 'cancel', state: 'done', result: 'cancelled' }),
    expect.objectContaining({ step: 'name', action: 'undo', state: 'skipped', result: 'undone_offline' }),
  ]);
  const names = (await recordsAt(handle, 'market')).filter((r) => r.procedure === 'name_reservation');
  expect(names.map((r) => [r.ticket === ticket, r.status])).toEqual([
    [true, 'cancelled'],
    [false, 'approved'],
  ]);
});

it("when the name's withdrawal waits for an operator as the name is corrected, then the release of the name done offline waits its turn: each action answers the undo it was meant for", async () => {
  const { handle } = await nameDoneOfflineWhileHeld();
  // Back, the regulator decides at once but refuses every undo: the withdrawal of the name's filing waits.
  await patchSimulator(stack.simulator, {
    agencies: { market: { ...INSTANT, refuseUndo: true } },
  });
  await waitForStatus(
    handle,
    (s) => s.pendingTasks.includes('review') && s.compensations.some((c) => c.state === 'incident'),
    30_000,
  );
  const names = (s: ApplicationStatus) =>
    s.compensations.filter((c) => c.step === 'name').map((c) => [c.action, c.state, c.error?.code ?? null]);
  // The name is corrected: the reservation made at the window is to be released there too, but only once the
  // withdrawal is answered (both waited at once, and a skip meant for one answered the other).
  await askForAnotherName(handle);
  const corrected = await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:name'), 30_000);
  expect(names(corrected)).toEqual([['cancel', 'incident', 'UNDO_INCIDENT']]);
  await operatorActs(handle, 'name', 'skip', '窗口已撤回名称申报');
  const released = await waitForStatus(handle, offlineNameUndo, 30_000);
  expect(names(released)).toEqual([
    ['cancel', 'skipped', null],
    ['undo', 'incident', 'UNDO_OFFLINE'],
  ]);
  await operatorActs(handle, 'name', 'skip', '原名称已在窗口注销');
  // Both answered, the corrected name is reserved (round 2); the application is then aborted: its undo is refused too.
  await waitForStatus(handle, (s) => s.pendingTasks.includes('review') && s.steps[0]!.state === 'done', 30_000);
  await handle.executeUpdate(abortUpdate, { args: [{ actionId: randomUUID(), by: OPERATOR, reason: '申请人放弃' }] });
  await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:name') && s.status === 'compensating', 30_000);
  await operatorActs(handle, 'name', 'skip', '窗口已线下撤销');
  const status = (await handle.result()) as ApplicationStatus;
  expect(status.status).toBe('aborted');
  expect(status.pendingTasks).toEqual([]);
  expect(status.compensations.map((c) => [c.step, c.action, c.state, c.reason])).toEqual([
    ['name', 'cancel', 'skipped', '窗口已撤回名称申报'],
    ['name', 'undo', 'skipped', '原名称已在窗口注销'],
    ['name', 'undo', 'skipped', '窗口已线下撤销'],
  ]);
});

it('when an application ends while its name done offline waits to be released for a correction, then the release is asked once, by the compensation', async () => {
  const { handle } = await nameDoneOfflineWhileHeld();
  await waitForStatus(handle, (s) => s.pendingTasks.includes('review'), 30_000);
  await patchSimulator(stack.simulator, { agencies: { market: INSTANT } });
  await askForAnotherName(handle);
  await waitForStatus(handle, offlineNameUndo, 30_000);
  await handle.executeUpdate(abortUpdate, { args: [{ actionId: randomUUID(), by: OPERATOR, reason: '申请人放弃' }] });
  // The release asked for the correction was left an incident for ever beside the compensation's own.
  const ending = await waitForStatus(handle, (s) => s.status === 'compensating' && offlineNameUndo(s), 30_000);
  expect(ending.compensations.filter((c) => c.error?.code === 'UNDO_OFFLINE')).toHaveLength(1);
  await operatorActs(handle, 'name', 'skip', '原名称已在窗口注销');
  const status = (await handle.result()) as ApplicationStatus;
  expect(status.status).toBe('aborted');
  expect(status.compensations.filter((c) => c.state === 'incident')).toEqual([]);
  expect(status.compensations.filter((c) => c.step === 'name' && c.action === 'undo')).toEqual([
    expect.objectContaining({ state: 'skipped', result: 'undone_offline' }),
  ]);
  expect(status.pendingTasks).toEqual([]);
});

it('when an operator marks a step done offline after its filing went unanswered, then the filing the agency holds is withdrawn beside the chain, which completes meanwhile', async () => {
  // The fund centre registers the account at once but answers after the adapter has given up (3 s)...
  await agenciesInstantBut('fund', { answerDelayMs: 8000, callbacks: false });
  const handle = await startApplication(env.client, { taskQueue: stack.taskQueue });
  const fundRecords = () => recordsAt(handle, 'fund');
  const [held] = await eventually(fundRecords, (r) => r.length === 1, 30_000);
  // ...and then goes down before the retry: no answer ever reached Kaiban.
  await patchSimulator(stack.simulator, { agencies: { fund: { transientFailureRate: 1 } } });
  const incident = await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:fund'), 30_000);
  expect(incident.steps.find((x) => x.id === 'fund')).toMatchObject({ state: 'incident', attempts: 2 });
  expect(incident.steps.find((x) => x.id === 'fund')!.ticket).toBeUndefined();
  expect(held).toMatchObject({ status: 'approved', live: true });

  await operatorActs(handle, 'fund', 'skip', '已在公积金中心窗口开户');
  // The centre is still down: the chain does not wait for the withdrawal.
  const completed = await waitForStatus(handle, (s) => s.status === 'completed', 30_000);
  expect(completed.steps.find((x) => x.id === 'fund')).toMatchObject({ state: 'skipped' });
  expect(completed.steps.find((x) => x.id === 'archive')).toMatchObject({ state: 'done' });
  expect(completed.compensations).toEqual([
    expect.objectContaining({ step: 'fund', action: 'cancel', state: 'running' }),
  ]);
  expect((await handle.describe()).status.name).toBe('RUNNING');
  expect((await fundRecords()).map((r) => r.live)).toEqual([true]);

  await patchSimulator(stack.simulator, { agencies: { fund: { transientFailureRate: 0, answerDelayMs: 0 } } });
  const status = (await handle.result()) as ApplicationStatus;
  expect(status.status).toBe('completed');
  expect(status.compensations).toEqual([
    expect.objectContaining({ step: 'fund', action: 'cancel', state: 'done', result: expect.any(String) }),
  ]);
  // Filed again under the same key, the centre answered with the record it held: that one is withdrawn, no other made.
  const after = await fundRecords();
  expect(after.map((r) => [r.ticket, r.live])).toEqual([[held!.ticket, false]]);
  expect(status.compensations[0]!.result).toBe(after[0]!.status);
});

it('when an operator marks a step done offline after the agency turned every filing away, then nothing is filed just to be withdrawn', async () => {
  await agenciesInstantBut('hrss', { transientFailureRate: 1 });
  try {
    const handle = await startApplication(env.client, { taskQueue: stack.taskQueue });
    await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:social'), 30_000);
    await patchSimulator(stack.simulator, { agencies: { hrss: { transientFailureRate: 0 } } });
    await operatorActs(handle, 'social', 'skip', '窗口线下已办理社保登记');
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('completed');
    expect(status.steps.find((s) => s.id === 'social')).toMatchObject({ state: 'skipped', attempts: 2 });
    expect(status.compensations).toEqual([]);
    expect(await recordsAt(handle, 'hrss')).toEqual([]);
  } finally {
    await patchSimulator(stack.simulator, { agencies: { hrss: { transientFailureRate: 0 } } });
  }
});

it('when an operator aborts an application whose step the agency turned away every time, then the compensation files nothing for that step just to cancel it', async () => {
  await agenciesInstantBut('tax', { transientFailureRate: 1 });
  try {
    const handle = await startApplication(env.client, { taskQueue: stack.taskQueue });
    await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:tax'), 30_000);
    await patchSimulator(stack.simulator, { agencies: { tax: { transientFailureRate: 0 } } });
    await handle.executeUpdate(abortUpdate, {
      args: [{ actionId: randomUUID(), by: OPERATOR, reason: '税务系统长时间不可用' }],
    });
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('aborted');
    expect(status.steps.find((s) => s.id === 'tax')).toMatchObject({ state: 'cancelled' });
    // Every step the agencies hold was undone; the tax bureau, which took nothing, was asked nothing.
    expect(status.compensations.map((c) => c.step).sort()).toEqual([
      'bank',
      'fund',
      'license',
      'name',
      'seal',
      'social',
    ]);
    const records = await agencyRecords(stack.simulator, handle.workflowId);
    expect(records.filter((r) => r.agency === 'tax')).toEqual([]);
    expect(records.filter((r) => r.live)).toEqual([]);
  } finally {
    await patchSimulator(stack.simulator, { agencies: { tax: { transientFailureRate: 0 } } });
  }
});

it('when a retried filing is turned away after an earlier round got a ticket, then an abort still withdraws the filing the agency holds', async () => {
  await agenciesInstantBut('tax', { processingMs: 600_000, callbacks: false });
  try {
    const handle = await startApplication(env.client, { taskQueue: stack.taskQueue });
    const pending = await waitForStatus(handle, (s) => s.steps.find((x) => x.id === 'tax')?.state === 'pending');
    const ticket = pending.steps.find((x) => x.id === 'tax')!.ticket!;
    // The bureau goes down: the polls fail, an incident; the operator retries while it is still down, and the
    // filing (same key) is turned away twice: a second incident, now without a ticket.
    await patchSimulator(stack.simulator, { agencies: { tax: { transientFailureRate: 1 } } });
    await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:tax'), 30_000);
    await operatorActs(handle, 'tax', 'retry');
    await waitForStatus(
      handle,
      (s) => s.pendingTasks.includes('incident:tax') && s.steps.find((x) => x.id === 'tax')!.ticket === undefined,
      30_000,
    );
    await patchSimulator(stack.simulator, { agencies: { tax: { transientFailureRate: 0 } } });
    await handle.executeUpdate(abortUpdate, {
      args: [{ actionId: randomUUID(), by: OPERATOR, reason: '申请人放弃' }],
    });
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('aborted');
    expect(status.compensations.find((c) => c.step === 'tax')).toMatchObject({ state: 'done', result: 'cancelled' });
    const tax = await recordsAt(handle, 'tax');
    expect(tax.map((r) => [r.ticket, r.live])).toEqual([[ticket, false]]);
  } finally {
    await patchSimulator(stack.simulator, { agencies: { tax: { transientFailureRate: 0 } } });
  }
});

it('when an operator marks the seal done offline, then the skip must carry its record ids, and the bank files with them', async () => {
  // The police's system is down from the start: the seal filing fails until it is an incident.
  await agenciesInstantBut('police', { transientFailureRate: 1 });
  const handle = await startApplication(env.client, { taskQueue: stack.taskQueue });
  await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:seal'), 30_000);
  const operator = await authHeaders('operator');
  const skip = (body: unknown) =>
    fetch(`${stack.api.url}/v1/applications/${handle.workflowId}/steps/seal/skip`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...operator },
      body: JSON.stringify(body),
    });

  // Without them the bank's signature card had no seals: the bank refused, and the whole application was undone.
  const bare = await skip({ reason: '已在公安窗口备案印章' });
  expect(bare.status).toBe(400);
  const refused = (await bare.json()) as {
    error: { code: string; message: string; issues: { path: string; code: string }[] };
  };
  expect(refused.error.code).toBe('OUTPUT_REQUIRED');
  expect(refused.error.message).toMatch(/^跳过刻章备案需提供 output\.seals/); // the console's language (zh-CN)
  expect(refused.error.issues).toEqual([expect.objectContaining({ path: 'output.seals', code: 'OUTPUT_REQUIRED' })]);
  expect((await skip({ reason: '已在公安窗口备案印章', output: { seals: [{ recordId: ' ' }] } })).status).toBe(400);

  const seals = [{ recordId: 'GA3601000000000001' }, { recordId: 'GA3601000000000002' }];
  expect((await skip({ reason: '已在公安窗口备案印章', output: { seals } })).status).toBe(200);
  const status = (await handle.result()) as ApplicationStatus;
  expect(status.status).toBe('completed');
  expect(status.steps.find((s) => s.id === 'seal')).toMatchObject({
    state: 'skipped',
    output: expect.objectContaining({ seals }),
  });
  expect(status.steps.find((s) => s.id === 'bank')).toMatchObject({ state: 'done' });
  await agenciesInstantBut('police', {});
});
