/**
 * Workflow interceptors for test/code-fault.test.ts: a bug planted in the step graph's error handling. When the bank's
 * filing fails, the failure the workflow catches throws a TypeError as soon as its retry state is read — as a slip in
 * the incident handling would. Deterministic: a replay of the same history meets the same fault.
 */
import { ActivityFailure, type WorkflowInterceptorsFactory } from '@temporalio/workflow';

export const PLANTED_FAULT = 'planted fault: the incident handling read a property of undefined';

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      scheduleActivity(input, next) {
        const [request] = input.args as [{ step?: string } | undefined];
        const result = next(input);
        if (input.activityType !== 'fileAgencyRequest' || request?.step !== 'bank') return result;
        return result.catch((err: unknown) => {
          if (err instanceof ActivityFailure) {
            Object.defineProperty(err, 'retryState', {
              get() {
                throw new TypeError(PLANTED_FAULT);
              },
            });
          }
          throw err;
        });
      },
    },
  ],
});
