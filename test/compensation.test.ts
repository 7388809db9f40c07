/**
 * Compensation (saga), manual review and incidents, on the Temporal dev server with the real agency
 * simulator. Actions are sent as Temporal updates, as the API sends them. (The time-skipping test
 * server is kept for the SLA timers: it mishandles bursts of agency callbacks, see workflow.test.ts.)
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Application } from '../domain/application';
import type { ApplicationStatus, CompensationRecord, StepStatus } from '../domain/status';
import type { StepId } from '../domain/steps';
import { abortUpdate, correctionUpdate, reviewUpdate, stepActionUpdate, withdrawUpdate } from '../workflows/messages';
import { authHeaders } from './helpers/auth';
import { freshApplication, startApplication } from './helpers/fixtures';
import { patchMarkers } from './helpers/histories';
import { agencyRecords, patchSimulator, startStack, type Stack } from './helpers/stack';
import { startDevServer } from './helpers/temporal';
import { updateRejection, waitForStatus } from './helpers/wait';

let env: TestWorkflowEnvironment;
let stack: Stack;
const operator = { subject: 'op-1', role: 'operator' as const };
const applicant = { subject: 'applicant-1', role: 'applicant' as const };

beforeAll(async () => {
  env = await startDevServer();
  stack = await startStack(env, { settings: { agencyMaxAttempts: 2 } });
});

afterAll(async () => {
  await stack?.close();
  await env?.teardown();
});

const DEFAULT_AGENCIES = Object.fromEntries(
  ['market', 'police', 'tax', 'hrss', 'fund', 'bank'].map((a) => [
    a,
    { processingMs: 0, transientFailureRate: 0, rejectProcedures: [], rejectAll: false, refuseUndo: false },
  ]),
);

beforeEach(async () => {
  await patchSimulator(stack.simulator, { agencies: DEFAULT_AGENCIES });
});

const start = (edit?: (app: Application) => void): Promise<WorkflowHandle> =>
  startApplication(env.client, { taskQueue: stack.taskQueue, edit });

const step = (status: ApplicationStatus, id: StepId): StepStatus => status.steps.find((s) => s.id === id)!;
const undoOf = (status: ApplicationStatus, id: StepId): CompensationRecord | undefined =>
  status.compensations.find((c) => c.step === id);
const action = () => randomUUID();

async function expectNothingLive(applicationId: string): Promise<void> {
  const records = await agencyRecords(stack.simulator, applicationId);
  expect(records.filter((r) => r.live)).toEqual([]);
}

/** An operator asks for another company name (it may not contain 金融); resolves once the applicant is asked. */
async function requestNameCorrection(handle: WorkflowHandle): Promise<ApplicationStatus> {
  await handle.executeUpdate(reviewUpdate, {
    args: [
      {
        actionId: action(),
        by: operator,
        decision: 'request_correction',
        reason: '名称不得含「金融」',
        fields: ['company.name'],
      },
    ],
  });
  return waitForStatus(handle, (s) => s.pendingTasks.includes('correction'));
}

/** Every undo of a step finished before the undo of anything it needs started. */
function expectReverseDependencyOrder(status: ApplicationStatus): void {
  for (const c of status.compensations) {
    for (const need of step(status, c.step).needs) {
      const undoOfNeed = undoOf(status, need);
      if (undoOfNeed) expect(Date.parse(undoOfNeed.startedAt)).toBeGreaterThanOrEqual(Date.parse(c.finishedAt!));
    }
  }
}

describe('withdrawal', () => {
  it('when the applicant withdraws before the license, then the name reservation is released and nothing is left', async () => {
    await patchSimulator(stack.simulator, { agencies: { market: { processingMs: 600_000 } } });
    const handle = await start();
    await waitForStatus(handle, (s) => step(s, 'name').state === 'pending');
    const result = await handle.executeUpdate(withdrawUpdate, {
      args: [{ actionId: action(), by: applicant, reason: 'changed my mind' }],
    });
    expect(result.accepted).toBe(true);
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('withdrawn');
    expect(status.compensations.map((c) => [c.step, c.action, c.result])).toEqual([['name', 'cancel', 'cancelled']]);
    expect(step(status, 'license').state).toBe('cancelled');
    expect(status.audit).toEqual([
      expect.objectContaining({ action: 'withdraw', by: applicant, reason: 'changed my mind' }),
    ]);
    await expectNothingLive(handle.workflowId);
  });

  it('when the applicant withdraws during the parallel steps, then every filed step is undone, dependents first', async () => {
    await patchSimulator(stack.simulator, {
      agencies: { police: { processingMs: 600_000 }, tax: { processingMs: 600_000 } },
    });
    const handle = await start();
    await waitForStatus(
      handle,
      (s) =>
        ['seal', 'tax'].every((id) => step(s, id as StepId).state === 'pending') &&
        ['social', 'fund'].every((id) => step(s, id as StepId).state === 'done'),
    );
    await handle.executeUpdate(withdrawUpdate, { args: [{ actionId: action(), by: applicant }] });
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('withdrawn');
    const actions = Object.fromEntries(status.compensations.map((c) => [c.step, `${c.action}:${c.result}`]));
    expect(actions).toEqual({
      seal: 'cancel:cancelled',
      tax: 'cancel:cancelled',
      social: 'undo:revoked',
      fund: 'undo:revoked',
      license: 'undo:revoked',
      name: 'undo:revoked',
    });
    expectReverseDependencyOrder(status);
    await expectNothingLive(handle.workflowId);
  });

  it('when the applicant withdraws while the bank step waits, then the appointment is cancelled before the seals and the license', async () => {
    await patchSimulator(stack.simulator, { agencies: { bank: { processingMs: 600_000 } } });
    const handle = await start();
    await waitForStatus(handle, (s) => step(s, 'bank').state === 'pending');
    await handle.executeUpdate(withdrawUpdate, { args: [{ actionId: action(), by: applicant }] });
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('withdrawn');
    expect(status.compensations.map((c) => c.step).sort()).toEqual([
      'bank',
      'fund',
      'license',
      'name',
      'seal',
      'social',
      'tax',
    ]);
    expect(undoOf(status, 'bank')).toMatchObject({ action: 'cancel', result: 'cancelled' });
    expect(Date.parse(undoOf(status, 'seal')!.startedAt)).toBeGreaterThanOrEqual(
      Date.parse(undoOf(status, 'bank')!.finishedAt!),
    );
    expectReverseDependencyOrder(status);
    await expectNothingLive(handle.workflowId);
  });

  it('refuses to withdraw twice, but a repeated action id returns the first result', async () => {
    await patchSimulator(stack.simulator, { agencies: { market: { processingMs: 600_000 } } });
    const handle = await start();
    await waitForStatus(handle, (s) => step(s, 'name').state === 'pending');
    // The undo of the name reservation takes 2 s, so the application is still compensating, not closed, when the
    // second withdrawal arrives: the workflow itself refuses it (a closed workflow would abort the update instead).
    await patchSimulator(stack.simulator, { agencies: { market: { latencySpikeRate: 1, latencySpikeMs: 2000 } } });
    const id = action();
    const first = await handle.executeUpdate(withdrawUpdate, { args: [{ actionId: id, by: applicant }], updateId: id });
    const again = await handle.executeUpdate(withdrawUpdate, { args: [{ actionId: id, by: applicant }], updateId: id });
    expect(again).toEqual(first);
    expect(
      await updateRejection(handle.executeUpdate(withdrawUpdate, { args: [{ actionId: action(), by: applicant }] })),
    ).toEqual({
      type: 'APPLICATION_FINISHED',
      message: 'the application is already withdrawn',
    });
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.audit.filter((a) => a.action === 'withdraw')).toHaveLength(1);
  });
});

describe('rejection', () => {
  it('when the market regulator rejects the registration, then the name is released and the application is rejected', async () => {
    await patchSimulator(stack.simulator, {
      agencies: { market: { rejectProcedures: ['establishment_registration'] } },
    });
    const handle = await start();
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('rejected');
    expect(step(status, 'license').state).toBe('rejected');
    expect(step(status, 'license').error?.reason?.code).toBe('AGENCY_REJECTED');
    expect(status.compensations.map((c) => [c.step, c.result])).toEqual([['name', 'revoked']]);
    expect(status.outcome).toMatchObject({ step: 'license', by: { role: 'agency', subject: 'market' } });
    await expectNothingLive(handle.workflowId);
  });

  /** The tax bureau turns down the new-taxpayer confirmation: an incident on `tax`, the other steps go on. */
  async function taxRefused(): Promise<WorkflowHandle> {
    await patchSimulator(stack.simulator, { agencies: { tax: { rejectProcedures: ['taxpayer_registration'] } } });
    const handle = await start();
    const status = await waitForStatus(
      handle,
      (s) => s.pendingTasks.includes('incident:tax') && step(s, 'bank').state === 'done',
      30_000,
    );
    expect(status.status).toBe('running');
    expect(step(status, 'tax')).toMatchObject({
      state: 'incident',
      error: { code: 'AGENCY_REJECTED', reason: { code: expect.any(String) } },
    });
    expect(status.compensations).toEqual([]);
    return handle;
  }

  it('when an agency refuses a step after the registration, then that step is an incident and nothing is undone; filed again on retry, it completes', async () => {
    const handle = await taxRefused();
    const refusedTicket = step(await handle.query('status'), 'tax').ticket;
    await patchSimulator(stack.simulator, { agencies: DEFAULT_AGENCIES });
    await handle.executeUpdate(stepActionUpdate, {
      args: [{ actionId: action(), by: operator, step: 'tax', action: 'retry', reason: '纳税人已补充说明' }],
    });
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('completed');
    expect(step(status, 'tax')).toMatchObject({ state: 'done' });
    expect(step(status, 'tax').error).toBeUndefined();
    // A new filing (a new key: under the old one the bureau answers with the refused record), approved.
    expect(step(status, 'tax').ticket).not.toBe(refusedTicket);
    const taxRecords = (await agencyRecords(stack.simulator, handle.workflowId)).filter((r) => r.agency === 'tax');
    expect(taxRecords.map((r) => r.status).sort()).toEqual(['approved', 'rejected']);
    expect(status.results.tax).toMatchObject({ taxRecordId: expect.any(String) });
  });

  it('when an operator aborts an application whose step was refused, then every completed step is undone and the refused filing is left as it is', async () => {
    const handle = await taxRefused();
    await handle.executeUpdate(abortUpdate, {
      args: [{ actionId: action(), by: operator, reason: '税务不予确认，申请人放弃' }],
    });
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('aborted');
    expect(status.compensations.map((c) => c.step).sort()).toEqual([
      'bank',
      'fund',
      'license',
      'name',
      'seal',
      'social',
    ]);
    expect(status.compensations.every((c) => c.state === 'done')).toBe(true);
    expect(step(status, 'tax')).toMatchObject({ state: 'cancelled', error: { code: 'AGENCY_REJECTED' } });
    await expectNothingLive(handle.workflowId);
  });

  it('retries a compensation that fails transiently until it succeeds, and reports it', async () => {
    await patchSimulator(stack.simulator, { agencies: { bank: { processingMs: 600_000 } } });
    const handle = await start();
    await waitForStatus(handle, (s) => step(s, 'bank').state === 'pending');
    await patchSimulator(stack.simulator, { agencies: { police: { transientFailureRate: 1 } } });
    await handle.executeUpdate(withdrawUpdate, { args: [{ actionId: action(), by: applicant }] });
    await waitForStatus(handle, (s) => s.compensations.some((c) => c.step === 'seal'));
    for (let i = 0; i < 100; i++) {
      const d = await handle.describe();
      if (d.raw.pendingActivities?.some((a) => a.activityType?.name === 'cancelAgencyRequest' && (a.attempt ?? 0) >= 2))
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await patchSimulator(stack.simulator, { agencies: { police: { transientFailureRate: 0 } } });
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('withdrawn');
    expect(undoOf(status, 'seal')).toMatchObject({ state: 'done', result: 'revoked' });
    expect(undoOf(status, 'seal')!.attempts).toBeGreaterThanOrEqual(2);
    await expectNothingLive(handle.workflowId);
  });
});

describe('automatic approval and manual review', () => {
  it('approves the sample application with no human', async () => {
    const handle = await start();
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('completed');
    expect(status.review).toMatchObject({ decision: 'auto_approve', findings: [], state: 'not_needed' });
    expect(status.audit).toEqual([]);
  });

  it('sends a sensitive name to review; an operator approves; the chain completes', async () => {
    const handle = await start((app) => {
      app.company.name = app.company.name.replace('科技', '投资');
    });
    const waiting = await waitForStatus(handle, (s) => s.pendingTasks.includes('review'));
    expect(waiting.review?.findings.map((f) => f.code)).toEqual(['NAME_SENSITIVE_WORD']);
    expect(step(waiting, 'license').state).toBe('review');
    await handle.executeUpdate(reviewUpdate, {
      args: [{ actionId: action(), by: operator, decision: 'approve', reason: 'investment consulting only' }],
    });
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('completed');
    expect(status.review).toMatchObject({ state: 'approved', decidedBy: operator });
    expect(status.audit.map((a) => a.action)).toEqual(['review:approve']);
  });

  it('refuses a review decision when no review is pending, with a clear reason', async () => {
    await patchSimulator(stack.simulator, { agencies: { market: { processingMs: 600_000 } } });
    const handle = await start();
    await waitForStatus(handle, (s) => step(s, 'name').state === 'pending');
    expect(
      await updateRejection(
        handle.executeUpdate(reviewUpdate, {
          args: [{ actionId: action(), by: operator, decision: 'approve', reason: 'ok' }],
        }),
      ),
    ).toEqual({ type: 'NO_REVIEW_PENDING', message: 'no review is waiting for a decision' });
    await handle.executeUpdate(abortUpdate, { args: [{ actionId: action(), by: operator, reason: 'test cleanup' }] });
    expect(((await handle.result()) as ApplicationStatus).status).toBe('aborted');
  });

  it('when an operator rejects in review, then the name reservation is released', async () => {
    const handle = await start((app) => {
      app.company.businessScope = ['私人侦探服务'];
    });
    const waiting = await waitForStatus(handle, (s) => s.pendingTasks.includes('review'));
    expect(waiting.review?.findings.map((f) => f.code)).toEqual(['SCOPE_NON_STANDARD']);
    await handle.executeUpdate(reviewUpdate, {
      args: [{ actionId: action(), by: operator, decision: 'reject', reason: 'not a lawful business scope' }],
    });
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('rejected');
    expect(status.outcome).toMatchObject({ by: operator, reason: 'not a lawful business scope' });
    expect(status.compensations.map((c) => [c.step, c.result])).toEqual([['name', 'revoked']]);
    await expectNothingLive(handle.workflowId);
  });

  it('request correction → the applicant corrects the name → approved → completed, the old name released', async () => {
    const handle = await start((app) => {
      app.company.name = app.company.name.replace('科技', '金融');
    });
    const waiting = await waitForStatus(handle, (s) => s.pendingTasks.includes('review'));
    const correcting = await requestNameCorrection(handle);
    expect(correcting.review?.correction).toMatchObject({ message: '名称不得含「金融」', fields: ['company.name'] });
    const corrected = freshApplication();
    await handle.executeUpdate(correctionUpdate, {
      args: [{ actionId: action(), by: applicant, application: corrected }],
    });
    await waitForStatus(handle, (s) => s.pendingTasks.includes('review'));
    await handle.executeUpdate(reviewUpdate, {
      args: [{ actionId: action(), by: operator, decision: 'approve', reason: 'corrected' }],
    });
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('completed');
    expect(status.company.name).toBe(corrected.company.name);
    expect(status.audit.map((a) => a.action)).toEqual([
      'review:request_correction',
      'answer_correction',
      'review:approve',
    ]);
    const names = (await agencyRecords(stack.simulator, handle.workflowId)).filter(
      (r) => r.procedure === 'name_reservation',
    );
    expect(names.map((r) => r.status)).toEqual(['revoked', 'approved']);
    expect(names[1]?.result?.reservedName).toBe(corrected.company.name);
    expect(waiting.company.name).not.toBe(corrected.company.name);
  });
  it('refuses a second correction while the corrected name is being reserved: the first answer is the one reviewed', async () => {
    const handle = await start((app) => void (app.company.name = app.company.name.replace('科技', '金融')));
    await waitForStatus(handle, (s) => s.pendingTasks.includes('review'));
    await requestNameCorrection(handle);
    // The market regulator takes its time over the new name: the workflow waits on it with the answer taken.
    await patchSimulator(stack.simulator, { agencies: { market: { processingMs: 600_000 } } });
    const first = freshApplication();
    await handle.executeUpdate(correctionUpdate, { args: [{ actionId: action(), by: applicant, application: first }] });
    const reserving = await waitForStatus(handle, (s) => step(s, 'name').state === 'pending');
    expect(reserving.pendingTasks).not.toContain('correction');
    expect(
      await updateRejection(
        handle.executeUpdate(correctionUpdate, {
          args: [{ actionId: action(), by: applicant, application: freshApplication() }],
        }),
      ),
    ).toMatchObject({ type: 'NO_CORRECTION_PENDING' });
    await patchSimulator(stack.simulator, { agencies: { market: { processingMs: 0 } } });
    await handle.executeUpdate(withdrawUpdate, { args: [{ actionId: action(), by: applicant }] });
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.company.name).toBe(first.company.name);
    expect(status.audit.map((a) => a.action)).toEqual(['review:request_correction', 'answer_correction', 'withdraw']);
    await expectNothingLive(handle.workflowId);
  });
});

describe('incidents', () => {
  async function incidentOnSeal(): Promise<WorkflowHandle> {
    await patchSimulator(stack.simulator, { agencies: { police: { transientFailureRate: 1 } } });
    const handle = await start();
    const status = await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:seal'), 30_000);
    expect(step(status, 'seal')).toMatchObject({ state: 'incident', error: { code: 'STEP_INCIDENT' } });
    expect(status.status).toBe('running');
    return handle;
  }

  /** An operator marks the seal, in an incident, carved at the window (with its record id). */
  function sealDoneOffline(handle: WorkflowHandle, reason: string) {
    return handle.executeUpdate(stepActionUpdate, {
      args: [
        {
          actionId: action(),
          by: operator,
          step: 'seal',
          action: 'skip',
          reason,
          output: { seals: [{ type: 'official', recordId: 'OFFLINE-1' }] },
        },
      ],
    });
  }

  it('when an agency is down beyond the retry budget, the step becomes an incident; an operator retry succeeds', async () => {
    const handle = await incidentOnSeal();
    expect(
      await updateRejection(
        handle.executeUpdate(stepActionUpdate, {
          args: [{ actionId: action(), by: operator, step: 'tax', action: 'retry' }],
        }),
      ),
    ).toEqual({
      type: 'STEP_NOT_IN_INCIDENT',
      message: "step tax is neither in an incident nor waiting for its agency's decision",
    });
    await patchSimulator(stack.simulator, { agencies: { police: { transientFailureRate: 0 } } });
    await handle.executeUpdate(stepActionUpdate, {
      args: [{ actionId: action(), by: operator, step: 'seal', action: 'retry', reason: 'police system back' }],
    });
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('completed');
    expect(step(status, 'seal').attempts).toBeGreaterThanOrEqual(3);
    expect(status.audit.map((a) => [a.action, a.step])).toEqual([['retry', 'seal']]);
  });

  it('an operator may mark the step done offline (skip) with a reason', async () => {
    const handle = await incidentOnSeal();
    expect(
      await updateRejection(
        handle.executeUpdate(stepActionUpdate, {
          args: [{ actionId: action(), by: operator, step: 'seal', action: 'skip' }],
        }),
      ),
    ).toEqual({ type: 'REASON_REQUIRED', message: 'give a reason for this action' });
    // Over HTTP the rejection names the field, as the body's schema errors do, in the caller's language (zh-CN unless
    // English is asked for): a window clerk's console does not show the workflow's English.
    const skipWithoutReason = async (language?: string) => {
      const res = await fetch(`${stack.api.url}/v1/applications/${handle.workflowId}/steps/seal/skip`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(language ? { 'accept-language': language } : {}),
          ...(await authHeaders('operator')),
        },
        body: '{}',
      });
      expect(res.status).toBe(400);
      return ((await res.json()) as { error: { code: string; message: string; issues: unknown[] } }).error;
    };
    expect(await skipWithoutReason()).toMatchObject({
      code: 'REASON_REQUIRED',
      message: '请填写此操作的理由',
      issues: [{ path: 'reason', code: 'REASON_REQUIRED', message: '请填写此操作的理由' }],
    });
    expect(await skipWithoutReason('en-GB,en;q=0.9')).toMatchObject({
      message: 'give a reason for this action',
      issues: [{ path: 'reason', code: 'REASON_REQUIRED', message: 'give a reason for this action' }],
    });
    await patchSimulator(stack.simulator, { agencies: { police: { transientFailureRate: 0 } } });
    await sealDoneOffline(handle, 'filed at the counter');
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('completed');
    expect(step(status, 'seal')).toMatchObject({
      state: 'skipped',
      output: { skippedOffline: true, reason: 'filed at the counter' },
    });
  });

  it('when an application with a step done offline is aborted, then an operator undoes that step offline too, in dependency order', async () => {
    const handle = await incidentOnSeal();
    await patchSimulator(stack.simulator, {
      agencies: { police: { transientFailureRate: 0 }, bank: { processingMs: 600_000 } },
    });
    await sealDoneOffline(handle, '窗口已刻章备案');
    await waitForStatus(handle, (s) => step(s, 'bank').state === 'pending', 30_000);
    await handle.executeUpdate(abortUpdate, { args: [{ actionId: action(), by: operator, reason: '申请人放弃' }] });
    // Before, the seal carved at the window was left out of the compensation: live, and no one told.
    const waiting = await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:seal'), 30_000);
    expect(waiting.status).toBe('compensating');
    expect(undoOf(waiting, 'seal')).toMatchObject({ state: 'incident', error: { code: 'UNDO_OFFLINE' } });
    expect(undoOf(waiting, 'license')).toBeUndefined(); // it needs the seal undone first
    expect(
      await updateRejection(
        handle.executeUpdate(stepActionUpdate, {
          args: [{ actionId: action(), by: operator, step: 'seal', action: 'retry' }],
        }),
      ),
    ).toMatchObject({ type: 'OFFLINE_UNDO' });
    await handle.executeUpdate(stepActionUpdate, {
      args: [{ actionId: action(), by: operator, step: 'seal', action: 'skip', reason: '窗口已注销印章备案' }],
    });
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('aborted');
    expect(undoOf(status, 'seal')).toMatchObject({
      state: 'skipped',
      result: 'undone_offline',
      reason: '窗口已注销印章备案',
    });
    expect(step(status, 'seal').state).toBe('skipped');
    expect(status.audit.map((a) => a.action)).toEqual(['skip', 'abort', 'skip_undo']);
    expectReverseDependencyOrder(status);
    await expectNothingLive(handle.workflowId);
    await patchSimulator(stack.simulator, { agencies: { bank: { processingMs: 0 } } });
  });

  it('an operator abort compensates everything done so far', async () => {
    const handle = await incidentOnSeal();
    await patchSimulator(stack.simulator, { agencies: { police: { transientFailureRate: 0 } } });
    await handle.executeUpdate(abortUpdate, {
      args: [{ actionId: action(), by: operator, reason: 'applicant unreachable' }],
    });
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('aborted');
    expect(status.outcome).toMatchObject({ by: operator, reason: 'applicant unreachable' });
    // The seal filing was turned away every time (503): the police hold nothing, and are asked nothing.
    expect(status.compensations.map((c) => c.step).sort()).toEqual(['fund', 'license', 'name', 'social', 'tax']);
    expect(step(status, 'seal')).toMatchObject({ state: 'cancelled' });
    expectReverseDependencyOrder(status);
    await expectNothingLive(handle.workflowId);
    const police = (await agencyRecords(stack.simulator, handle.workflowId)).filter((r) => r.agency === 'police');
    expect(police).toEqual([]);
    // The workflow is closed: the update cannot even be delivered.
    await expect(
      handle.executeUpdate(abortUpdate, { args: [{ actionId: action(), by: operator, reason: 'again' }] }),
    ).rejects.toThrow();
  });
});

describe('a cancel in Temporal', () => {
  it('when an administrator cancels an application in Temporal while a step waits, then it ends as an abort does: compensated, its SLA figures written, its final status its result', async () => {
    await patchSimulator(stack.simulator, { agencies: { police: { processingMs: 600_000 } } });
    const handle = await start();
    await waitForStatus(handle, (s) => step(s, 'seal').state === 'pending' && step(s, 'fund').state === 'done');
    await handle.cancel();
    // Before, the SLA's wait rejected in the cancelled scope: the workflow closed as cancelled, with no result.
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('aborted');
    expect(status.outcome?.by).toMatchObject({ subject: 'kaiban', role: 'system' });
    expect(status.compensations.map((c) => c.step).sort()).toEqual(
      ['fund', 'license', 'name', 'seal', 'social', 'tax'].sort(),
    );
    expect(status.compensations.every((c) => c.state === 'done')).toBe(true);
    await expectNothingLive(handle.workflowId);
    expect(status.sla).toMatchObject({ state: 'stopped' });
    expect(status.sla?.application?.elapsedWorkingMs).toEqual(expect.any(Number));
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    expect(patchMarkers(await handle.fetchHistory())).toEqual(['ends-after-temporal-cancel']);
  });
});

describe('undo incidents', () => {
  /** Open incidents as a supervisor reads them (GET /v1/stats, /metrics), once both agree and hold for a moment. */
  async function openIncidents(): Promise<{ stats: number; metric: number }> {
    const headers = await authHeaders('supervisor');
    let last: { stats: number; metric: number } | undefined;
    for (let i = 0; i < 40; i++) {
      const stats = (await (await fetch(`${stack.api.url}/v1/stats`, { headers })).json()) as {
        openByTask?: Record<string, number>;
      };
      const metrics = await (await fetch(`${stack.api.url}/metrics`, { headers })).text();
      const metric = Number(/^kaiban_open_tasks\{task="incident"\} (\d+)$/m.exec(metrics)?.[1] ?? NaN);
      const now = { stats: stats.openByTask?.incident ?? NaN, metric };
      if (last && now.stats === now.metric && JSON.stringify(now) === JSON.stringify(last)) return now;
      last = now;
      await new Promise((r) => setTimeout(r, 250));
    }
    return last!;
  }

  it('when an agency refuses an undo, then that undo waits for an operator while the others go on; once the agency accepts, a retry finishes the withdrawal and nothing is left', async () => {
    await patchSimulator(stack.simulator, {
      agencies: { police: { processingMs: 600_000, refuseUndo: true }, tax: { processingMs: 600_000 } },
    });
    const handle = await start();
    await waitForStatus(handle, (s) => step(s, 'seal').state === 'pending' && step(s, 'social').state === 'done');
    await handle.executeUpdate(withdrawUpdate, { args: [{ actionId: action(), by: applicant }] });
    const waiting = await waitForStatus(
      handle,
      (s) =>
        s.pendingTasks.includes('incident:seal') &&
        ['tax', 'social', 'fund'].every((id) => undoOf(s, id as StepId)?.state === 'done'),
    );
    expect(waiting.status).toBe('compensating');
    expect(undoOf(waiting, 'seal')).toMatchObject({
      action: 'cancel',
      state: 'incident',
      error: { code: 'UNDO_INCIDENT', message: expect.stringContaining('UNDO_REFUSED') },
    });
    // The license is undone only after the seal: it waits with the seal's undo.
    expect(undoOf(waiting, 'license')).toBeUndefined();
    // Supervisors see it waiting: the dashboard's incident count and the gauge to alert on (visibility lags a little).
    expect(await openIncidents()).toEqual({ stats: 1, metric: 1 });
    // Only the undo in the incident takes an operator's action now; the application's other actions are over.
    expect(
      await updateRejection(
        handle.executeUpdate(stepActionUpdate, {
          args: [{ actionId: action(), by: operator, step: 'tax', action: 'retry' }],
        }),
      ),
    ).toMatchObject({ type: 'APPLICATION_FINISHED' });

    await patchSimulator(stack.simulator, { agencies: { police: { refuseUndo: false } } });
    await handle.executeUpdate(stepActionUpdate, {
      args: [
        { actionId: action(), by: operator, step: 'seal', action: 'retry', reason: 'police accepts the undo now' },
      ],
    });
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('withdrawn');
    expect(undoOf(status, 'seal')).toMatchObject({ state: 'done', result: 'cancelled' });
    expect(undoOf(status, 'seal')?.error).toBeUndefined();
    expect(status.compensations.every((c) => c.state === 'done')).toBe(true);
    expect(status.pendingTasks).toEqual([]);
    expectReverseDependencyOrder(status);
    expect(status.audit.map((a) => [a.action, a.step ?? null])).toEqual([
      ['withdraw', null],
      ['retry_undo', 'seal'],
    ]);
    await expectNothingLive(handle.workflowId);
    expect(await openIncidents()).toEqual({ stats: 0, metric: 0 });
  });

  it('when the old reservation of a corrected name cannot be released, then that undo waits for an operator while the application runs; withdrawn meanwhile, the compensation undoes the name once', async () => {
    const handle = await start((app) => void (app.company.name = app.company.name.replace('科技', '金融')));
    await waitForStatus(handle, (s) => s.pendingTasks.includes('review'));
    await requestNameCorrection(handle);
    await patchSimulator(stack.simulator, { agencies: { market: { refuseUndo: true } } });
    await handle.executeUpdate(correctionUpdate, {
      args: [{ actionId: action(), by: applicant, application: freshApplication() }],
    });
    const waiting = await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:name'));
    expect(waiting.status).toBe('running');
    expect(waiting.compensations).toEqual([
      expect.objectContaining({
        step: 'name',
        action: 'undo',
        state: 'incident',
        error: expect.objectContaining({ code: 'UNDO_INCIDENT' }),
      }),
    ]);

    await handle.executeUpdate(withdrawUpdate, { args: [{ actionId: action(), by: applicant }] });
    const ending = await waitForStatus(
      handle,
      (s) => s.status === 'compensating' && s.pendingTasks.includes('incident:name'),
    );
    // The interrupted undo gave way to the compensation's own undo of the name (refused too, for now).
    expect(ending.compensations).toEqual([expect.objectContaining({ step: 'name', state: 'incident' })]);
    await patchSimulator(stack.simulator, { agencies: { market: { refuseUndo: false } } });
    await handle.executeUpdate(stepActionUpdate, {
      args: [{ actionId: action(), by: operator, step: 'name', action: 'retry' }],
    });
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('withdrawn');
    expect(status.review?.state).toBe('cancelled');
    expect(status.compensations).toEqual([expect.objectContaining({ step: 'name', state: 'done', result: 'revoked' })]);
    await expectNothingLive(handle.workflowId);
  });

  it('when an agency refuses an undo, then an operator may mark it undone offline (skip, with a reason) and the application ends', async () => {
    await patchSimulator(stack.simulator, { agencies: { market: { refuseUndo: true } } });
    const handle = await start((app) => void (app.company.name = app.company.name.replace('科技', '投资')));
    await waitForStatus(handle, (s) => s.pendingTasks.includes('review'));
    await handle.executeUpdate(abortUpdate, { args: [{ actionId: action(), by: operator, reason: '申请人失联' }] });
    await waitForStatus(handle, (s) => undoOf(s, 'name')?.state === 'incident');
    expect(
      await updateRejection(
        handle.executeUpdate(stepActionUpdate, {
          args: [{ actionId: action(), by: operator, step: 'name', action: 'skip' }],
        }),
      ),
    ).toEqual({ type: 'REASON_REQUIRED', message: 'give a reason for this action' });
    await handle.executeUpdate(stepActionUpdate, {
      args: [{ actionId: action(), by: operator, step: 'name', action: 'skip', reason: '窗口已办理名称注销' }],
    });
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('aborted');
    expect(status.review?.state).toBe('cancelled'); // ended before anyone decided the review
    expect(status.compensations).toEqual([
      expect.objectContaining({
        step: 'name',
        state: 'skipped',
        result: 'undone_offline',
        reason: '窗口已办理名称注销',
      }),
    ]);
    expect(status.audit.map((a) => a.action)).toEqual(['abort', 'skip_undo']);
    // The agency still holds the record: the operator answered for it offline, and the status says so.
    const records = await agencyRecords(stack.simulator, handle.workflowId);
    expect(records.map((r) => [r.procedure, r.status])).toEqual([['name_reservation', 'approved']]);
  });
});

describe('an undo that keeps failing', () => {
  let impatient: Stack;

  beforeAll(async () => {
    impatient = await startStack(env, { settings: { agencyMaxAttempts: 2, undoAttemptsBeforeIncident: 2 } });
  });

  afterAll(async () => {
    await impatient?.close();
  });

  it('when an agency keeps failing an undo, then after its attempts the undo is an incident an operator can settle', async () => {
    // The bank's system is slow to decide; the fund centre, which opened the account, fails every request from now on.
    await patchSimulator(impatient.simulator, {
      agencies: { ...DEFAULT_AGENCIES, bank: { ...DEFAULT_AGENCIES.bank, processingMs: 600_000 } },
    });
    const handle = await startApplication(env.client, { taskQueue: impatient.taskQueue });
    await waitForStatus(handle, (s) => step(s, 'fund').state === 'done' && step(s, 'bank').state === 'pending');
    await patchSimulator(impatient.simulator, { agencies: { fund: { transientFailureRate: 1 } } });
    try {
      await handle.executeUpdate(withdrawUpdate, { args: [{ actionId: action(), by: applicant }] });
      // It stayed `running`, retried for ever unseen, and no operator could settle it (STEP_NOT_IN_INCIDENT).
      const stuck = await waitForStatus(
        handle,
        (s) => s.pendingTasks.includes('incident:fund') && undoOf(s, 'fund')?.state === 'incident',
        60_000,
      );
      expect(stuck.status).toBe('compensating');
      expect(undoOf(stuck, 'fund')!.error).toMatchObject({ code: 'UNDO_INCIDENT' });
      await handle.executeUpdate(stepActionUpdate, {
        args: [{ actionId: action(), by: operator, step: 'fund', action: 'skip', reason: '已在公积金中心窗口销户' }],
      });
      const status = (await handle.result()) as ApplicationStatus;
      expect(status.status).toBe('withdrawn');
      expect(undoOf(status, 'fund')).toMatchObject({ state: 'skipped', result: 'undone_offline' });
      expect(status.pendingTasks).toEqual([]);
    } finally {
      await patchSimulator(impatient.simulator, { agencies: DEFAULT_AGENCIES });
    }
  });
});
