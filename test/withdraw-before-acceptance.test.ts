/**
 * A withdrawal that arrives before the application is accepted: the step graph starts already cancelled. No step may
 * be filed then — not even to be undone (patch `no-filing-after-end` in workflows/businessStartup.ts). Its own file:
 * its worker's acceptance clock fails once, and a second stack in compensation.test.ts would share that file's
 * process-wide metrics registry.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ApplicationStatus } from '../domain/status';
import { withdrawUpdate } from '../workflows/messages';
import { startApplication } from './helpers/fixtures';
import { agencyRecords, startStack, type Stack } from './helpers/stack';
import { startDevServer } from './helpers/temporal';

let env: TestWorkflowEnvironment;
let stack: Stack;
/** Calls of the acceptance clock: the first fails, so the acceptance is retried a second later. */
let clockCalls = 0;

beforeAll(async () => {
  env = await startDevServer();
  stack = await startStack(env, {
    activityDeps: (deps) => ({
      ...deps,
      now: () => {
        if (clockCalls++ === 0) throw new Error('the clock is not ready yet');
        return new Date();
      },
    }),
  });
});

afterAll(async () => {
  await stack?.close();
  await env?.teardown();
});

it('when the applicant withdraws before the application is accepted, then no agency ever gets a filing (none made to be undone)', async () => {
  const handle = await startApplication(env.client, { taskQueue: stack.taskQueue });
  await handle.executeUpdate(withdrawUpdate, {
    args: [{ actionId: 'withdraw-early', by: { subject: 'applicant-1', role: 'applicant' } }],
  });
  const status = (await handle.result()) as ApplicationStatus;
  expect(clockCalls).toBeGreaterThanOrEqual(2); // the withdrawal came while the acceptance waited to be retried
  expect(status.status).toBe('withdrawn');
  expect(status.steps.map((s) => s.state)).toEqual(status.steps.map(() => 'cancelled'));
  expect(status.compensations).toEqual([]);
  // Before the patch the name step was marked `filing` in the cancelled graph, and the compensation filed the name
  // reservation with the market regulator only to cancel it.
  expect(await agencyRecords(stack.simulator, handle.workflowId)).toEqual([]);
});
