/**
 * What the API calls a stalled application (api/stalled.ts): its workflow task tried more than once, the last one to
 * end failed in the workflow code. Workflow tasks are taken and answered here by hand, as a worker would, on the dev
 * server: one failed by the code, one that timed out (a worker killed mid-task), one failed for Temporal's reasons.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { isStalled } from '../api/stalled';
import { startDevServer } from './helpers/temporal';

const { WorkflowTaskFailedCause } = temporal.api.enums.v1;

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await startDevServer();
});

afterAll(async () => {
  await env?.teardown();
});

/** A workflow nobody runs but this test, its tasks timing out after 1 s: its id and task queue. */
async function startBare(): Promise<{ id: string; taskQueue: string }> {
  const id = `kb-${randomUUID().replace(/-/g, '')}`;
  const taskQueue = `stalled-${randomUUID()}`;
  await env.client.workflow.start('businessStartup', {
    workflowId: id,
    taskQueue,
    args: [],
    workflowTaskTimeout: '1s',
  });
  return { id, taskQueue };
}

/** Takes the workflow's next task, as a worker polling the queue does. */
async function takeTask(taskQueue: string): Promise<Uint8Array> {
  // A long poll: the server wants a deadline on it.
  const { taskToken } = await env.client.connection.withDeadline(Date.now() + 30_000, () =>
    env.client.workflowService.pollWorkflowTaskQueue({
      namespace: env.namespace ?? 'default',
      taskQueue: { name: taskQueue },
      identity: 'stalled-test',
    }),
  );
  if (!taskToken?.length) throw new Error('no workflow task to take');
  return taskToken;
}

async function failTask(taskQueue: string, cause: temporal.api.enums.v1.WorkflowTaskFailedCause): Promise<void> {
  await env.client.workflowService.respondWorkflowTaskFailed({
    namespace: env.namespace ?? 'default',
    taskToken: await takeTask(taskQueue),
    cause,
    failure: { message: 'a fault of the workflow code' },
    identity: 'stalled-test',
  });
}

/** The pending task's attempt, once it reaches `attempt`. */
async function pendingAttempt(id: string, attempt: number): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const { raw } = await env.client.workflow.getHandle(id).describe();
    const current = raw.pendingWorkflowTask?.attempt ?? 0;
    if (current >= attempt) return current;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`workflow task attempt ${attempt} not reached`);
}

it('when the workflow code failed its task, and the task is tried again, then the application is stalled', async () => {
  const { id, taskQueue } = await startBare();
  expect(await isStalled(env.client, id)).toBe(false); // its first task, not yet taken
  await failTask(taskQueue, WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE);
  expect(await pendingAttempt(id, 2)).toBe(2);
  expect(await isStalled(env.client, id)).toBe(true);
  // So also when its code no longer replays the history (a deployment that broke determinism).
  const other = await startBare();
  await failTask(other.taskQueue, WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR);
  await pendingAttempt(other.id, 2);
  expect(await isStalled(env.client, other.id)).toBe(true);
});

it('when the task timed out (a worker killed while it held it), then the application is not stalled', async () => {
  const { id, taskQueue } = await startBare();
  await takeTask(taskQueue); // and never answered: it times out after 1 s
  expect(await pendingAttempt(id, 2)).toBe(2);
  expect(await isStalled(env.client, id)).toBe(false);
});

it("when the task failed for Temporal's own reasons (a command the server did not take), then the application is not stalled", async () => {
  const { id, taskQueue } = await startBare();
  await failTask(taskQueue, WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND);
  await pendingAttempt(id, 2);
  expect(await isStalled(env.client, id)).toBe(false);
});
