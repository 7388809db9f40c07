/**
 * The SLA alarm and a step's decision in one workflow task, on the dev server in real time: a step's breach timer
 * fires while no worker runs workflow tasks, and the step's filing is answered meanwhile (activities run on a worker
 * of their own), so the next workflow task holds both — the timer, and the completion that starts the next step.
 * The breach is raised in that task, not at the next step's warning much later.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { loadConfig } from '../config';
import { AGENCY_IDS } from '../domain/steps';
import { createLogger } from '../observability/logger';
import { dataConverter } from '../security/codec';
import { startSimulator, type RunningSimulator } from '../simulator/server';
import { activityDepsFromConfig, kaibanSinks, replaySinks } from '../worker/worker';
import { securityTestEnv } from './helpers/auth';
import { startApplication } from './helpers/fixtures';
import { patchMarkers } from './helpers/histories';
import { realtimeSlaEnv } from './helpers/sla-realtime';
import { CALLBACK_SECRET } from './helpers/stack';
import { startDevServer, workflowBundle } from './helpers/temporal';
import { waitForStatus } from './helpers/wait';

let env: TestWorkflowEnvironment;
let simulator: RunningSimulator;

beforeAll(async () => {
  env = await startDevServer();
  simulator = await startSimulator({
    port: 0,
    seed: 'sla-alarm-race',
    callbackSecrets: Object.fromEntries(AGENCY_IDS.map((a) => [a, CALLBACK_SECRET])) as Record<
      (typeof AGENCY_IDS)[number],
      string
    >,
    logger: createLogger({ level: 'silent' }),
    agencies: {
      ...Object.fromEntries(AGENCY_IDS.map((a) => [a, { processingMs: 0, callbacks: false }])),
      // The seal's filing is approved in an answer that takes 25 s; the bank keeps the application waiting afterwards.
      police: { processingMs: 0, callbacks: false, answerDelayMs: 25_000 },
      bank: { processingMs: 600_000, callbacks: false },
    },
  });
}, 120_000);

afterAll(async () => {
  await simulator?.close();
  await env?.teardown();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it("raises a step's breach in the workflow task that also brings the step's decision, not at the next wake", async () => {
  const taskQueue = `kaiban-sla-race-${randomUUID()}`;
  const config = loadConfig({
    ...process.env,
    ...securityTestEnv(),
    // The seal: warning at 15 s, breach at 20 s after it starts, its answer at 25 s: seconds apart, so the workflow
    // worker stops between the warning and the breach even on a loaded machine. Every other clock is far away (the
    // bank's warning at 450 s).
    ...realtimeSlaEnv({
      budgetsSeconds: {
        name: 600,
        license: 600,
        seal: 20,
        tax: 600,
        social: 600,
        fund: 600,
        bank: 600,
        archive: 600,
        application: 7200,
      },
    }),
    TEMPORAL_TASK_QUEUE: taskQueue,
    // The seal's answer must outwait its breach, within one call (the default gives up after 10 s).
    AGENCY_TIMEOUT_MS: '45000',
    AGENCY_BASE_URL: simulator.url,
    AGENCY_CALLBACK_SECRET: CALLBACK_SECRET,
  });
  const deps = activityDepsFromConfig(config, createLogger({ level: 'silent' }));
  const common = {
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue,
    dataConverter: dataConverter(config),
  };
  // Activities on a worker of their own: they go on while no worker takes workflow tasks.
  const activityWorker = await Worker.create({ ...common, activities: createActivities(deps) });
  const bundle = await workflowBundle();
  const workflowWorker = () => Worker.create({ ...common, workflowBundle: bundle, sinks: kaibanSinks(deps) });
  const activitiesRunning = activityWorker.run();
  let first: Worker | undefined = await workflowWorker();
  let firstRunning: Promise<void> | undefined = first.run();
  let second: Worker | undefined;
  let secondRunning: Promise<void> | undefined;
  try {
    const handle = await startApplication(env.client, { taskQueue });
    const sealAlerts = (s: { sla?: { alerts?: { scope: string; level: string }[] } }) =>
      (s.sla?.alerts ?? []).filter((a) => a.scope === 'seal').map((a) => a.level);
    const warned = await waitForStatus(handle, (s) => sealAlerts(s).includes('warning'), 60_000);
    expect(sealAlerts(warned)).toEqual(['warning']);

    // No workflow tasks from here: the seal's breach timer fires (20 s), its filing is answered (25 s).
    first.shutdown();
    await firstRunning;
    first = undefined;
    firstRunning = undefined;
    const stoppedAt = (await handle.fetchHistory()).events?.length ?? 0;
    for (let waited = 0; ; waited += 200) {
      const since = ((await handle.fetchHistory()).events ?? []).slice(stoppedAt);
      const timerFired = since.some((e) => e.timerFiredEventAttributes);
      const answered = since.some((e) => e.activityTaskCompletedEventAttributes);
      if (timerFired && answered) break;
      if (waited > 60_000) throw new Error('the breach timer and the seal filing did not both end while stopped');
      await sleep(200);
    }

    second = await workflowWorker();
    secondRunning = second.run();
    const after = await waitForStatus(handle, (s) => sealAlerts(s).includes('breached'), 60_000);
    expect(sealAlerts(after)).toEqual(['warning', 'breached']);
    expect(after.steps.find((s) => s.id === 'seal')?.state).toBe('done');
    // Raised while the bank, started by the seal's decision, is still with its agency.
    expect(['filing', 'pending']).toContain(after.steps.find((s) => s.id === 'bank')?.state);
    expect(after.status).toBe('running');
    await handle.terminate('test done');

    // The history took the patched branch (its marker) and replays on the current code.
    const history = await handle.fetchHistory();
    expect(patchMarkers(history)).toEqual(['rung-alarm-wakes-the-loop']);
    await Worker.runReplayHistory(
      { workflowBundle: bundle, dataConverter: dataConverter(config), sinks: replaySinks() },
      history,
      handle.workflowId,
    );
  } finally {
    for (const worker of [first, second]) if (worker?.getState() === 'RUNNING') worker.shutdown();
    await Promise.all([firstRunning, secondRunning]);
    activityWorker.shutdown();
    await activitiesRunning;
  }
}, 240_000);
