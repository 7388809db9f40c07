/** Messages of the businessStartup workflow, shared by the workflow and its callers. */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { AgencyReason, AgencyRequestStatus } from '../adapters/agency-client';
import type { ApplicationStatus } from '../domain/status';
import type { StepId } from '../domain/steps';

/** An agency's decision, delivered by its callback through the API. */
export interface AgencyDecision {
  step: StepId;
  ticket: string;
  status: AgencyRequestStatus;
  result?: Record<string, unknown>;
  reason?: AgencyReason;
}

export const statusQuery = defineQuery<ApplicationStatus>('status');
export const agencyDecisionSignal = defineSignal<[AgencyDecision]>('agencyDecision');
