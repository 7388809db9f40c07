/** The baseline's activities: they do nothing but answer, so the baseline measures Temporal alone. */
import type { StepId } from '../domain/steps';

export function createBaselineActivities() {
  return {
    async acceptBaseline(_input: { applicationId: string }): Promise<{ acceptedAt: string }> {
      return { acceptedAt: new Date().toISOString() };
    },
    async notifyReceiver(input: { url: string; body: Record<string, unknown> }): Promise<void> {
      const res = await fetch(input.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(input.body),
      });
      if (!res.ok) throw new Error(`receiver answered ${res.status}`);
    },
    async runBaselineStep(input: { applicationId: string; step: StepId }): Promise<Record<string, unknown>> {
      return { step: input.step, ticket: `${input.step}-${input.applicationId}` };
    },
  };
}

export type BaselineActivities = ReturnType<typeof createBaselineActivities>;
