/**
 * An undo that ran out of its attempts becomes an incident, and Kaiban tries it again by itself after a rest of half an
 * hour if no operator acts first, then after rests that double up to a day (workflows/businessStartup.ts,
 * UNDO_RETRY_REST_MS, patch undo-rest-grows). The half hour passes on the
 * time-skipping server, with the real agency simulator; the agencies decide in their answers and do not call back
 * (the time-skipping server mishandles bursts of callback signals, see workflow.test.ts).
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ApplicationStatus, CompensationRecord, StepStatus } from '../domain/status';
import type { StepId } from '../domain/steps';
import { withdrawUpdate } from '../workflows/messages';
import { startApplication } from './helpers/fixtures';
import { patchMarkers } from './helpers/histories';
import { agencyRecords, patchSimulator, startStack, type Stack } from './helpers/stack';
import { startTimeSkippingServer } from './helpers/temporal';
import { waitForStatus } from './helpers/wait';

const REST_MS = 30 * 60_000;
const AGENCIES = ['market', 'police', 'tax', 'hrss', 'fund', 'bank'];
const agencies = (settings: Record<string, unknown>) => Object.fromEntries(AGENCIES.map((a) => [a, settings]));

let env: TestWorkflowEnvironment;
let stack: Stack;

beforeAll(async () => {
  env = await startTimeSkippingServer();
  stack = await startStack(env, {
    simulator: { agencies: agencies({ processingMs: 0, callbacks: false }) },
    settings: { agencyMaxAttempts: 2, undoAttemptsBeforeIncident: 2 },
  });
});

afterAll(async () => {
  await stack?.close();
  await env?.teardown();
});

const step = (status: ApplicationStatus, id: StepId): StepStatus => status.steps.find((s) => s.id === id)!;
const undoOf = (status: ApplicationStatus, id: StepId): CompensationRecord | undefined =>
  status.compensations.find((c) => c.step === id);

it('an undo incident no operator settles is tried again by Kaiban after half an hour, and then completes', async () => {
  // The bank is slow to decide; the fund centre, which opened the account, fails every request once it is withdrawn.
  await patchSimulator(stack.simulator, { agencies: { bank: { processingMs: 600_000 } } });
  const handle = await startApplication(env.client, { taskQueue: stack.taskQueue });
  await waitForStatus(handle, (s) => step(s, 'fund').state === 'done' && step(s, 'bank').state === 'pending');
  await patchSimulator(stack.simulator, { agencies: { fund: { transientFailureRate: 1 } } });
  await handle.executeUpdate(withdrawUpdate, {
    args: [{ actionId: randomUUID(), by: { subject: 'applicant-1', role: 'applicant' } }],
  });
  const stuck = await waitForStatus(
    handle,
    (s) => s.pendingTasks.includes('incident:fund') && undoOf(s, 'fund')?.state === 'incident',
    60_000,
  );
  expect(stuck.status).toBe('compensating');
  const incidentSeenAt = await env.currentTimeMs();

  // The fund centre is back; nobody acts. Waiting for the result lets the server's clock run.
  await patchSimulator(stack.simulator, { agencies: { fund: { transientFailureRate: 0 } } });
  const status = (await handle.result()) as ApplicationStatus;

  expect(status.status).toBe('withdrawn');
  const fundUndo = undoOf(status, 'fund')!;
  expect(fundUndo).toMatchObject({ state: 'done', action: 'undo' });
  expect(fundUndo.error).toBeUndefined();
  // Tried again by Kaiban, not settled by an operator, and only after the rest.
  expect(status.audit.map((a) => a.action)).toEqual(['withdraw']);
  expect(Date.parse(fundUndo.finishedAt!)).toBeGreaterThanOrEqual(incidentSeenAt + REST_MS - 60_000);
  expect(status.pendingTasks).toEqual([]);
  const records = await agencyRecords(stack.simulator, handle.workflowId);
  expect(records.filter((r) => r.live)).toEqual([]);
  expect(records.find((r) => r.agency === 'fund')).toMatchObject({ status: 'revoked' });
});

it('an undo that keeps failing is tried again after rests that double from half an hour (not every half hour for ever)', async () => {
  await patchSimulator(stack.simulator, {
    agencies: { bank: { processingMs: 600_000 }, fund: { transientFailureRate: 0 } },
  });
  const handle = await startApplication(env.client, { taskQueue: stack.taskQueue });
  try {
    await waitForStatus(handle, (s) => step(s, 'fund').state === 'done' && step(s, 'bank').state === 'pending');
    await patchSimulator(stack.simulator, { agencies: { fund: { transientFailureRate: 1 } } });
    await handle.executeUpdate(withdrawUpdate, {
      args: [{ actionId: randomUUID(), by: { subject: 'applicant-1', role: 'applicant' } }],
    });
    await waitForStatus(handle, (s) => undoOf(s, 'fund')?.state === 'incident', 60_000);
    // Four hours on the server's clock: rests of half an hour, an hour and two hours fit, with the attempts between.
    await env.sleep(4 * 3_600_000);
    const events = (await handle.fetchHistory()).events ?? [];
    const withdrawnAt = events.findIndex((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    const rests = events
      .slice(withdrawnAt)
      .flatMap((e) =>
        e.timerStartedEventAttributes ? [Number(e.timerStartedEventAttributes.startToFireTimeout!.seconds)] : [],
      );
    expect(rests.slice(0, 3)).toEqual([1800, 3600, 7200]);
    // (The server's clock may have run into a year the shipped calendar lacks: the SLA's own patches may be there too.)
    expect(patchMarkers(await handle.fetchHistory())).toContain('undo-rest-grows');
  } finally {
    await patchSimulator(stack.simulator, {
      agencies: { fund: { transientFailureRate: 0 }, bank: { processingMs: 0 } },
    });
    await handle.terminate('test done');
  }
});
