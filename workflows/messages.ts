/**
 * Messages of the businessStartup workflow, shared by the workflow and its callers (the API).
 * Status is a query; agency decisions are signals (fire-and-forget); every person's action is an
 * update with a validator, so the caller learns at once whether the action was accepted.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AgencyReason, AgencyRequestStatus } from '../adapters/agency-client';
import type { Application } from '../domain/application';
import type { Actor, ApplicationState, ApplicationStatus } from '../domain/status';
import type { StepId } from '../domain/steps';

/** An agency's decision, delivered by its callback through the API. */
export interface AgencyDecision {
  step: StepId;
  ticket: string;
  status: AgencyRequestStatus;
  result?: Record<string, unknown>;
  reason?: AgencyReason;
}

/** Every action carries an id (a repeated id returns the first result) and who acts. */
export interface ActionInput {
  actionId: string;
  by: Actor;
  reason?: string;
  /**
   * A digest of what was asked (the request's body and step), given with an Idempotency-Key: the caller tells a
   * repeat of the same request from the same key sent with another (IDEMPOTENCY_KEY_REUSED). Absent before.
   */
  inputHash?: string;
}

export interface ActionResult {
  actionId: string;
  action: string;
  accepted: true;
  at: string;
  /** The accepted input's `inputHash`, if it had one. */
  inputHash?: string;
  /** The application's state right after the action was applied. */
  status: ApplicationState;
}

export interface ReviewInput extends ActionInput {
  decision: 'approve' | 'reject' | 'request_correction';
  reason: string;
  /** For request_correction: the field paths the applicant must fix. */
  fields?: string[];
}

export interface CorrectionInput extends ActionInput {
  /** The whole corrected application, already validated by the API with the application schema. */
  application: Application;
}

export interface StepActionInput extends ActionInput {
  step: StepId;
  action: 'retry' | 'skip';
  /** For skip: what was obtained offline (e.g. the USCC when the license was issued at the counter). */
  output?: Record<string, unknown>;
  /** Refused unless the step (or its undo) is in an incident: not taken for a wait on the agency. */
  onlyInIncident?: boolean;
}

/** Codes of rejected actions; the API maps them to HTTP answers. */
export const ACTION_REJECTIONS = {
  APPLICATION_FINISHED: 409,
  NO_REVIEW_PENDING: 409,
  NO_CORRECTION_PENDING: 409,
  STEP_NOT_IN_INCIDENT: 409,
  /** A retry of the undo of a step done offline: only marking it undone offline (skip) applies. */
  OFFLINE_UNDO: 409,
  REASON_REQUIRED: 400,
  OUTPUT_REQUIRED: 400,
  APPLICATION_INVALID: 400,
  NAME_CHANGE_NOT_ALLOWED: 400,
  /** An approval while the market regulator refuses the name: only a correction of it, or a rejection, applies. */
  NAME_REFUSED: 409,
  /** A skip of the archive refused by a worker from before archive-told-offline (only while a deployment rolls). */
  ARCHIVE_NOT_OFFLINE: 409,
  /** A withdrawal or abort once the archive step has started: every procedure is done, the applicant being told so. */
  BUSINESS_STARTED: 409,
} as const;
export type ActionRejection = keyof typeof ACTION_REJECTIONS;

export const statusQuery = defineQuery<ApplicationStatus>('status');
export const applicationQuery = defineQuery<Application>('application');
export const agencyDecisionSignal = defineSignal<[AgencyDecision]>('agencyDecision');
/** An agency's callback as the API reports it to the workflow before signalling (see callbackVerdictsQuery). */
export interface CallbackReport {
  ticket: string;
  step: StepId;
}
/**
 * What the workflow makes of agency callbacks (one verdict per report, in order), asked by the API before it signals:
 * - `decided`: the workflow has this decision (from the filing's answer, a poll or an earlier callback) — an agency
 *   that decided in its answer and calls back as well costs no history;
 * - `filing`: the step's filing is still unanswered, so the callback has overtaken the answer, which usually carries
 *   the same decision — the API asks again a moment later rather than signal at once;
 * - `foreign`: the ticket is another step's — the report names the wrong step; the API refuses it;
 * - `awaited`: anything else (a pending ticket, an unknown one) — the API signals.
 */
export type CallbackVerdict = 'decided' | 'filing' | 'foreign' | 'awaited';
export const callbackVerdictsQuery = defineQuery<CallbackVerdict[], [CallbackReport[]]>('callbackVerdicts');
export const withdrawUpdate = defineUpdate<ActionResult, [ActionInput]>('withdraw');
export const abortUpdate = defineUpdate<ActionResult, [ActionInput]>('abort');
export const reviewUpdate = defineUpdate<ActionResult, [ReviewInput]>('review');
export const correctionUpdate = defineUpdate<ActionResult, [CorrectionInput]>('answerCorrection');
export const stepActionUpdate = defineUpdate<ActionResult, [StepActionInput]>('stepAction');
