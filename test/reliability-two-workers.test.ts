/**
 * Reliability: two workers share the task queue; one is killed mid-run and never comes back. The
 * other takes over its workflows (from their histories) and its activities (after their timeouts).
 */
import { freshApplication } from './helpers/fixtures';
import type { NodeProcess } from './helpers/processes';
import {
  countWorkflows,
  duplicateOrMissingFilings,
  startReliabilityStack,
  submit,
  until,
  waitForResults,
  type ReliabilityStack,
} from './helpers/reliability-stack';

const APPLICATIONS = 60;

let stack: ReliabilityStack;
let workers: NodeProcess[];

beforeAll(async () => {
  stack = await startReliabilityStack({
    simulator: {
      agencies: Object.fromEntries(
        ['market', 'police', 'tax', 'hrss', 'fund', 'bank'].map((a) => [a, { processingMs: 800 }]),
      ),
    },
  });
  await stack.startApiHere();
  workers = await Promise.all([stack.startWorker('worker-a'), stack.startWorker('worker-b')]);
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

async function pollerIdentities(): Promise<string[]> {
  const response = await stack.client.workflowService.describeTaskQueue({
    namespace: 'default',
    taskQueue: { name: stack.taskQueue },
    taskQueueType: 1,
  });
  return (response.pollers ?? []).map((p) => p.identity ?? '');
}

/** Whether a running application's history has a workflow or activity task started by the identity `prefix…`. */
async function victimStartedTasksOf(ids: string[], prefix: string): Promise<boolean> {
  for (const id of ids) {
    const handle = stack.client.workflow.getHandle(id);
    if ((await handle.describe()).status.name !== 'RUNNING') continue;
    const events = (await handle.fetchHistory()).events ?? [];
    const identities = events.map(
      (e) => e.workflowTaskStartedEventAttributes?.identity ?? e.activityTaskStartedEventAttributes?.identity ?? '',
    );
    if (identities.some((identity) => identity.startsWith(prefix))) return true;
  }
  return false;
}

describe('two workers, one killed', () => {
  it('when one of two workers is SIGKILLed mid-run, then the other finishes every application with exactly one filing per step', async () => {
    const [victim, survivor] = workers as [NodeProcess, NodeProcess];
    const identities = await pollerIdentities();
    expect(identities.some((id) => id.startsWith(`${victim.pid}@`))).toBe(true);
    expect(identities.some((id) => id.startsWith(`${survivor.pid}@`))).toBe(true);

    const ids = await Promise.all(
      Array.from(
        { length: APPLICATIONS },
        async (_, i) => (await submit(stack.apiUrl, freshApplication(), `two-workers-${i}`)).id,
      ),
    );
    await until(
      () => countWorkflows(stack, `KaibanStatus = 'running'`),
      (n) => n >= APPLICATIONS / 2,
      30_000,
      'applications running',
    );
    // The victim holds work when it dies: it has run tasks of applications still in flight (the SDK's default
    // identity, `<pid>@<host>`, is in the task-started events).
    await until(
      () => victimStartedTasksOf(ids, `${victim.pid}@`),
      (held) => held,
      30_000,
      'a workflow or activity task started by the worker to be killed',
    );
    await victim.stop('SIGKILL');

    const results = await waitForResults(stack.client, ids, 110_000);
    expect([...results.values()].filter((s) => s.status !== 'completed').map((s) => `${s.id}: ${s.status}`)).toEqual(
      [],
    );
    expect(await duplicateOrMissingFilings(stack.simulator, ids)).toEqual([]);
    expect(victim.running).toBe(false);
    expect(survivor.running).toBe(true);
  }, 150_000);
});
