/**
 * A corrected company name is reserved again inside the license's step (workflows/businessStartup.ts
 * reserveNameAgain). What goes wrong there belongs to the name: a rejection of the new name rejects the name step
 * (not the license), and after an incident an operator's retry of the license reserves the name first (patch
 * `reserve-owed-name`). Dev server, real simulator; agency calls time out after 1 s, two attempts make an incident.
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ApplicationStatus, StepStatus } from '../domain/status';
import { buildUscc } from '../domain/codes';
import type { StepId } from '../domain/steps';
import { abortUpdate, applicationQuery, correctionUpdate, reviewUpdate, stepActionUpdate } from '../workflows/messages';
import { companyNameKey, companySearchText } from '../infra/search-attributes';
import { freshApplication, startApplication } from './helpers/fixtures';
import { agencyRecords, patchSimulator, startStack, type Stack } from './helpers/stack';
import { startDevServer } from './helpers/temporal';
import { eventually } from './helpers/sla-world';
import { updateRejection, waitForStatus } from './helpers/wait';

let env: TestWorkflowEnvironment;
let stack: Stack;
const operator = { subject: 'op-1', role: 'operator' as const };
const applicant = { subject: 'applicant-1', role: 'applicant' as const };
const INSTANT = { processingMs: 0, transientFailureRate: 0, answerDelayMs: 0, rejectProcedures: [] };

beforeAll(async () => {
  env = await startDevServer();
  stack = await startStack(env, { settings: { agencyMaxAttempts: 2 }, env: { AGENCY_TIMEOUT_MS: '1000' } });
});

afterAll(async () => {
  await stack?.close();
  await env?.teardown();
});

beforeEach(async () => {
  await patchSimulator(stack.simulator, {
    agencies: Object.fromEntries(['market', 'police', 'tax', 'hrss', 'fund', 'bank'].map((a) => [a, INSTANT])),
  });
});

const step = (status: ApplicationStatus, id: StepId): StepStatus => status.steps.find((s) => s.id === id)!;

/** An application with 金融 in its name, sent back for a new name; resolves once the applicant is asked. */
async function askedForAnotherName(): Promise<WorkflowHandle> {
  const handle = await startApplication(env.client, {
    taskQueue: stack.taskQueue,
    edit: (a) => void (a.company.name = a.company.name.replace('科技', '金融')),
  });
  await waitForStatus(handle, (s) => s.pendingTasks.includes('review'));
  await handle.executeUpdate(reviewUpdate, {
    args: [
      {
        actionId: randomUUID(),
        by: operator,
        decision: 'request_correction',
        reason: '名称不得含「金融」',
        fields: ['company.name'],
      },
    ],
  });
  await waitForStatus(handle, (s) => s.pendingTasks.includes('correction'));
  return handle;
}

/**
 * The applicant answers with a new name that cannot be reserved: the old reservation's release is refused and an
 * operator answers for it offline, then the regulator turns every filing of the new name away (503) — an incident of
 * the license's step. Resolves with the corrected application and the status at that incident.
 */
async function correctedNameTurnedAway(
  handle: WorkflowHandle,
): Promise<{ corrected: ReturnType<typeof freshApplication>; incident: ApplicationStatus }> {
  await patchSimulator(stack.simulator, { agencies: { market: { refuseUndo: true } } });
  const corrected = freshApplication();
  await handle.executeUpdate(correctionUpdate, {
    args: [{ actionId: randomUUID(), by: applicant, application: corrected }],
  });
  await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:name'));
  await patchSimulator(stack.simulator, { agencies: { market: { refuseUndo: false, transientFailureRate: 1 } } });
  await handle.executeUpdate(stepActionUpdate, {
    args: [{ actionId: randomUUID(), by: operator, step: 'name', action: 'skip', reason: '窗口已注销原名称' }],
  });
  const incident = await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:license'), 30_000);
  return { corrected, incident };
}

const nameRecords = async (id: string) =>
  (await agencyRecords(stack.simulator, id)).filter((r) => r.procedure === 'name_reservation');

it('when the market regulator rejects the corrected name, then the name step is rejected (not the license) and the operator reviews it again; rejected there, the application ends', async () => {
  const handle = await askedForAnotherName();
  await patchSimulator(stack.simulator, { agencies: { market: { rejectProcedures: ['name_reservation'] } } });
  try {
    await handle.executeUpdate(correctionUpdate, {
      args: [{ actionId: randomUUID(), by: applicant, application: freshApplication() }],
    });
    const again = await waitForStatus(
      handle,
      (s) => s.pendingTasks.includes('review') && !!s.review?.correction?.answeredAt,
    );
    expect(step(again, 'name')).toMatchObject({ state: 'rejected', error: { code: 'AGENCY_REJECTED' } });
    expect(again.review?.findings.map((f) => f.code)).toContain('NAME_REFUSED');
    expect(step(again, 'license').error).toBeUndefined();
  } finally {
    await patchSimulator(stack.simulator, { agencies: { market: { rejectProcedures: [] } } });
  }
  await handle.executeUpdate(reviewUpdate, {
    args: [{ actionId: randomUUID(), by: operator, decision: 'reject', reason: '名称仍不予核准' }],
  });
  const status = (await handle.result()) as ApplicationStatus;
  expect(status.status).toBe('rejected');
  expect(status.outcome?.step).toBe('license');
  expect(step(status, 'name')).toMatchObject({ state: 'rejected', error: { code: 'AGENCY_REJECTED' } });
  expect(step(status, 'license').state).toBe('cancelled');
  expect(step(status, 'license').error).toBeUndefined();
  // The old reservation was released for the new name; the new one was refused: nothing live.
  expect((await nameRecords(handle.workflowId)).map((r) => r.status)).toEqual(['revoked', 'rejected']);
  expect((await agencyRecords(stack.simulator, handle.workflowId)).filter((r) => r.live)).toEqual([]);
});

it('when the corrected name that failed for good is refused on the retry of the license, then the operator reviews the refusal (the application goes on)', async () => {
  const handle = await askedForAnotherName();
  await correctedNameTurnedAway(handle);
  await patchSimulator(stack.simulator, {
    agencies: { market: { transientFailureRate: 0, rejectProcedures: ['name_reservation'] } },
  });
  try {
    await handle.executeUpdate(stepActionUpdate, {
      args: [{ actionId: randomUUID(), by: operator, step: 'license', action: 'retry' }],
    });
    const reviewing = await waitForStatus(handle, (s) => s.pendingTasks.includes('review'), 30_000);
    expect(reviewing.status).toBe('running');
    expect(step(reviewing, 'name')).toMatchObject({ state: 'rejected', error: { code: 'AGENCY_REJECTED' } });
    expect(reviewing.review?.findings.map((f) => f.code)).toContain('NAME_REFUSED');
  } finally {
    await patchSimulator(stack.simulator, { agencies: { market: { rejectProcedures: [] } } });
  }
  await handle.executeUpdate(abortUpdate, { args: [{ actionId: randomUUID(), by: operator, reason: 'test done' }] });
  expect(((await handle.result()) as ApplicationStatus).status).toBe('aborted');
});

it('when reserving the corrected name fails for good, then an operator retry of the license reserves the name first, and the license is filed on it', async () => {
  const handle = await askedForAnotherName();
  const { corrected, incident } = await correctedNameTurnedAway(handle);
  expect(step(incident, 'name').state).not.toBe('done');
  await patchSimulator(stack.simulator, { agencies: { market: { transientFailureRate: 0 } } });
  await handle.executeUpdate(stepActionUpdate, {
    args: [{ actionId: randomUUID(), by: operator, step: 'license', action: 'retry' }],
  });
  // The corrected application is reviewed again (a correction always is), then approved.
  await waitForStatus(handle, (s) => s.pendingTasks.includes('review'), 30_000);
  await handle.executeUpdate(reviewUpdate, {
    args: [{ actionId: randomUUID(), by: operator, decision: 'approve', reason: '名称已更正' }],
  });
  const status = (await handle.result()) as ApplicationStatus;
  expect(status.status).toBe('completed');
  // Before, the retry went straight to the review and filed the license on the old reservation; the name stayed
  // `filing` in a completed application.
  expect(step(status, 'name')).toMatchObject({
    state: 'done',
    output: expect.objectContaining({ reservedName: corrected.company.name }),
  });
  const reservations = (await nameRecords(handle.workflowId)).map((r) => [r.result?.reservedName, r.status]);
  expect(reservations).toEqual([
    [expect.not.stringContaining(corrected.company.name), 'approved'], // released offline, the operator said
    [corrected.company.name, 'approved'],
  ]);
});

it("when a license's retry is reserving the owed name, then a second action on the license is refused: it would have been kept for the license's next incident", async () => {
  const handle = await askedForAnotherName();
  await correctedNameTurnedAway(handle);
  // The regulator is back but slow: the retried license waits on the new name's reservation (patch
  // license-waits-for-owed-name: it stayed `incident`, without its error and with no one asked to act).
  await patchSimulator(stack.simulator, { agencies: { market: { transientFailureRate: 0, processingMs: 600_000 } } });
  await handle.executeUpdate(stepActionUpdate, {
    args: [{ actionId: randomUUID(), by: operator, step: 'license', action: 'retry' }],
  });
  const retrying = await waitForStatus(handle, (s) => step(s, 'name').state === 'pending', 30_000);
  expect(step(retrying, 'license').state).toBe('waiting');
  expect(step(retrying, 'license').error).toBeUndefined();
  expect(retrying.pendingTasks).not.toContain('incident:license');
  expect(
    await updateRejection(
      handle.executeUpdate(stepActionUpdate, {
        args: [
          {
            actionId: randomUUID(),
            by: operator,
            step: 'license',
            action: 'skip',
            reason: '窗口已办结',
            output: { uscc: buildUscc('360113', 'MA35X7K2') },
          },
        ],
      }),
    ),
  ).toEqual({
    type: 'STEP_NOT_IN_INCIDENT',
    message: "step license is neither in an incident nor waiting for its agency's decision",
  });
  await handle.terminate('test done');
});

it('when the applicant answers a correction with another name, then the license waits while the name is reserved again, no longer shown as waiting for the correction', async () => {
  const handle = await askedForAnotherName();
  await patchSimulator(stack.simulator, { agencies: { market: { processingMs: 600_000 } } });
  await handle.executeUpdate(correctionUpdate, {
    args: [{ actionId: randomUUID(), by: applicant, application: freshApplication() }],
  });
  // The old reservation released, the new name filed: the regulator has yet to decide.
  const reserving = await waitForStatus(handle, (s) => step(s, 'name').state === 'pending', 30_000);
  expect(step(reserving, 'license').state).toBe('waiting');
  expect(reserving.pendingTasks).toEqual([]);
  expect(reserving.review?.correction?.answeredAt).toEqual(expect.any(String));
  await handle.terminate('test done');
});

it('when reserving the corrected name is turned away for good and an operator aborts, then neither the license nor the corrected name is filed just to be cancelled', async () => {
  const handle = await askedForAnotherName();
  await correctedNameTurnedAway(handle);
  await patchSimulator(stack.simulator, { agencies: { market: { transientFailureRate: 0 } } });
  await handle.executeUpdate(abortUpdate, {
    args: [{ actionId: randomUUID(), by: operator, reason: '申请人放弃' }],
  });
  const status = (await handle.result()) as ApplicationStatus;
  expect(status.status).toBe('aborted');
  // The license was never filed (the review came first, then the name failed): nothing to file again and cancel.
  expect(status.compensations.filter((c) => c.step === 'license')).toEqual([]);
  const registrations = (await agencyRecords(stack.simulator, handle.workflowId)).filter(
    (r) => r.procedure === 'establishment_registration',
  );
  expect(registrations).toEqual([]);
  // Live: only the old reservation, whose release the operator answered for offline (the regulator refused it).
  const live = (await agencyRecords(stack.simulator, handle.workflowId)).filter((r) => r.live);
  expect(live.map((r) => r.idempotencyKey)).toEqual([`${handle.workflowId}:name`]);
  // Nor the corrected name, which never reached the regulator: before, it was filed again only to be cancelled.
  expect(status.compensations.map((c) => [c.step, c.action, c.result])).toEqual([['name', 'undo', 'undone_offline']]);
  expect(step(status, 'name').state).toBe('cancelled');
  expect((await nameRecords(handle.workflowId)).map((r) => r.idempotencyKey)).toEqual([`${handle.workflowId}:name`]);
});

it('when reserving the corrected name goes unanswered and an operator marks the license done offline, then the name is done offline with it and the filing the regulator may hold is withdrawn', async () => {
  const handle = await askedForAnotherName();
  // The regulator registers the new name but answers after the adapter has given up (1 s), then goes down: no
  // answer ever came, an incident of the license's step.
  await patchSimulator(stack.simulator, { agencies: { market: { answerDelayMs: 4000 } } });
  const corrected = freshApplication();
  await handle.executeUpdate(correctionUpdate, {
    args: [{ actionId: randomUUID(), by: applicant, application: corrected }],
  });
  await eventually(
    () => nameRecords(handle.workflowId),
    (r) => r.length === 2,
    30_000,
  );
  await patchSimulator(stack.simulator, { agencies: { market: { answerDelayMs: 0, transientFailureRate: 1 } } });
  await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:license'), 30_000);

  // The regulator still down, the operator registers the company at the window.
  await handle.executeUpdate(stepActionUpdate, {
    args: [
      {
        actionId: randomUUID(),
        by: operator,
        step: 'license',
        action: 'skip',
        reason: '窗口已办理营业执照',
        output: { uscc: '91350100M000100Y43' },
      },
    ],
  });
  const completed = await waitForStatus(handle, (s) => s.status === 'completed', 30_000);
  // Before, the name stayed `filing` in a completed application, and its filing was left with the regulator.
  expect(step(completed, 'name')).toMatchObject({
    state: 'skipped',
    attempts: 3, // the first reservation, then the corrected name's two attempts (they were counted on the license)
    output: expect.objectContaining({ skippedOffline: true, withLicense: true }),
  });
  expect(step(completed, 'license')).toMatchObject({ state: 'skipped', attempts: 0 }); // never filed
  // Operators find it under the corrected name.
  const described = await handle.describe();
  expect(described.typedSearchAttributes.get(companyNameKey)).toBe(companySearchText(corrected.company.name));
  expect(completed.compensations).toEqual([
    expect.objectContaining({ step: 'name', action: 'undo', state: 'done' }), // the old name, released
    expect.objectContaining({ step: 'name', action: 'cancel', state: 'running' }),
  ]);

  await patchSimulator(stack.simulator, { agencies: { market: { transientFailureRate: 0 } } });
  const status = (await handle.result()) as ApplicationStatus;
  expect(status.compensations[1]).toMatchObject({ step: 'name', action: 'cancel', state: 'done' });
  // Filed again under its key, the regulator returned the record it held: withdrawn, nothing live at the regulator.
  const names = await nameRecords(handle.workflowId);
  expect(names.map((r) => [r.result?.reservedName === corrected.company.name, r.live])).toEqual([
    [false, false],
    [true, false],
  ]);
  expect((await agencyRecords(stack.simulator, handle.workflowId)).filter((r) => r.agency === 'market')).toHaveLength(
    2,
  );
});

it('when a correction moves the company to another district under the same name, then the name is reserved again there and the first reservation released', async () => {
  const handle = await startApplication(env.client, {
    taskQueue: stack.taskQueue,
    edit: (a) => void (a.company.name = a.company.name.replace('科技', '投资')),
  });
  await waitForStatus(handle, (s) => s.pendingTasks.includes('review'));
  const original = await handle.query(applicationQuery);
  const review = (decision: 'request_correction' | 'approve', fields?: string[]) =>
    handle.executeUpdate(reviewUpdate, {
      args: [
        { actionId: randomUUID(), by: operator, decision, reason: '住所所在区有误', ...(fields ? { fields } : {}) },
      ],
    });
  await review('request_correction', ['company.district', 'company.address']);
  await waitForStatus(handle, (s) => s.pendingTasks.includes('correction'));
  const moved = structuredClone(original);
  moved.company.district = '360102';
  moved.company.address = '八一大道1号';
  moved.services.bank.branch = '南昌八一大道支行'; // not asked for: the audit trail says so
  await handle.executeUpdate(correctionUpdate, {
    args: [{ actionId: randomUUID(), by: applicant, application: moved }],
  });
  await waitForStatus(handle, (s) => s.pendingTasks.includes('review'), 30_000);
  await review('approve');
  const status = (await handle.result()) as ApplicationStatus;
  expect(status.status).toBe('completed');

  // The name's filing carries the district: reserved again in 360102, the 360113 reservation released.
  expect(String(step(status, 'name').output?.reservationId)).toContain('360102');
  const names = await nameRecords(handle.workflowId);
  expect(names.map((r) => [String(r.result?.reservationId).slice(2, 8), r.status, r.live])).toEqual([
    [original.company.district, 'revoked', false],
    ['360102', 'approved', true],
  ]);
  expect(status.compensations).toEqual([expect.objectContaining({ step: 'name', action: 'undo', state: 'done' })]);
  expect(String(status.results.uscc).slice(2, 8)).toBe('360102');
  // The audit trail names what the correction changed, and what of it the operator did not ask for.
  expect(status.audit.find((e) => e.action === 'answer_correction')?.detail).toEqual({
    changed: ['company.address', 'company.district', 'services.bank.branch'],
    unrequested: ['services.bank.branch'],
  });
});
