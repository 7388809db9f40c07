/**
 * The benchmarks' baseline: raw Temporal doing the same orchestration shape as businessStartup —
 * one activity to accept, then one activity per step of domain/steps, each step started as soon as
 * the steps it needs are done (seal, tax, social and fund in parallel) — with no-op activities, no
 * agencies, no queries, no search attributes. Bundled on its own (bench/baseline-worker.ts).
 *
 * `parkAfter` makes it wait for a signal that never comes after that step, like an application
 * parked on a manual review: the capacity benchmark's baseline.
 */
import { condition, defineSignal, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import { STEPS, stepDefinition, type StepId } from '../domain/steps';
import type { BaselineActivities } from './baseline-activities';

export interface BaselineInput {
  applicationId: string;
  /** The same input as businessStartup's, so both carry the same payload sizes. */
  application: unknown;
  submittedAt: string;
  parkAfter?: StepId;
}

export const releaseSignal = defineSignal('release');

const { acceptBaseline, runBaselineStep, notifyReceiver } = proxyActivities<BaselineActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 8 },
});

export async function baselineStartup(
  input: BaselineInput,
): Promise<{ id: string; status: 'completed'; outputs: Record<string, unknown> }> {
  let released = false;
  setHandler(releaseSignal, () => void (released = true));
  await acceptBaseline({ applicationId: input.applicationId });
  const outputs: Record<string, unknown> = {};
  const started = new Map<StepId, Promise<void>>();
  const schedule = (id: StepId): Promise<void> => {
    let promise = started.get(id);
    if (!promise) {
      promise = Promise.all(stepDefinition(id).needs.map(schedule)).then(async () => {
        outputs[id] = await runBaselineStep({ applicationId: input.applicationId, step: id });
        if (input.parkAfter === id) await condition(() => released);
      });
      started.set(id, promise);
    }
    return promise;
  };
  await Promise.all(STEPS.map((s) => schedule(s.id)));
  return { id: input.applicationId, status: 'completed', outputs };
}

/**
 * The SLA precision baseline: a bare Temporal timer per due instant, then an activity that POSTs
 * the instant to `url` — what an alert costs with nothing of Kaiban around it.
 */
export async function timerProbe(input: { url: string; probeId: string; dueAtMs: number[] }): Promise<void> {
  for (const [i, dueAt] of input.dueAtMs.entries()) {
    await sleep(Math.max(dueAt - Date.now(), 1));
    await notifyReceiver({ url: input.url, body: { probeId: `${input.probeId}:${i}`, dueAt } });
  }
}
