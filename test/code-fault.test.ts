/**
 * A fault of Kaiban's own code is not the founder's loss (patch `code-fault-fails-task`). A bug that escapes the step
 * graph — here a TypeError planted in the handling of a failed filing (helpers/code-fault-interceptors.ts) — fails the
 * workflow task: Temporal keeps the application where it stopped and retries the task, and a corrected worker goes on
 * from there. Before, the application was aborted and every completed procedure undone. Dev server, real simulator.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { decodeOptionalFailureToOptionalError } from '@temporalio/common/lib/internal-non-workflow';
import type { temporal } from '@temporalio/proto';
import type { ApplicationStatus } from '../domain/status';
import { STEPS } from '../domain/steps';
import { stepActionUpdate } from '../workflows/messages';
import { startApplication } from './helpers/fixtures';
import { authHeaders } from './helpers/auth';
import { PLANTED_FAULT } from './helpers/code-fault-interceptors';
import { until } from './helpers/reliability-stack';
import { agencyRecords, patchSimulator, startStack, type Stack } from './helpers/stack';
import { startDevServer, workflowBundleWith } from './helpers/temporal';
import { patchMarkers } from './helpers/histories';
import { schemaProblems } from './helpers/openapi';
import { waitForStatus } from './helpers/wait';

let env: TestWorkflowEnvironment;
let stack: Stack;

beforeAll(async () => {
  env = await startDevServer();
  stack = await startStack(env, {
    workflowCode: await workflowBundleWith([require.resolve('./helpers/code-fault-interceptors')]),
    settings: { agencyMaxAttempts: 2 },
  });
});

afterAll(async () => {
  await stack?.close();
  await env?.teardown();
});

const operator = { subject: 'op-code-fault', role: 'operator' as const };

/** A request to the API as an operator: its status, its body parsed, its Retry-After. */
async function asOperator(method: string, path: string, body?: unknown) {
  const res = await fetch(`${stack.api.url}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(await authHeaders('operator')),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: (text ? JSON.parse(text) : {}) as { error?: { code?: string } },
    retryAfter: res.headers.get('retry-after'),
  };
}

const AGENCY_STEPS_BEFORE_BANK = STEPS.filter((s) => s.agency && s.id !== 'bank').map((s) => s.id);

it("when Kaiban's own code faults while handling a failed step, then the application waits for a corrected worker with nothing undone, and goes on under it", async () => {
  // The bank's system is down: its filing runs out of attempts, and handling that failure meets the planted bug.
  await patchSimulator(stack.simulator, { agencies: { bank: { transientFailureRate: 1 } } });
  const handle = await startApplication(env.client, { taskQueue: stack.taskQueue });

  const history = await until(
    () => handle.fetchHistory(),
    (h) => h.events!.some((e) => e.workflowTaskFailedEventAttributes || e.workflowExecutionCompletedEventAttributes),
    60_000,
    'a failed workflow task or the end of the application',
  );
  const failedTask = history.events!.find((e) => e.workflowTaskFailedEventAttributes);
  // Before, the fault aborted the application: compensated, and completed.
  expect(history.events!.some((e) => e.workflowExecutionCompletedEventAttributes)).toBe(false);
  expect(failedTask).toBeDefined();
  const fault = await decodeOptionalFailureToOptionalError(
    env.client.options.loadedDataConverter,
    failedTask!.workflowTaskFailedEventAttributes!.failure as temporal.api.failure.v1.IFailure,
  );
  expect(fault?.message).toContain(PLANTED_FAULT);
  // Nothing undone, nothing withdrawn: the procedures filed before the fault stand at their agencies.
  const scheduled = history.events!.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
  expect(scheduled).not.toContain('cancelAgencyRequest');
  expect((await handle.describe()).status.name).toBe('RUNNING');
  // An operator is told why the application does not answer, and that nothing was undone — not that Temporal cannot
  // be reached.
  for (const path of ['', '/application']) {
    const read = await asOperator('GET', `/v1/applications/${handle.workflowId}${path}`);
    expect({ path, status: read.status, code: read.body.error?.code }).toEqual({
      path,
      status: 503,
      code: 'APPLICATION_STALLED',
    });
    expect(read.retryAfter).toBe('60');
    expect(schemaProblems('Error', read.body)).toEqual([]);
  }
  // An action is refused at once, and not sent: an abort now would otherwise wait in Temporal, to be carried out
  // whenever the application goes on.
  const abort = await asOperator('POST', `/v1/applications/${handle.workflowId}/abort`, { reason: '测试：停滞时中止' });
  expect({ status: abort.status, code: abort.body.error?.code }).toEqual({ status: 503, code: 'APPLICATION_STALLED' });

  // The corrected worker is deployed (the project's code, without the bug): the retried task goes on where it stopped,
  // and the bank's step is the incident it should have been.
  await stack.redeployWorker({});
  const incident = await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:bank'), 90_000);
  expect(incident.status).toBe('running');
  expect(incident.compensations).toEqual([]);
  expect(incident.steps.find((s) => s.id === 'bank')).toMatchObject({
    state: 'incident',
    error: { code: 'STEP_INCIDENT' },
  });

  // The bank is back; an operator retries, and the application completes: one live record a procedure, none undone.
  await patchSimulator(stack.simulator, { agencies: { bank: { transientFailureRate: 0 } } });
  await handle.executeUpdate(stepActionUpdate, {
    args: [{ actionId: 'code-fault-retry', by: operator, step: 'bank', action: 'retry', reason: '银行系统已恢复' }],
  });
  const status = (await handle.result()) as ApplicationStatus;
  // Completed: the abort refused during the stall was never carried out.
  expect(status.status).toBe('completed');
  expect(status.audit.map((a) => a.action)).toEqual(['retry']);
  const records = await agencyRecords(stack.simulator, handle.workflowId);
  for (const step of [...AGENCY_STEPS_BEFORE_BANK, 'bank']) {
    const procedure = STEPS.find((s) => s.id === step)!.procedure;
    expect({ step, statuses: records.filter((r) => r.procedure === procedure).map((r) => r.status) }).toEqual({
      step,
      statuses: ['approved'],
    });
  }
  // The failed task was retried, not answered by the patched branch: its marker was never recorded.
  expect(patchMarkers(await handle.fetchHistory())).not.toContain('code-fault-fails-task');
});
