import type { WorkflowHandle } from '@temporalio/client';
import type { ApplicationStatus } from '../../domain/status';
import { statusQuery } from '../../workflows/messages';
import { schemaProblems } from './openapi';

/** Polls the status query (in real time) until `predicate` holds; fails after `timeoutMs`. */
export async function waitForStatus(
  handle: WorkflowHandle,
  predicate: (status: ApplicationStatus) => boolean,
  timeoutMs = 20_000,
): Promise<ApplicationStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: ApplicationStatus | undefined;
  for (;;) {
    let reached = false;
    try {
      last = await handle.query(statusQuery);
      reached = predicate(last);
    } catch {
      // The first workflow task may not have run yet.
    }
    if (reached && last) {
      // The status every caller reads is the one the OpenAPI document describes (GET /v1/applications/:id).
      expect(schemaProblems('ApplicationStatus', last)).toEqual([]);
      return last;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `condition not reached in ${timeoutMs} ms; last status: ${JSON.stringify(last?.steps.map((s) => [s.id, s.state]))}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The failure a rejected update carries: the validator's type (rejection code) and message. */
export async function updateRejection(update: Promise<unknown>): Promise<{ type?: string; message: string }> {
  try {
    await update;
  } catch (err) {
    const cause = (err as { cause?: { type?: string; message?: string } }).cause;
    return { type: cause?.type, message: cause?.message ?? (err as Error).message };
  }
  throw new Error('expected the update to be rejected, but it was accepted');
}
