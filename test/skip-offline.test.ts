/**
 * An operator marks a step in an incident done offline (skip). If the agency holds a filing of ours for that step —
 * it answered with a ticket, and then polling it failed for good — that filing is withdrawn (patch
 * `cancel-filing-on-skip`): otherwise the agency would keep a second registration, which no compensation undoes.
 * Dev server, real simulator, polling every 0.2 s, two attempts make an incident.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ApplicationStatus } from '../domain/status';
import { stepActionUpdate } from '../workflows/messages';
import { startApplication } from './helpers/fixtures';
import { agencyRecords, patchSimulator, startStack, type Stack } from './helpers/stack';
import { startDevServer } from './helpers/temporal';
import { waitForStatus } from './helpers/wait';

let env: TestWorkflowEnvironment;
let stack: Stack;

beforeAll(async () => {
  env = await startDevServer();
  stack = await startStack(env, { settings: { agencyMaxAttempts: 2, pollInitialMs: 200, pollMaxMs: 400 } });
});

afterAll(async () => {
  await stack?.close();
  await env?.teardown();
});

it('when an operator marks a step done offline while the agency holds our filing for it, then that filing is withdrawn', async () => {
  const instant = { processingMs: 0, transientFailureRate: 0 };
  await patchSimulator(stack.simulator, {
    agencies: {
      market: instant,
      police: instant,
      hrss: instant,
      fund: instant,
      bank: instant,
      // The tax bureau takes the filing and decides much later, without calling back: the workflow polls.
      tax: { processingMs: 600_000, transientFailureRate: 0, callbacks: false },
    },
  });
  const handle = await startApplication(env.client, { taskQueue: stack.taskQueue });
  const pending = await waitForStatus(handle, (s) => s.steps.find((x) => x.id === 'tax')?.state === 'pending');
  const ticket = pending.steps.find((x) => x.id === 'tax')!.ticket;
  expect(ticket).toEqual(expect.any(String));
  // Then the bureau's system goes down: the polls fail twice, the step is an incident.
  await patchSimulator(stack.simulator, { agencies: { tax: { transientFailureRate: 1 } } });
  await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:tax'), 30_000);
  await patchSimulator(stack.simulator, { agencies: { tax: { transientFailureRate: 0 } } });
  await handle.executeUpdate(stepActionUpdate, {
    args: [
      {
        actionId: randomUUID(),
        by: { subject: 'op-1', role: 'operator' },
        step: 'tax',
        action: 'skip',
        reason: '已在税务窗口办理',
      },
    ],
  });
  const status = (await handle.result()) as ApplicationStatus;
  expect(status.status).toBe('completed');
  // One filing went through; the failed polls are not filing attempts (they were counted as two more).
  expect(status.steps.find((s) => s.id === 'tax')).toMatchObject({ state: 'skipped', attempts: 1 });
  expect(status.compensations).toEqual([
    expect.objectContaining({ step: 'tax', action: 'cancel', state: 'done', result: 'cancelled' }),
  ]);
  // Before, the bureau kept the online filing pending (and would have approved it): two tax registrations.
  const tax = (await agencyRecords(stack.simulator, handle.workflowId)).filter((r) => r.agency === 'tax');
  expect(tax.map((r) => [r.ticket, r.status, r.live])).toEqual([[ticket, 'cancelled', false]]);
});
