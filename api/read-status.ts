/** Reading an application's status, whether its workflow runs or has ended. */
import { QueryRejectedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { ApplicationStatus } from '../domain/status';
import type { Application } from '../domain/application';
import { applicationQuery, statusQuery } from '../workflows/messages';
import { rejectingClosedQueries } from './closed-queries';
import { HttpError } from './errors';
import { API_MESSAGES } from './messages';
import { stalledOrThrow } from './stalled';
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
