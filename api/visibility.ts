/**
 * Applications as Temporal visibility lists them: Kaiban's own status attribute (KaibanStatus, kept by the workflow)
 * beside Temporal's execution status. Every Kaiban ending closes the workflow as completed, with KaibanStatus set to
 * the outcome; a workflow that Temporal closed otherwise (an administrator terminated it, a timeout, a failure) keeps
 * the attribute it had — `running` — and must not count as open.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SLA_LEVELS, type SlaLevel } from '../domain/sla';
import { OPEN_STATES, type ApplicationState, type EndedInTemporal } from '../domain/status';
import { STEP_IDS } from '../domain/steps';

const ExecutionStatus = temporal.api.enums.v1.WorkflowExecutionStatus;

/** Still running in Temporal: what an open status or a pending task needs besides its attribute. */
export const RUNNING_IN_TEMPORAL = `ExecutionStatus = 'Running'`;

const OPEN_FOR_KAIBAN = `KaibanStatus IN (${OPEN_STATES.map((s) => `'${s}'`).join(', ')})`;

/** Open by Kaiban's account and still running in Temporal. */
export const OPEN_APPLICATIONS = `${OPEN_FOR_KAIBAN} AND ${RUNNING_IN_TEMPORAL}`;

/** What an application can wait for from a person, as /v1/stats and the metrics count it. */
export const OPEN_TASK_KINDS = ['review', 'correction', 'incident'] as const;
export type OpenTaskKind = (typeof OPEN_TASK_KINDS)[number];

/**
 * Applications waiting for `task`: an incident on any step, or its undo — while the application ends (an undo
 * incident keeps it `compensating`), or after it completed (the withdrawal of a done-offline step's filing, which the
 * agency refused: the application is `completed` and still running in Temporal until an operator answers).
 */
export function openTaskClause(task: OpenTaskKind): string {
  const values = task === 'incident' ? STEP_IDS.map((s) => `'incident:${s}'`).join(', ') : `'${task}'`;
  return `KaibanPendingTask IN (${values}) AND ${RUNNING_IN_TEMPORAL}`;
}

/** A count of Kaiban's applications matching a visibility clause (visibility groups only by ExecutionStatus). */
export type VisibilityCount = (clause: string) => Promise<number>;

/** The applications of `taskQueue`'s workflows, as a visibility clause. */
export const applicationsOf = (taskQueue: string) => `WorkflowType = 'businessStartup' AND TaskQueue = '${taskQueue}'`;

/** Counts the applications of `taskQueue`'s workflows. */
export function applicationCounter(client: Client, taskQueue: string): VisibilityCount {
  const base = applicationsOf(taskQueue);
  return async (clause) => (await client.workflow.count(`${base} AND ${clause}`)).count;
}

/** One count per key, in parallel. */
export async function countEach<K extends string>(
  keys: readonly K[],
  clause: (key: K) => string,
  count: VisibilityCount,
): Promise<Record<K, number>> {
  const counts = await Promise.all(keys.map(async (key) => [key, await count(clause(key))] as const));
  return Object.fromEntries(counts) as Record<K, number>;
}

/** Open applications by SLA level (the worst of any scope), as /v1/stats and the metrics give them. */
export const openByLevel = (count: VisibilityCount): Promise<Record<SlaLevel, number>> =>
  countEach(SLA_LEVELS, (level) => `KaibanSlaLevel = '${level}' AND ${OPEN_APPLICATIONS}`, count);

/** Open applications by what they wait for, as /v1/stats and the metrics give them. */
export const openByTask = (count: VisibilityCount): Promise<Record<OpenTaskKind, number>> =>
  countEach(OPEN_TASK_KINDS, openTaskClause, count);

/** Closed by Temporal while Kaiban still had them open. */
export const ENDED_IN_TEMPORAL = `${OPEN_FOR_KAIBAN} AND ExecutionStatus != 'Running'`;

/** The visibility clause for applications in `status` (a running one must also be running in Temporal). */
export function statusClause(status: ApplicationState): string {
  return OPEN_STATES.includes(status)
    ? `KaibanStatus = '${status}' AND ${RUNNING_IN_TEMPORAL}`
    : `KaibanStatus = '${status}'`;
}

const ENDINGS: ReadonlyMap<number, EndedInTemporal> = new Map([
  [ExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED, 'terminated'],
  [ExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED, 'canceled'],
  [ExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, 'timed_out'],
  [ExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED, 'failed'],
]);

/** How Temporal closed a workflow Kaiban did not end; undefined while it runs or when Kaiban ended it. */
export function endedInTemporal(
  executionStatus: temporal.api.enums.v1.WorkflowExecutionStatus | null | undefined,
): EndedInTemporal | undefined {
  return executionStatus == null ? undefined : ENDINGS.get(executionStatus);
}
