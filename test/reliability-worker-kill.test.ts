/**
 * Reliability: the worker process is killed (SIGKILL, no goodbye) while more than a hundred
 * applications are in flight, then started again. Nothing is lost and nothing is done twice.
 */
import type { ApplicationStatus } from '../domain/status';
import { freshApplication } from './helpers/fixtures';
import type { NodeProcess } from './helpers/processes';
import {
  countWorkflows,
  duplicateOrMissingFilings,
  sleep,
  startReliabilityStack,
  submit,
  until,
  waitForResults,
  type ReliabilityStack,
} from './helpers/reliability-stack';

const APPLICATIONS = 120;

let stack: ReliabilityStack;
let worker: NodeProcess | undefined;

beforeAll(async () => {
  // Every agency takes a second to decide: an application spends several seconds in flight.
  stack = await startReliabilityStack({
    simulator: {
      agencies: Object.fromEntries(
        ['market', 'police', 'tax', 'hrss', 'fund', 'bank'].map((a) => [a, { processingMs: 1000 }]),
      ),
    },
  });
  await stack.startApiHere();
  worker = await stack.startWorker('worker-1');
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

describe('worker killed mid-run', () => {
  it(`when the worker is SIGKILLed with ${APPLICATIONS} applications in flight and restarted, then all complete with exactly one filing per step`, async () => {
    const ids = await Promise.all(
      Array.from(
        { length: APPLICATIONS },
        async (_, i) => (await submit(stack.apiUrl, freshApplication(), `worker-kill-${i}`)).id,
      ),
    );
    expect(new Set(ids).size).toBe(APPLICATIONS);

    // Kill once at least 100 have started (visibility shows them running) and none has finished.
    const inFlight = await until(
      () => countWorkflows(stack, `KaibanStatus = 'running'`),
      (n) => n >= 100,
      30_000,
      '100 applications running',
    );
    await worker!.stop('SIGKILL');
    const exit = await worker!.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(inFlight).toBeGreaterThanOrEqual(100);

    // Agencies keep deciding and calling back while no worker runs: the signals wait in Temporal.
    await sleep(3000);
    worker = await stack.startWorker('worker-2');

    const results = await waitForResults(stack.client, ids, 100_000);
    const states = [...results.values()].map((s: ApplicationStatus) => s.status);
    expect(states.filter((s) => s !== 'completed')).toEqual([]);
    expect(await duplicateOrMissingFilings(stack.simulator, ids)).toEqual([]);
  }, 180_000);
});
