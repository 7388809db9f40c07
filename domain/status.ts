/** The whole picture of one application, as the status query returns it. */
import type { ApplicationSla, SlaScopeStatus } from './sla';
import type { AgencyId, StepId } from './steps';

/** An application's states, in the order lists and statistics give them. */
export const APPLICATION_STATES = ['running', 'compensating', 'completed', 'rejected', 'withdrawn', 'aborted'] as const;
export type ApplicationState = (typeof APPLICATION_STATES)[number];
/** Open: running, or undoing completed steps. */
export const OPEN_STATES: readonly ApplicationState[] = ['running', 'compensating'];
export const FINAL_STATES: readonly ApplicationState[] = ['completed', 'rejected', 'withdrawn', 'aborted'];

/**
 * How Temporal itself ended a workflow that Kaiban did not end: an administrator terminated it (or cancelled it), a
 * timeout or a failure closed it. Kaiban ran no compensation then; the status is the last one the workflow had.
 */
export const ENDED_IN_TEMPORAL_STATES = ['terminated', 'canceled', 'timed_out', 'failed'] as const;
export type EndedInTemporal = (typeof ENDED_IN_TEMPORAL_STATES)[number];

export const STEP_STATES = [
  'waiting', // prerequisites not done
  'filing', // sending the request to the agency (the archive: sealing the dossier and notifying the applicant)
  'pending', // filed; the agency has not decided
  'review', // waiting for an operator's review decision (license only)
  'correction', // waiting for the applicant to correct the application (license only)
  'done',
  'rejected', // the agency said no: the registration (the application ends), or the name (an operator reviews it)
  'incident', // retries exhausted, an agency silent, or its "no" to a step after the registration: an operator acts
  'skipped', // done offline, marked by an operator
  'cancelled', // never finished because the application ended
] as const;
export type StepState = (typeof STEP_STATES)[number];

export interface StepError {
  code: string;
  message: string;
  /** Agency-supplied reason, in both languages when the agency gives them. */
  reason?: { code: string; message_zh?: string; message_en?: string };
}

export type Role = 'applicant' | 'operator' | 'supervisor' | 'system';

export interface Actor {
  subject: string;
  role: Role;
}

/** One entry of the audit trail: who did what, when and why. */
export interface AuditEntry {
  at: string;
  actionId: string;
  action: string;
  by: Actor;
  reason?: string;
  step?: StepId;
  /** A digest of the request that made the action (messages.ts ActionInput), when it came with an Idempotency-Key. */
  inputHash?: string;
  detail?: Record<string, unknown>;
}

export interface ReviewFinding {
  code: string;
  path: string;
  reason: { zh: string; en: string };
}

export const REVIEW_STATES = [
  'not_needed',
  'pending',
  'correction_requested',
  'approved',
  'rejected',
  'cancelled',
] as const;

export interface ReviewStatus {
  /** What the automatic rules decided (智能秒办). */
  decision: 'auto_approve' | 'manual_review';
  findings: ReviewFinding[];
  /** `cancelled`: the application ended (withdrawn, aborted) while the review or the correction was still open. */
  state: (typeof REVIEW_STATES)[number];
  decidedBy?: Actor;
  decidedAt?: string;
  reason?: string;
  correction?: { message: string; fields: string[]; requestedAt: string; answeredAt?: string };
}

export const COMPENSATION_STATES = ['running', 'done', 'incident', 'skipped'] as const;

export interface CompensationRecord {
  step: StepId;
  action: 'undo' | 'cancel';
  /**
   * `incident`: the agency refused the undo itself (an unknown ticket, a record it will not undo) and an operator
   * decides — retry, or `skipped`: undone offline, with the operator's reason (the audit trail says who). A step done
   * offline is undone offline: an incident with error `UNDO_OFFLINE`, answered by a skip only.
   */
  state: (typeof COMPENSATION_STATES)[number];
  startedAt: string;
  finishedAt?: string;
  attempts: number;
  /** The record's status at the agency after the undo (`revoked`, `cancelled`, …), or `undone_offline`. */
  result?: string;
  error?: { code: string; message: string };
  reason?: string;
}

export interface StepStatus {
  id: StepId;
  agency: AgencyId | null;
  title: { zh: string; en: string };
  needs: StepId[];
  state: StepState;
  startedAt?: string;
  finishedAt?: string;
  /** Attempts to file the request with the agency (1 when the first try went through). */
  attempts: number;
  ticket?: string;
  output?: Record<string, unknown>;
  error?: StepError;
  /** How the decision reached Kaiban: the agency's callback or Kaiban's polling fallback. */
  decidedVia?: 'callback' | 'poll';
  /**
   * Since when the step has waited for its agency's decision, while it does: an operator may retry (ask again) or
   * skip it (done offline) meanwhile, as on an incident.
   */
  waitingSince?: string;
  /** The step's SLA clock: statutory limit, committed budget, actual working time, level, due instant. */
  sla?: SlaScopeStatus;
}

export interface ApplicationResults {
  uscc?: string;
  licenseNumber?: string;
  eLicenseUrl?: string;
  seals?: unknown;
  electronicSealIds?: unknown;
  tax?: unknown;
  socialSecurityNumber?: string;
  fundAccountNumber?: string;
  bankAppointment?: unknown;
  dossier?: {
    dossierId: string;
    digest: string;
    archivedAt: string;
    covers?: string[];
    /** The message platform's receipt of the notification to the applicant (activities/index.ts Dossier). */
    applicantNotified?: { notificationId: string; acceptedAt: string };
    /** Why the platform refused it. */
    notificationRefused?: string;
    /** An operator told the applicant otherwise and sealed the dossier without notifying (a skip of the archive). */
    applicantToldOffline?: { reason: string };
  };
}

export interface ApplicationStatus {
  id: string;
  status: ApplicationState;
  company: { name: string; district: string };
  submittedAt: string;
  acceptedAt?: string;
  finishedAt?: string;
  steps: StepStatus[];
  results: ApplicationResults;
  compensations: CompensationRecord[];
  /** The automatic approval decision and any manual review. */
  review?: ReviewStatus;
  /** What the application waits for from a person: `review`, `correction`, `incident:<step>`. */
  pendingTasks: string[];
  audit: AuditEntry[];
  /** Why the application ended without success, if it did. */
  outcome?: { reason: string; by: Actor | { subject: string; role: 'agency' }; step?: StepId };
  /** The one-working-day SLA: the application's clock, pauses and alerts (each step's clock is in `steps[].sla`). */
  sla?: ApplicationSla;
  /** Set by the API when Temporal closed the workflow without Kaiban (the rest is the status as of that moment). */
  endedInTemporal?: EndedInTemporal;
}

/** One row of the operators' list (`GET /v1/applications`), read from Temporal visibility. */
export interface ApplicationSummary {
  id: string;
  status: string;
  companyName?: string;
  district?: string;
  pendingTasks: string[];
  slaLevel?: string;
  dueAt?: string;
  breached: string[];
  submittedAt?: string;
  closedAt?: string;
  /**
   * Working time until dueAt while the application runs on its clock, negative when overdue (so the console needs no
   * calendar); none while the clock is paused or stopped.
   */
  workingMsLeft?: number;
  /** Temporal closed the workflow without Kaiban: `status` is the last one it had, and it is no longer open. */
  endedInTemporal?: EndedInTemporal;
  /**
   * Without search attributes (TEMPORAL_SEARCH_ATTRIBUTES=false) each item is read from its application's status: why
   * this one could not be (its status is then `unknown`).
   */
  unreadable?: string;
}
