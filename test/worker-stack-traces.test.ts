/**
 * The stacks a worker records for the promises of its workflows (Temporal's stack-trace query, the Web UI's "Stack
 * Trace"): WORKER_WORKFLOW_STACK_TRACE_LIMIT frames each, 6 by default (worker/worker.ts, limitWorkflowStackTraces),
 * which still name where an application waits. Worker processes of the production entry, a real dev server.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { ApplicationStatus } from '../domain/status';
import { startApplication } from './helpers/fixtures';
import { startReliabilityStack, until, type ReliabilityStack } from './helpers/reliability-stack';

let stack: ReliabilityStack;

beforeAll(async () => {
  stack = await startReliabilityStack();
  // The default, whatever this shell's environment says (the children inherit it; undefined is not passed on).
  stack.childEnv.WORKER_WORKFLOW_STACK_TRACE_LIMIT = undefined;
});

afterAll(async () => {
  await stack?.close();
});

/** The stacks of the query's answer: one per pending promise, its frames as `at …` lines. */
async function stacksOf(handle: WorkflowHandle): Promise<string[][]> {
  const trace = await handle.query<string>('__stack_trace');
  return trace
    .split(/\n\s*\n/)
    .map((block) => block.split('\n').filter((line) => /^\s*at /.test(line)))
    .filter((frames) => frames.length > 0);
}

it('records at most 4 frames of each stack with the default limit of 6, enough to name where the application waits; with 10, longer ones', async () => {
  const worker = await stack.startWorker('limited');
  // 投资 (investment) in the name: the automatic rules send the license to manual review, where it parks.
  const handle = await startApplication(stack.client, {
    taskQueue: stack.taskQueue,
    edit: (a) => void (a.company.name = a.company.name.replace('科技', '投资')),
  });
  try {
    await until(
      () => handle.query<ApplicationStatus>('status'),
      (s) => s.pendingTasks.includes('review'),
      30_000,
      'the application parked in review',
    );
    const limited = await stacksOf(handle);
    expect(limited.length).toBeGreaterThan(0);
    expect(Math.max(...limited.map((frames) => frames.length))).toBeLessThanOrEqual(4);
    // Where it waits, in Kaiban's own code.
    expect(limited.flat().join('\n')).toMatch(/workflows\/businessStartup\.ts/);

    // The same application on a worker with Node's default limit: it replays the history, and records longer stacks.
    await worker.stop();
    stack.childEnv.WORKER_WORKFLOW_STACK_TRACE_LIMIT = '10';
    await stack.startWorker('default');
    const full = await stacksOf(handle);
    expect(Math.max(...full.map((frames) => frames.length))).toBeGreaterThan(4);
  } finally {
    await handle.terminate('test done');
  }
});
