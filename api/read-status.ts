/** Reading an application's status, whether its workflow runs or has ended. */
import { QueryRejectedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { ApplicationStatus } from '../domain/status';
import type { Application } from '../domain/application';
import { applicationQuery, statusQuery } from '../workflows/messages';
import { rejectingClosedQueries } from './closed-queries';
import { HttpError } from './errors';
import { API_MESSAGES } from './messages';
import { endedInTemporal } from './visibility';

/**
 * Running applications answer the status query, in one call: the query goes to a client that rejects closed
 * workflows. A completed application returns its result; one that Temporal ended otherwise (terminated, timed out,
 * failed) answers the query from its history, marked `endedInTemporal`.
 */
export async function readStatus(client: Client, id: string): Promise<ApplicationStatus> {
  try {
    return await statusOf(client, id);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new HttpError(404, 'NOT_FOUND', API_MESSAGES.applicationNotFound);
    return stalledOrThrow(client, id, err);
  }
}

/** Seconds a caller is asked to wait (Retry-After) before reading or acting on a stalled application again. */
const STALLED_RETRY_AFTER_SECONDS = 60;

/**
 * Why a running application answered no query and took no update: `503 APPLICATION_STALLED` when its workflow task
 * has been tried more than once — a fault of Kaiban's code that fails it (CODE_FAULT_FAILS_TASK in
 * workflows/businessStartup.ts) until a corrected worker is deployed, or a worker that died with it —, which Temporal
 * answers with a refused query or a query out of time; else `err` itself (Temporal unreachable, say).
 */
export async function stalledOrThrow(client: Client, id: string, err: unknown): Promise<never> {
  if (err instanceof HttpError || err instanceof WorkflowNotFoundError) throw err;
  let attempt: number | null | undefined;
  try {
    attempt = (await client.workflow.getHandle(id).describe()).raw.pendingWorkflowTask?.attempt;
  } catch {
    throw err;
  }
  if ((attempt ?? 0) < 2) throw err;
  throw new HttpError(
    503,
    'APPLICATION_STALLED',
    API_MESSAGES.applicationStalled,
    undefined,
    STALLED_RETRY_AFTER_SECONDS,
  );
}

async function statusOf(client: Client, id: string): Promise<ApplicationStatus> {
  try {
    return await rejectingClosedQueries(client).workflow.getHandle(id).query(statusQuery);
  } catch (err) {
    if (!(err instanceof QueryRejectedError)) throw err;
    const handle = client.workflow.getHandle(id);
    if (err.status === temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED) {
      return (await handle.result()) as ApplicationStatus;
    }
    const ended = endedInTemporal(err.status);
    const status = await handle.query(statusQuery);
    return ended ? { ...status, endedInTemporal: ended } : status;
  }
}

/**
 * The application as submitted and corrected since (the workflow's application query). A closed application's is
 * read by a worker replaying its history: an operator's look at a finished file, not a hot path.
 */
export async function readApplication(client: Client, id: string): Promise<Application> {
  try {
    return await client.workflow.getHandle(id).query(applicationQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new HttpError(404, 'NOT_FOUND', API_MESSAGES.applicationNotFound);
    return stalledOrThrow(client, id, err);
  }
}
