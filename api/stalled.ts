/**
 * A running application held up by Kaiban itself: its workflow task fails, and Temporal retries it until a corrected
 * worker is deployed (CODE_FAULT_FAILS_TASK in workflows/businessStartup.ts, or a worker whose code no longer replays
 * the history). Meanwhile Temporal refuses its queries, or lets them run out of time, and updates wait unanswered.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { hasGrpcCode, HttpError } from './errors';
import { API_MESSAGES } from './messages';

/** Seconds a caller is asked to wait (Retry-After) before reading or acting on a stalled application again. */
const STALLED_RETRY_AFTER_SECONDS = 60;

/** How long the check may take: its own deadline, not what is left of the request's (a list's item read, say). */
const STALL_CHECK_DEADLINE_MS = 5000;

/** The newest events read for the last workflow task's end: those since are few (signals, timers, no commands). */
const RECENT_EVENTS = 100;

const { WorkflowTaskFailedCause } = temporal.api.enums.v1;

/** Failures of the workflow code itself: a fault it threw, or code that no longer replays its history. */
const CODE_FAILURES = new Set<temporal.api.enums.v1.WorkflowTaskFailedCause | null | undefined>([
  WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
  WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR,
]);

export function stalledError(): HttpError {
  return new HttpError(
    503,
    'APPLICATION_STALLED',
    API_MESSAGES.applicationStalled,
    undefined,
    STALLED_RETRY_AFTER_SECONDS,
  );
}

/**
 * Whether application `id` is stalled: its pending workflow task tried more than once, and the last one that ended
 * failed in the workflow code — not one that timed out (a worker killed mid-task, a slow machine: cleared in seconds),
 * nor one failed for Temporal's own reasons. `described`: the workflow's description, when one was read already.
 */
export async function isStalled(
  client: Client,
  id: string,
  described?: { pendingWorkflowTask?: { attempt?: number | null } | null },
): Promise<boolean> {
  const namespace = client.options.namespace;
  const execution = { workflowId: id };
  return client.connection.withDeadline(Date.now() + STALL_CHECK_DEADLINE_MS, async () => {
    const { pendingWorkflowTask: task } =
      described ?? (await client.workflowService.describeWorkflowExecution({ namespace, execution }));
    if ((task?.attempt ?? 0) < 2) return false;
    const { history } = await client.workflowService.getWorkflowExecutionHistoryReverse({
      namespace,
      execution,
      maximumPageSize: RECENT_EVENTS,
    });
    const ended = history?.events?.find(
      (e) =>
        e.workflowTaskCompletedEventAttributes ||
        e.workflowTaskFailedEventAttributes ||
        e.workflowTaskTimedOutEventAttributes,
    );
    const failed = ended?.workflowTaskFailedEventAttributes;
    return failed != null && CODE_FAILURES.has(failed.cause);
  });
}

/**
 * Why a running application answered no query, or took no update in time: `503 APPLICATION_STALLED` if it is stalled
 * (isStalled), else `err` itself (Temporal unreachable, a query out of time on a busy server…).
 */
export async function stalledOrThrow(client: Client, id: string, err: unknown): Promise<never> {
  // Temporal's frontend unreachable (14 UNAVAILABLE): nothing to ask it.
  if (err instanceof HttpError || err instanceof WorkflowNotFoundError || hasGrpcCode(err, [14])) throw err;
  let stalled = false;
  try {
    stalled = await isStalled(client, id);
  } catch {
    throw err;
  }
  throw stalled ? stalledError() : err;
}
