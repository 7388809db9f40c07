/**
 * A filing the agency answered "pending" is polled while its callback is awaited. A poll the agency does not answer
 * (down through the poll's retries) leaves the step pending — the callback may still come — up to
 * `pollFailuresBeforeIncident` failed polls in a row; then the step is an incident (patch
 * `poll-failure-waits-for-callback`). Dev server, real simulator, polling every 0.2–0.4 s, two attempts per poll.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ApplicationStatus } from '../domain/status';
import { AGENCY_IDS } from '../domain/steps';
import { startApplication } from './helpers/fixtures';
import { agencyRecords, patchSimulator, startStack, type Stack } from './helpers/stack';
import { startDevServer } from './helpers/temporal';
import { waitForStatus } from './helpers/wait';

let env: TestWorkflowEnvironment;
let patient: Stack;
let strict: Stack;
const SETTINGS = { agencyMaxAttempts: 2, pollInitialMs: 200, pollMaxMs: 400 };
const INSTANT = { processingMs: 0, transientFailureRate: 0, answerDelayMs: 0, callbacks: true };

beforeAll(async () => {
  env = await startDevServer();
  patient = await startStack(env, { settings: { ...SETTINGS, pollFailuresBeforeIncident: 100 } });
  strict = await startStack(env, { settings: { ...SETTINGS, pollFailuresBeforeIncident: 2 } });
});

afterAll(async () => {
  await patient?.close();
  await strict?.close();
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
