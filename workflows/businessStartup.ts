/**
 * One application for the start of a new business, from acceptance to archive — or, when it ends
 * without success, to the undoing of everything that was done.
 *
 * - The step graph comes from domain/steps: a step starts as soon as the steps it needs are done,
 *   so seal, tax, social and fund run in parallel after the license.
 * - Each agency step files a request, then waits durably for the agency's decision: the callback
 *   arrives as a signal; a polling timer with backoff recovers a lost callback.
 * - The license step first runs the automatic approval rules; a finding sends it to an operator.
 * - A step whose retries are exhausted becomes an incident that an operator resolves (retry, skip,
 *   abort); it does not by itself fail the application.
 * - Withdrawal, rejection and abort compensate: completed steps are undone in reverse dependency
 *   order (in parallel where the graph allows), each undo retried until it succeeds.
 * - A fault of this code that escapes the step graph fails the workflow task: Temporal retries it,
 *   and a corrected worker goes on from there. Nothing is undone for Kaiban's own bug.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  TemporalFailure,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, AgencyOutcome, DossierInput, WorkflowSettings } from '../activities';
import type { Application } from '../domain/application';
import { buildAgencyPayload, filingKey, filingMayHaveReachedAgency, type StepOutputs } from '../domain/agency-requests';
import { canonicalJson } from '../domain/canonical-json';
import { changedPaths, withinFields } from '../domain/changes';
import { shanghaiIsoDate } from '../domain/calendar';
import { offlineOutputProblem } from '../domain/offline-outputs';
import { actionRejectionMessage, type ActionRejectionParams } from '../domain/action-rejections';
import { assessApplication, reviewRulesEdition } from '../domain/review-rules';
import type {
  Actor,
  ApplicationState,
  ApplicationStatus,
  AuditEntry,
  CompensationRecord,
  ReviewFinding,
  StepStatus,
} from '../domain/status';
import { dependentsOf, STEPS, stepDefinition, type AgencyId, type StepId } from '../domain/steps';
import {
  changedSearchAttributes,
  companyNameKey,
  companySearchText,
  districtKey,
  pendingTaskKey,
  statusKey,
} from '../infra/search-attributes';
import {
  abortUpdate,
  agencyDecisionSignal,
  applicationQuery,
  callbackVerdictsQuery,
  correctionUpdate,
  reviewUpdate,
  statusQuery,
  stepActionUpdate,
  withdrawUpdate,
  type ActionInput,
  type ActionRejection,
  type ActionResult,
  type AgencyDecision,
  type ReviewInput,
  type StepActionInput,
} from './messages';
import { SlaClock } from './sla';

/**
 * Patch ids (`patched()`, README "Upgrading workflow code safely"): histories recorded before a patch replay the old
 * way; each patched branch has a recorded history in test/histories/.
 * NO_FILING_AFTER_END: a step started in the cancelled graph is not marked `filing` (and so not filed to be undone).
 */
const NO_FILING_AFTER_END = 'no-filing-after-end';
/** RESERVE_OWED_NAME: a retried license first reserves the corrected name whose reservation had failed. */
const RESERVE_OWED_NAME = 'reserve-owed-name';
/**
 * LICENSE_WAITS_FOR_OWED_NAME: a license retried while its corrected name is owed shows `waiting` while the name is
 * reserved (it stayed `incident`, without its error and with no one asked to act). Status only, but the compensation
 * reads the state: histories from before keep the incident.
 */
const LICENSE_WAITS_FOR_OWED_NAME = 'license-waits-for-owed-name';
/**
 * POLLS_WITHIN_HISTORY_BUDGET: Temporal keeps at most 51,200 events of one workflow's history and ends it there, with
 * nothing undone; each poll of a pending filing adds about 11. Several agencies silent at once, or an operator's retries
 * each beginning a new wait, could reach that limit within the patience of each wait. Once the history holds
 * `historyEventBudget` events, a poll that finds the filing still pending ends the wait as a silent agency's does (an
 * `AGENCY_SILENT` incident; the callback is still taken), and an undo out of attempts waits for an operator without
 * Kaiban's own retries. Asked only past the budget.
 */
const POLLS_WITHIN_HISTORY_BUDGET = 'polls-within-history-budget';
/**
 * UNDO_REST_GROWS: an undo out of attempts is tried again by Kaiban after a rest that doubles each time, from half an
 * hour up to a day (it was half an hour each time, for ever: about 375 history events a day for one undo). Asked only
 * from the second rest on.
 */
const UNDO_REST_GROWS = 'undo-rest-grows';
/**
 * ENDS_AFTER_TEMPORAL_CANCEL: an application cancelled in Temporal (an administrator's cancel in the Web UI or the CLI,
 * not Kaiban's withdrawal or abort) ends as an abort does, all of it: after its compensation, the SLA's final figures,
 * the alerts still being delivered and the withdrawals running beside the chain. The SLA's wait rejected in the
 * cancelled scope, so the workflow closed as cancelled with those left undone. Asked only when so cancelled.
 */
const ENDS_AFTER_TEMPORAL_CANCEL = 'ends-after-temporal-cancel';
/**
 * CODE_FAULT_FAILS_TASK: a fault of Kaiban's own code that escapes the step graph (a TypeError in a step's error
 * handling, say: nothing an agency, the applicant or an operator did) fails the workflow task instead of aborting the
 * application. Temporal retries the task, and a corrected worker goes on where it stopped; the abort undid the
 * founder's completed procedures for Kaiban's bug. Asked only when such a fault happens.
 */
const CODE_FAULT_FAILS_TASK = 'code-fault-fails-task';
/** UPSERT_CORRECTED_DISTRICT: a correction that moves the company to another district updates KaibanDistrict. */
const UPSERT_CORRECTED_DISTRICT = 'upsert-corrected-district';
/** CANCEL_FILING_ON_SKIP: a step skipped (done offline) withdraws the filing the agency holds for it. */
const CANCEL_FILING_ON_SKIP = 'cancel-filing-on-skip';
/**
 * CANCEL_UNANSWERED_FILING_ON_SKIP: a step skipped after its filing went unanswered (its attempts failed, one at least
 * in a way that may have reached the agency: a timeout, a cut connection) withdraws whatever filing the agency may
 * hold — filed again under the same key to learn its ticket, then cancelled — in the background: the chain goes on at
 * once, and the workflow ends when the withdrawal is done.
 */
const CANCEL_UNANSWERED_FILING_ON_SKIP = 'cancel-unanswered-filing-on-skip';
/**
 * WITHDRAW_SKIPPED_FILING_BESIDE_CHAIN: a step skipped while the agency holds its ticket withdraws that filing beside
 * the chain too (CANCEL_FILING_ON_SKIP withdrew it before the chain went on: an operator skips because the agency is
 * down, and the application then waited for the agency to come back).
 */
const WITHDRAW_SKIPPED_FILING_BESIDE_CHAIN = 'withdraw-skipped-filing-beside-chain';
/**
 * OWED_NAME_DONE_WITH_LICENSE: a license skipped (done offline) while the corrected name's reservation had failed
 * marks the name done offline with it, and withdraws the name's filing the regulator may hold; the name used to stay
 * `filing` on a completed application, and an abort after the skip filed it again to cancel it.
 */
const OWED_NAME_DONE_WITH_LICENSE = 'owed-name-done-with-license';
/**
 * NO_UNDO_OF_UNREACHED_FILING: the compensation leaves alone a step in an incident whose every filing attempt was
 * turned away (nothing reached the agency); it used to file it again, only to cancel it.
 */
const NO_UNDO_OF_UNREACHED_FILING = 'no-undo-of-unreached-filing';
/**
 * NO_UNDO_OF_UNREACHED_CORRECTED_NAME: the same for a corrected name whose every filing was turned away within the
 * license's step (it stays `filing`, the incident is the license's): an abort or withdrawal filed it again only to
 * cancel it, and waited for a regulator that was down although nothing needed undoing.
 */
const NO_UNDO_OF_UNREACHED_CORRECTED_NAME = 'no-undo-of-unreached-corrected-name';
/**
 * OFFLINE_UNDO_OF_SKIPPED_STEP: a step done offline (skipped) is undone offline when the application ends without
 * success: the compensation waits for an operator to mark it undone offline (an undo incident, `UNDO_OFFLINE`). It was
 * left out, so a registration done at the window stayed live with no one told. Asked only when such a step is there.
 */
const OFFLINE_UNDO_OF_SKIPPED_STEP = 'offline-undo-of-skipped-step';
/** The error of an offline undo's compensation record: what tells it from an undo the agency refused. */
const UNDO_OFFLINE = 'UNDO_OFFLINE';
/**
 * UNDO_AFTER_WITHDRAWALS: the compensation undoes a step only after the withdrawals of its dependents' filings running
 * beside the chain (a skipped step's filing the agency holds): a tax filing withdrawn after the license it was made
 * under had been revoked broke the reverse dependency order. Asked only when such a withdrawal is still running.
 */
const UNDO_AFTER_WITHDRAWALS = 'undo-after-withdrawals';
/**
 * POLL_FAILURE_WAITS_FOR_CALLBACK: a poll of a pending filing that fails (the agency unreachable through its retries)
 * leaves the step pending, still waiting for the agency's callback and polling again later, up to
 * `pollFailuresBeforeIncident` failures in a row; the first one made an incident, so a short outage while an agency
 * worked on a filing needed an operator although its decision then came by callback. Asked at a failed poll only.
 */
const POLL_FAILURE_WAITS_FOR_CALLBACK = 'poll-failure-waits-for-callback';
/**
 * INCIDENT_TAKES_CALLBACK_DECISION: a step that became an incident because its polls failed (the agency's status
 * service down) takes the decision that comes by callback meanwhile, as a silent agency's step does: it completes as it
 * is. It stayed an incident with the decision in hand, so a retry filed again (a second incident while the agency's
 * intake was down) and a skip withdrew what the agency had approved. Asked when such a decision comes.
 */
const INCIDENT_TAKES_CALLBACK_DECISION = 'incident-takes-callback-decision';
/**
 * OFFLINE_NAME_RELEASED_BEFORE_CORRECTION: a name done offline (reserved at the regulator's window) that a correction
 * replaces is undone offline first (an UNDO_OFFLINE incident: the operator releases it there and marks it undone),
 * as an online reservation is released before the new one. Nothing released it, nobody was told, and once the new name
 * was reserved online no later undo knew of it. Asked only when such a name is corrected.
 */
const OFFLINE_NAME_RELEASED_BEFORE_CORRECTION = 'offline-name-released-before-correction';
/** A pending step's error while its polls fail and its callback is still awaited. */
const AGENCY_UNREACHABLE = 'AGENCY_UNREACHABLE';
/**
 * AGENCY_SILENCE_INCIDENT: a filing its agency leaves undecided longer than `agencySilenceMs` becomes an incident
 * (error `AGENCY_SILENT`): polling stops and an operator is told, while the agency's callback is still taken. It was
 * polled for ever, every 15 minutes: about a thousand history events a day, so an agency that never decided ended the
 * application at Temporal's history limit (51,200 events, some seven weeks) with nothing undone. Asked only then.
 */
const AGENCY_SILENCE_INCIDENT = 'agency-silence-incident';
const AGENCY_SILENT = 'AGENCY_SILENT';
/** The patience of applications accepted before it was a setting (their acceptance result has none): a week. */
const AGENCY_SILENCE_MS_BEFORE_SETTING = 7 * 24 * 3_600_000;
/**
 * DECISIONS_OF_THEIR_OWN_STEP: a callback's decision counts for the step it names only. It was taken by ticket alone,
 * so a decision reported for another step (two agencies issuing alike tickets, or an agency speaking for a ticket of
 * another's) decided the step holding that ticket. Asked only when that happens, so other histories carry no marker.
 */
const DECISIONS_OF_THEIR_OWN_STEP = 'decisions-of-their-own-step';
/**
 * RESERVE_NAME_FOR_CORRECTED_FILING: a correction that changes what the name's filing says (the district or the
 * entity type, the name kept) reserves the name again; only a new name did, so the license was registered in the
 * new district on a reservation made for the old one. Asked only when that happens.
 */
const RESERVE_NAME_FOR_CORRECTED_FILING = 'reserve-name-for-corrected-filing';
/**
 * REFUSAL_IS_INCIDENT: an agency's "no" to a step after the registration (seal, tax, social, fund, bank) is an
 * incident for an operator — retry (filed again under a new key), done offline, or abort — as PRODUCT.md has it: the
 * application ends without success when "the registration is rejected", and "a failure in one step does not by itself
 * undo the others". Any refusal rejected the whole application and revoked the registration: a bank with no slot left
 * cost the founder the business license. Asked only when such a refusal comes.
 */
const REFUSAL_IS_INCIDENT = 'refusal-is-incident';
const AGENCY_REJECTED = 'AGENCY_REJECTED';
/**
 * The steps whose refusal is the registration's: the name it registers (under NAME_REFUSAL_TO_REVIEW, reviewed first)
 * and the registration itself.
 */
const REFUSAL_ENDS_APPLICATION = new Set<StepId>(['name', 'license']);
/**
 * NAME_REFUSAL_TO_REVIEW: the market regulator's refusal of the name (taken, a forbidden word) sends the license to an
 * operator's review, its finding NAME_REFUSED quoting the regulator: request a correction of the name (reserved again
 * once the applicant answers; refused again, reviewed again), or reject. It rejected the application at once, though
 * PRODUCT.md has a name that is not clear of forbidden words or is taken wait for an operator's decision: the founder
 * could not correct it and started again from zero. Asked only when the name is refused.
 */
const NAME_REFUSAL_TO_REVIEW = 'name-refusal-to-review';
/**
 * OWED_NAME_REFUSAL_TO_REVIEW: the same for a corrected name owed by the license's step (its reservation failed for good,
 * then refused on the license's retry, or by a callback after it fell silent): reviewed, where it rejected the
 * application. A patch of its own: a history may hold NAME_REFUSAL_TO_REVIEW's marker and this path taken the old way.
 */
const OWED_NAME_REFUSAL_TO_REVIEW = 'owed-name-refusal-to-review';
/**
 * ACT_ON_AGENCY_WAIT: an operator may retry (ask the agency again now) or skip (done offline, the filing withdrawn) a
 * step while it waits for its agency's decision, as on the incident a silent agency becomes: the step is that incident
 * at once, answered by the action. An operator could act only once the wait had lasted AGENCY_SILENT_INCIDENT_HOURS
 * (a week by default), though the step's deadline is hours: a supervisor alerted of the breach, an operator who had the
 * seal carved at the window, could do nothing meanwhile. Asked only when such an action comes.
 */
const ACT_ON_AGENCY_WAIT = 'act-on-agency-wait';
/**
 * ARCHIVE_TOLD_OFFLINE: an operator may end an archive incident (the message platform will not take the notification)
 * by telling the applicant otherwise: a skip of the archive seals the dossier without notifying. The skip was refused
 * (ARCHIVE_NOT_OFFLINE: it ended the application without its dossier), and nothing else could end such an incident for
 * one application: every procedure is done, so it is neither withdrawn nor aborted. Asked only when that skip comes.
 */
const ARCHIVE_TOLD_OFFLINE = 'archive-told-offline';

export interface BusinessStartupInput {
  applicationId: string;
  application: Application;
  submittedAt: string;
}

const { acceptApplication } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

/**
 * Undo must happen whatever the agency's state: retried backing off to 5 minutes, `maximumAttempts` at a time
 * (settings.undoAttemptsBeforeIncident; none in histories before it: without limit), then an incident an operator
 * sees while Kaiban tries again every UNDO_RETRY_REST_MS.
 */
const undoActivities = (maximumAttempts: number | undefined) =>
  proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '5 minutes',
      ...(maximumAttempts ? { maximumAttempts } : {}),
    },
  });

/** The archive's seal without the notification (ARCHIVE_TOLD_OFFLINE): a local digest, retried until it is made. */
const sealingActivities = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/** How long an undo that ran out of attempts waits for an operator before Kaiban tries it again by itself. */
const UNDO_RETRY_REST_MS = 30 * 60_000;
/** The longest such rest (UNDO_REST_GROWS): half an hour, doubling each time, up to a day. */
const UNDO_RETRY_REST_MAX_MS = 24 * 3_600_000;
/** The history budget where the settings give none (histories from before it): see POLLS_WITHIN_HISTORY_BUDGET. */
const HISTORY_EVENT_BUDGET_BEFORE_SETTING = 20_000;

const SYSTEM: Actor = { subject: 'kaiban', role: 'system' };

/**
 * The filing a withdrawal cancels, fixed when it was decided: its ticket, or (without one) its key and payload, filed
 * again to learn the ticket — under its key the agency returns the record it holds.
 */
type WithdrawalTarget = { ticket: string } | { key: string; payload: Record<string, unknown> };

/** The agency said no. Carries the agency's reason; ends the application as rejected. */
class StepRejected extends Error {
  constructor(
    readonly step: StepId,
    readonly reason: AgencyOutcome['reason'],
  ) {
    super(`${step} rejected by the agency: ${reason?.code ?? 'no reason given'}`);
  }
}

/** A step's error for an agency's refusal, with the agency's reason. */
function refusalOf(err: StepRejected): NonNullable<StepStatus['error']> {
  return {
    code: AGENCY_REJECTED,
    message: err.reason?.message_en ?? err.message,
    ...(err.reason ? { reason: err.reason } : {}),
  };
}

/** The review's finding for a name the regulator refused (NAME_REFUSAL_TO_REVIEW), in its words. */
function nameRefusedFinding(refusal: NonNullable<StepStatus['error']>): ReviewFinding {
  const code = refusal.reason?.code ?? refusal.code;
  return {
    code: 'NAME_REFUSED',
    path: 'company.name',
    reason: {
      zh: `名称登记机关不予核准该名称：${refusal.reason?.message_zh ?? refusal.message}（${code}）；请要求申请人补正名称，或驳回`,
      en: `the market regulator refused the name: ${refusal.reason?.message_en ?? refusal.message} (${code}); request a correction of the name, or reject`,
    },
  };
}

/** The agency has not decided a filing within the patience given (AGENCY_SILENCE_INCIDENT): the step becomes an incident. */
class AgencySilent extends Error {
  constructor(
    message: string,
    /** The step whose filing it is: this one, or the corrected name reserved within the license's step. */
    readonly step: StepId,
    readonly ticket: string,
    /** An operator's action ended the wait (ACT_ON_AGENCY_WAIT): it answers the incident at once. */
    readonly acted = false,
  ) {
    super(message);
  }
}

/** A duration for people: `7 d`, `36 h`, `15 min`, `2 s`. */
function duration(ms: number): string {
  const [unit, size] =
    ms >= 172_800_000
      ? ['d', 86_400_000]
      : ms >= 7_200_000
        ? ['h', 3_600_000]
        : ms >= 120_000
          ? ['min', 60_000]
          : ['s', 1000];
  return `${Math.round(ms / size)} ${unit}`;
}

/** An operator rejected the application in review. */
class ReviewRejected extends Error {
  constructor(
    readonly by: Actor,
    readonly reason: string,
  ) {
    super(`rejected in review: ${reason}`);
  }
}

/** Refuses an action: the English message as the failure's, its parameters as its details (domain/action-rejections.ts). */
function rejectAction(code: ActionRejection, params: ActionRejectionParams = {}): never {
  const message = actionRejectionMessage(code, params, 'en') ?? code;
  throw ApplicationFailure.create({ type: code, message, nonRetryable: true, details: [params] });
}

function nowIso(): string {
  // Workflow time: deterministic, taken from the workflow task, safe on replay.
  return new Date().toISOString();
}

/** Today's date in Asia/Shanghai, from workflow time. */
const todayShanghai = (): string => shanghaiIsoDate(Date.now());

export async function businessStartup(input: BusinessStartupInput): Promise<ApplicationStatus> {
  const { applicationId } = input;
  let application = input.application;
  const status: ApplicationStatus = {
    id: applicationId,
    status: 'running',
    company: { name: application.company.name, district: application.company.district },
    submittedAt: input.submittedAt,
    steps: STEPS.map((s): StepStatus => ({
      id: s.id,
      agency: s.agency,
      title: s.title,
      needs: [...s.needs],
      state: 'waiting',
      attempts: 0,
    })),
    results: {},
    compensations: [],
    pendingTasks: [],
    audit: [],
  };
  const stepStatus = (id: StepId) => status.steps.find((s) => s.id === id)!;
  const outputs: StepOutputs = {};
  /** Decisions that arrived by callback, by step and ticket (a callback may overtake the filing's result). */
  const decisions = new Map<string, AgencyDecision>();
  const decisionKey = (step: StepId, ticket: string) => `${step} ${ticket}`;
  /** The same by ticket alone, as histories from before DECISIONS_OF_THEIR_OWN_STEP took them. */
  const decisionsByTicket = new Map<string, AgencyDecision>();
  /** Step and ticket (decisionKey) of the filings whose decision the workflow has, however it came. */
  const decided = new Set<string>();
  /** The same by ticket alone, as histories from before DECISIONS_OF_THEIR_OWN_STEP took them. */
  const decidedTickets = new Set<string>();
  /** Results of accepted actions by action id: a repeated action returns its first result. */
  const actions = new Map<string, ActionResult>();
  /** Filing rounds per step: a step filed again (a corrected name) gets a new idempotency key. */
  const rounds = new Map<StepId, number>();
  let reviewDecision: ReviewInput | undefined;
  let correctedApplication: Application | undefined;
  /** A corrected name whose reservation failed (an incident of the license's step): reserved before the license. */
  let nameOwed = false;
  /** The regulator's refusal of the name, for the license's review (NAME_REFUSAL_TO_REVIEW); none once one is reserved. */
  let nameRefusal: NonNullable<StepStatus['error']> | undefined;
  const incidentActions = new Map<StepId, StepActionInput>();
  /** Tickets whose decision came by callback while their step was an incident (a silent agency, failed polls). */
  const decidedInIncident = new Map<StepId, string>();
  /** How many waits for an operator's action each step has (operatorAction). */
  const incidentWaiters = new Map<StepId, number>();
  /**
   * Steps whose action (in incidentActions) was accepted while they waited for their agency, not for an incident: only
   * these end the wait. Histories from before 2a66038 may hold an action kept for a step's next incident; it must not.
   */
  const actedWhileWaiting = new Set<StepId>();
  /** Idempotency keys of filings the agency may hold: one answered with a ticket, or one that may have gone unanswered. */
  const keysMaybeHeld = new Set<string>();
  /** Filing keys whose latest filing failed with every attempt turned away (and none under way since). */
  const keysTurnedAway = new Set<string>();
  /** The step whose own filing failed, by the failure (a corrected name's filing fails within the license's step). */
  const filingFailures = new WeakMap<object, StepId>();
  /** Withdrawals of skipped steps' filings, running beside the chain (the patches CANCEL_UNANSWERED_FILING_ON_SKIP, WITHDRAW_SKIPPED_FILING_BESIDE_CHAIN). */
  const withdrawals: Promise<void>[] = [];
  /** The withdrawals beside the chain still running, by step (UNDO_AFTER_WITHDRAWALS). */
  const withdrawalsRunning = new Map<StepId, Promise<void>[]>();
  /** Tickets of skipped steps withdrawn beside the chain (WITHDRAW_SKIPPED_FILING_BESIDE_CHAIN): not undone again. */
  const withdrawnOnSkip = new Set<string>();
  let ending: { kind: 'withdrawn' | 'aborted'; by: Actor; reason: string } | undefined;
  /** Known after acceptance; until then there is nothing to publish to visibility. */
  let searchAttributesEnabled = false;
  /** The scope of the step graph; withdraw and abort cancel it, which triggers compensation. */
  const graph = new CancellationScope();
  /** The one-working-day SLA clocks (./sla.ts): started at acceptance, paused while the applicant corrects. */
  const sla = new SlaClock(applicationId, status);

  const finished = () => status.status !== 'running';
  /** Whether the history holds its budget of events (POLLS_WITHIN_HISTORY_BUDGET): read once the settings are known. */
  const historyOverBudget = () =>
    workflowInfo().historyLength >= (config.historyEventBudget ?? HISTORY_EVENT_BUDGET_BEFORE_SETTING);

  function syncVisibility(): void {
    if (!searchAttributesEnabled) return;
    upsertSearchAttributes([
      { key: statusKey, value: status.status },
      { key: pendingTaskKey, value: [...status.pendingTasks] },
    ]);
  }

  function setPending(task: string, on: boolean): void {
    const has = status.pendingTasks.includes(task);
    if (on && !has) status.pendingTasks.push(task);
    if (!on && has) status.pendingTasks = status.pendingTasks.filter((t) => t !== task);
    syncVisibility();
  }

  /**
   * Waits for an operator's retry or skip of the incident on step `id` (the step's own, or its undo's). Two undos of
   * one step can wait at once (a done-offline name's withdrawal beside the chain, and the compensation's undo of the
   * corrected name): one action answers one of them, and the task stays pending while another waits.
   */
  async function operatorAction(id: StepId): Promise<StepActionInput> {
    return (await operatorActionUnless(id, () => false))!;
  }

  /**
   * Whether an action on step `id` answers an incident someone waits on (the step's own, or its undo's), or else the
   * step's wait for its agency (ACT_ON_AGENCY_WAIT: `steps[].waitingSince` set), or nothing.
   */
  function actionAnswers(id: StepId): 'incident' | 'wait' | undefined {
    const undoIncident = status.compensations.some((c) => c.step === id && c.state === 'incident');
    const step = status.steps.find((s) => s.id === id);
    if ((undoIncident || step?.state === 'incident') && (incidentWaiters.get(id) ?? 0) > 0) return 'incident';
    return step?.waitingSince !== undefined ? 'wait' : undefined;
  }

  /** The action an operator sent for step `id` while it waited for its agency (ACT_ON_AGENCY_WAIT). */
  function takeAction(id: StepId): StepActionInput {
    const action = incidentActions.get(id)!;
    incidentActions.delete(id);
    actedWhileWaiting.delete(id);
    return action;
  }

  /** The same, unless `settled()` holds first (an agency's decision came meanwhile): then undefined. */
  async function operatorActionUnless(id: StepId, settled: () => boolean): Promise<StepActionInput | undefined> {
    incidentWaiters.set(id, (incidentWaiters.get(id) ?? 0) + 1);
    setPending(`incident:${id}`, true);
    let action: StepActionInput | undefined;
    try {
      // A waiter woken in the same activation as one that took the action waits for the next.
      while (action === undefined) {
        await condition(() => incidentActions.has(id) || settled());
        if (!incidentActions.has(id) && settled()) break;
        action = incidentActions.get(id);
        incidentActions.delete(id);
      }
    } finally {
      incidentWaiters.set(id, incidentWaiters.get(id)! - 1);
    }
    // A cancelled wait leaves the task to the ending, which keeps only undo incidents.
    if (incidentWaiters.get(id) === 0) setPending(`incident:${id}`, false);
    return action;
  }

  function record(action: string, input: ActionInput, extra: Partial<AuditEntry> = {}): ActionResult {
    const at = nowIso();
    const inputHash = input.inputHash ? { inputHash: input.inputHash } : {};
    status.audit.push({
      at,
      actionId: input.actionId,
      action,
      by: input.by,
      ...(input.reason ? { reason: input.reason } : {}),
      ...inputHash,
      ...extra,
    });
    const result: ActionResult = {
      actionId: input.actionId,
      action,
      accepted: true,
      at,
      status: status.status,
      ...inputHash,
    };
    actions.set(input.actionId, result);
    return result;
  }

  // ---- queries, signals, updates ----------------------------------------------------------

  setHandler(statusQuery, () => sla.present());
  setHandler(applicationQuery, () => application);
  setHandler(agencyDecisionSignal, (decision) => {
    if (decision.status === 'pending') return;
    decisions.set(decisionKey(decision.step, decision.ticket), decision);
    decisionsByTicket.set(decision.ticket, decision);
  });
  setHandler(callbackVerdictsQuery, (reports) =>
    reports.map(({ ticket, step }) => {
      const key = decisionKey(step, ticket);
      if (decided.has(key) || decisions.has(key)) return 'decided';
      const own = stepStatus(step);
      // Its ticket is not known yet (the answer is on its way): ask again, whoever else holds an alike ticket.
      if (own.state === 'filing') return 'filing';
      return own.ticket !== ticket && status.steps.some((s) => s.ticket === ticket) ? 'foreign' : 'awaited';
    }),
  );

  const requireRunning = (input: ActionInput) => {
    if (!actions.has(input.actionId) && (finished() || ending)) {
      rejectAction('APPLICATION_FINISHED', { status: ending?.kind ?? status.status });
    }
  };
  const requireReason = (input: ActionInput) => {
    if (!input.reason?.trim()) rejectAction('REASON_REQUIRED');
  };

  const endBy =
    (kind: 'withdrawn' | 'aborted') =>
    (input: ActionInput): ActionResult => {
      const earlier = actions.get(input.actionId);
      if (earlier) return earlier;
      ending = {
        kind,
        by: input.by,
        reason: input.reason ?? (kind === 'withdrawn' ? 'withdrawn by the applicant' : ''),
      };
      graph.cancel();
      return record(kind === 'withdrawn' ? 'withdraw' : 'abort', input);
    };
  // The archive step starts once every procedure is done: the business is started, and its applicant is told so in
  // the step's one activity, which a cancellation would not stop — so nothing is withdrawn or aborted from then on (a
  // withdrawal while it ran told the applicant their business was started as the compensation revoked its license).
  const requireNotStarted = (input: ActionInput) => {
    if (!actions.has(input.actionId) && stepStatus('archive').startedAt !== undefined) {
      rejectAction('BUSINESS_STARTED');
    }
  };
  setHandler(withdrawUpdate, endBy('withdrawn'), {
    validator: (input) => {
      requireRunning(input);
      requireNotStarted(input);
    },
  });
  setHandler(abortUpdate, endBy('aborted'), {
    validator: (input) => {
      requireRunning(input);
      requireNotStarted(input);
      if (!actions.has(input.actionId)) requireReason(input);
    },
  });

  setHandler(
    reviewUpdate,
    (input) => {
      const earlier = actions.get(input.actionId);
      if (earlier) return earlier;
      reviewDecision = input;
      return record(`review:${input.decision}`, input, {
        step: 'license',
        detail: input.fields ? { fields: input.fields } : undefined,
      });
    },
    {
      validator: (input) => {
        if (actions.has(input.actionId)) return;
        requireRunning(input);
        if (status.review?.state !== 'pending' || reviewDecision) rejectAction('NO_REVIEW_PENDING');
        requireReason(input);
        if (input.decision === 'approve' && nameRefusal) {
          rejectAction('NAME_REFUSED');
        }
      },
    },
  );

  setHandler(
    correctionUpdate,
    (input) => {
      const earlier = actions.get(input.actionId);
      if (earlier) return earlier;
      correctedApplication = input.application;
      // What the applicant changed, and what of it the operator did not ask for: field names only.
      const changed = changedPaths(application, input.application);
      const fields = status.review?.correction?.fields ?? [];
      const unrequested = fields.length === 0 ? [] : changed.filter((p) => !withinFields(p, fields));
      return record('answer_correction', input, { step: 'license', detail: { changed, unrequested } });
    },
    {
      validator: (input) => {
        if (actions.has(input.actionId)) return;
        requireRunning(input);
        // Awaited only while the task is open: not once an answer is taken (while a corrected name is reserved).
        if (!status.pendingTasks.includes('correction') || correctedApplication) {
          rejectAction('NO_CORRECTION_PENDING');
        }
        // The API validated the corrected application against the schema (domain/application.ts); the workflow
        // only guards its own invariants, without bundling the schema library into every workflow context.
        if (!isApplicationShaped(input.application)) {
          rejectAction('APPLICATION_INVALID');
        }
      },
    },
  );

  setHandler(
    stepActionUpdate,
    (input) => {
      const earlier = actions.get(input.actionId);
      if (earlier) return earlier;
      incidentActions.set(input.step, input);
      // The audit trail tells a step done offline from an undo done offline (`skip_undo`), and retries alike.
      const undoIncident = status.compensations.some((c) => c.step === input.step && c.state === 'incident');
      // Taken for a wait on the agency, not for an incident someone waits on (as the validator decided).
      if (actionAnswers(input.step) === 'wait') actedWhileWaiting.add(input.step);
      return record(undoIncident ? `${input.action}_undo` : input.action, input, { step: input.step });
    },
    {
      validator: (input) => {
        if (actions.has(input.actionId)) return;
        // An undo in an incident is answered while the application ends (it cannot end before).
        const undoIncident = status.compensations.find((c) => c.step === input.step && c.state === 'incident');
        if (!undoIncident) requireRunning(input);
        // Only while someone waits for the action: a license retried while its owed name is reserved stays `incident`
        // with its action taken, and a second action would have been kept for the next incident of that step (an undo
        // the agency refuses, answered by an action meant for something else). Not run on replay: no patch.
        // Or while it waits for its agency's decision (ACT_ON_AGENCY_WAIT): a retry asks again, a skip is done offline.
        const answers = actionAnswers(input.step);
        if (answers === undefined || incidentActions.has(input.step)) {
          rejectAction('STEP_NOT_IN_INCIDENT', { step: input.step });
        }
        if (input.onlyInIncident && answers === 'wait') {
          rejectAction('STEP_NOT_IN_INCIDENT', { step: input.step, message: 'waiting' });
        }
        if (input.action === 'retry' && undoIncident?.error?.code === UNDO_OFFLINE) {
          rejectAction('OFFLINE_UNDO', { step: input.step });
        }
        if (input.action === 'skip') {
          requireReason(input);
          // What the steps after it file with (domain/offline-outputs.ts); an undo done offline brings nothing.
          const missing = undoIncident ? undefined : offlineOutputProblem(input.step, input.output);
          if (missing) rejectAction('OUTPUT_REQUIRED', { step: input.step, message: missing });
        }
      },
    },
  );

  // ---- acceptance --------------------------------------------------------------------------

  const accepted = await acceptApplication({ applicationId, submittedAt: input.submittedAt });
  status.acceptedAt = accepted.acceptedAt;
  const config: WorkflowSettings = accepted.settings;
  const undoing = undoActivities(config.undoAttemptsBeforeIncident);
  searchAttributesEnabled = config.searchAttributes;
  const slaAttributes = sla.start({
    searchAttributes: config.searchAttributes,
    plan: accepted.sla,
  });
  if (config.searchAttributes) {
    // Everything operators filter on, in one upsert — and only what the API did not already set at submission
    // (usually nothing): each upsert is a history event and a visibility write.
    const changed = changedSearchAttributes(
      [
        { key: statusKey, value: status.status },
        { key: pendingTaskKey, value: [...status.pendingTasks] },
        { key: districtKey, value: application.company.district },
        { key: companyNameKey, value: companySearchText(application.company.name) },
        ...slaAttributes,
      ],
      workflowInfo().typedSearchAttributes,
    );
    if (changed.length > 0) upsertSearchAttributes(changed);
  }

  const agencyActivities = proxyActivities<Activities>({
    // One attempt is one HTTP call bounded by the adapter's timeout: a lost worker's attempt is retried soon after.
    startToCloseTimeout: config.agencyCallTimeoutMs + 10_000,
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: config.agencyRetryMaxIntervalMs ?? 60_000,
      maximumAttempts: config.agencyMaxAttempts,
      nonRetryableErrorTypes: ['AgencyRequestInvalid'],
    },
  });

  // ---- steps -------------------------------------------------------------------------------

  const keyFor = (id: StepId) => {
    const round = rounds.get(id) ?? 1;
    return round === 1 ? filingKey(applicationId, id) : `${filingKey(applicationId, id)}:r${round}`;
  };

  /**
   * Waits for the agency's decision of `ticket`: its callback, or a poll backing off to config.pollMaxMs. `actionable`:
   * the step is the one running (not the corrected name reserved within the license's step), so an operator may end
   * the wait with a retry or a skip (ACT_ON_AGENCY_WAIT).
   */
  async function awaitDecision(
    step: StepStatus,
    agency: AgencyId,
    ticket: string,
    actionable = false,
  ): Promise<AgencyOutcome | AgencyDecision> {
    let delay = config.pollInitialMs;
    const waitingSince = Date.now();
    const key = decisionKey(step.id, ticket);
    let foreignIgnored = false;
    let pollFailures = 0;
    /** The agency answered (a poll, a callback): a failed poll's note goes. */
    const reached = () => {
      if (step.error?.code === AGENCY_UNREACHABLE) step.error = undefined;
    };
    /** An operator's retry or skip, accepted while this wait ran (ACT_ON_AGENCY_WAIT): it wins over what comes after. */
    const acted = () => actionable && actedWhileWaiting.has(step.id);
    /** Ends the wait as the incident the action answers, once one was accepted. */
    const throwIfActed = () => {
      if (!acted() || !patched(ACT_ON_AGENCY_WAIT)) return;
      throw new AgencySilent(
        `${agency} had not decided filing ${ticket} in ${duration(Date.now() - waitingSince)} when an operator ` +
          (incidentActions.get(step.id)?.action === 'skip' ? 'marked it done offline' : 'asked again'),
        step.id,
        ticket,
        true,
      );
    };
    if (actionable) step.waitingSince = nowIso();
    try {
      for (;;) {
        const woken = await condition(
          () => acted() || decisions.has(key) || (!foreignIgnored && decisionsByTicket.has(ticket)),
          delay,
        );
        // The operator's action wins over a decision that came with it: accepted, it is carried out (a retry files again
        // and meets the decision under the same key; a skip withdraws the filing).
        throwIfActed();
        if (woken) {
          // Histories from before took the latest decision of the ticket, whatever step it named.
          const decision = ownStepOr(decisions.get(key), decisionsByTicket.get(ticket));
          if (decision) {
            step.decidedVia = 'callback';
            reached();
            return decision;
          }
          foreignIgnored = true; // another step's decision of this ticket: wait for this step's own
          continue;
        }
        try {
          // An action accepted while the poll runs is carried out when it returns, whatever it brings.
          const polled = await agencyActivities.pollAgencyRequest({ agency, ticket, step: step.id });
          throwIfActed();
          pollFailures = 0;
          reached();
          if (polled.status !== 'pending') {
            step.decidedVia = 'poll';
            return polled;
          }
        } catch (err) {
          if (err instanceof AgencySilent) throw err;
          if (!isCancellation(err)) throwIfActed();
          // The agency did not answer the poll (its retries ran out): the callback may still come. Not a refusal.
          const unreachable =
            err instanceof ActivityFailure &&
            err.cause instanceof ApplicationFailure &&
            err.cause.type === 'AgencyUnavailableError';
          if (!unreachable || ++pollFailures >= (config.pollFailuresBeforeIncident ?? 1)) throw err;
          if (!patched(POLL_FAILURE_WAITS_FOR_CALLBACK)) throw err;
          step.error = { code: AGENCY_UNREACHABLE, message: `polling the agency failed: ${describe(err)}` };
        }
        // Applications accepted before the setting get the default: patched() keeps their recorded histories as they
        // were (false on replay), and takes the branch once they run live.
        const patience = config.agencySilenceMs ?? AGENCY_SILENCE_MS_BEFORE_SETTING;
        if (Date.now() - waitingSince >= patience && !decisions.has(key) && patched(AGENCY_SILENCE_INCIDENT)) {
          const waited = duration(Date.now() - waitingSince);
          throw new AgencySilent(
            `${agency} has not decided filing ${ticket} in ${waited}: polling stopped, its callback is still taken; ` +
              'retry to ask the agency again, or mark the step done offline',
            step.id,
            ticket,
          );
        }
        if (historyOverBudget() && !decisions.has(key) && patched(POLLS_WITHIN_HISTORY_BUDGET)) {
          throw new AgencySilent(
            `${agency} has not decided filing ${ticket} in ${duration(Date.now() - waitingSince)}, and the ` +
              `application's history holds ${workflowInfo().historyLength} events (Temporal keeps at most 51,200): polling stopped, its ` +
              'callback is still taken; retry to ask the agency again, or mark the step done offline',
            step.id,
            ticket,
          );
        }
        delay = Math.min(delay * 2, config.pollMaxMs);
      }
    } catch (err) {
      // The application ended meanwhile (a withdrawal, an abort): an action accepted for the wait has nothing left to
      // answer, and must not answer the undo of this step later.
      if (acted() && isCancellation(err)) {
        actedWhileWaiting.delete(step.id);
        incidentActions.delete(step.id);
      }
      throw err;
    } finally {
      if (actionable) step.waitingSince = undefined;
    }
  }

  /** Files step `id` with its agency and waits for the decision; `actionable` as in awaitDecision. */
  async function fileAndAwait(id: StepId, actionable = false): Promise<Record<string, unknown>> {
    const def = stepDefinition(id);
    const step = stepStatus(id);
    const agency = def.agency!;
    // The agency's decision came by callback while the step waited for an operator (a silent agency, failed polls): it
    // completes the step as it is, with nothing filed again (the agency's intake may be what is down).
    const heard = decidedInIncident.get(id);
    if (heard !== undefined) {
      decidedInIncident.delete(id);
      step.state = 'pending';
      return takeDecision(id, heard, await awaitDecision(step, agency, heard, actionable));
    }
    // A step that starts after the application ended (a withdrawal in the same activation as the license's
    // decision, or before acceptance) files nothing: marked `filing`, its compensation would file it, to cancel it.
    if (CancellationScope.current().consideredCancelled && patched(NO_FILING_AFTER_END)) {
      throw new CancelledFailure(`the application ended before ${id} was filed`);
    }
    step.state = 'filing';
    step.ticket = undefined;
    const idempotencyKey = keyFor(id);
    keysTurnedAway.delete(idempotencyKey); // a filing under way may reach the agency
    let filed: AgencyOutcome;
    try {
      filed = await agencyActivities.fileAgencyRequest({
        applicationId,
        step: id,
        agency,
        procedure: def.procedure,
        idempotencyKey,
        payload: buildAgencyPayload(id, application, outputs),
      });
    } catch (err) {
      if (typeof err === 'object' && err !== null) filingFailures.set(err, id);
      throw err;
    }
    keysMaybeHeld.add(idempotencyKey);
    step.attempts += filed.attempt;
    step.ticket = filed.ticket;
    step.state = 'pending';
    const decision = filed.status === 'pending' ? await awaitDecision(step, agency, filed.ticket, actionable) : filed;
    return takeDecision(id, filed.ticket, decision);
  }

  /** The agency's decision of a step's filing: its result, or the rejection that ends the application. */
  function takeDecision(id: StepId, ticket: string, decision: AgencyOutcome | AgencyDecision): Record<string, unknown> {
    decided.add(decisionKey(id, ticket));
    decidedTickets.add(ticket);
    if (decision.status !== 'approved') throw new StepRejected(id, decision.reason);
    return decision.result ?? {};
  }

  /** Manual review of the license, with any number of correction rounds. */
  async function reviewLicense(): Promise<void> {
    const step = stepStatus('license');
    for (;;) {
      // The rules' data as in force at acceptance (an edition id in the acceptance result): replays stay the same.
      const assessment = assessApplication(application, todayShanghai(), reviewRulesEdition(config.reviewRules));
      // A name the regulator refused is an operator's to review, whatever the rules found.
      const refused = nameRefusal;
      status.review = {
        ...status.review,
        decision: refused ? 'manual_review' : assessment.decision,
        findings: refused ? [nameRefusedFinding(refused), ...assessment.findings] : assessment.findings,
        state: 'pending',
      };
      if (status.review.decision === 'auto_approve' && !status.review.correction) {
        status.review.state = 'not_needed';
        return;
      }
      step.state = 'review';
      setPending('review', true);
      await condition(() => reviewDecision !== undefined);
      const decision = reviewDecision!;
      reviewDecision = undefined;
      setPending('review', false);
      status.review.decidedBy = decision.by;
      status.review.decidedAt = nowIso();
      status.review.reason = decision.reason;
      if (decision.decision === 'approve') {
        status.review.state = 'approved';
        return;
      }
      if (decision.decision === 'reject') {
        status.review.state = 'rejected';
        throw new ReviewRejected(decision.by, decision.reason);
      }
      status.review.state = 'correction_requested';
      status.review.correction = { message: decision.reason, fields: decision.fields ?? [], requestedAt: nowIso() };
      step.state = 'correction';
      setPending('correction', true);
      // The promise is about the government's time: no working time counts while the applicant corrects.
      sla.pause('correction requested');
      await condition(() => correctedApplication !== undefined);
      const corrected = correctedApplication!;
      correctedApplication = undefined;
      setPending('correction', false);
      // Until the corrected name is reserved (if it needs to be), the license waits on it, as on any step it needs.
      step.state = 'waiting';
      sla.resume();
      status.review.correction.answeredAt = nowIso();
      const nameChanged = corrected.company.name !== application.company.name;
      const nameFilingChanged =
        canonicalJson(buildAgencyPayload('name', corrected, outputs)) !==
        canonicalJson(buildAgencyPayload('name', application, outputs));
      const districtChanged = corrected.company.district !== application.company.district;
      application = corrected;
      status.company = { name: application.company.name, district: application.company.district };
      // Operators filter by district: a corrected one is published at once (the name, once reserved again).
      if (districtChanged && config.searchAttributes && patched(UPSERT_CORRECTED_DISTRICT)) {
        upsertSearchAttributes([{ key: districtKey, value: application.company.district }]);
      }
      try {
        if (nameChanged) await reserveNameAgain('the company name was corrected');
        else if (nameFilingChanged && patched(RESERVE_NAME_FOR_CORRECTED_FILING))
          await reserveNameAgain("the company's district or entity type was corrected");
      } catch (err) {
        // The corrected name refused too: reviewed again, as the first (histories from before: the application ends).
        nameRefusedOrThrow(err, NAME_REFUSAL_TO_REVIEW);
      }
    }
  }

  /** A refusal of the name, taken to the license's review if `patch` says so; anything else is thrown on. */
  function nameRefusedOrThrow(err: unknown, patch: string): void {
    if (!(err instanceof StepRejected && err.step === 'name' && patched(patch))) throw err;
    nameRefused(refusalOf(err));
  }

  /** The name refused by the regulator (NAME_REFUSAL_TO_REVIEW): the step shows it, the license's review quotes it. */
  function nameRefused(refusal: NonNullable<StepStatus['error']>): void {
    const name = stepStatus('name');
    name.state = 'rejected';
    name.finishedAt = nowIso();
    name.error = refusal;
    nameRefusal = refusal;
  }

  /** A corrected company name, district or entity type: release the old reservation, then reserve the name anew. */
  async function reserveNameAgain(why: string): Promise<void> {
    const name = stepStatus('name');
    // A name done offline whose filing is being withdrawn beside the chain is not undone a second time; a refused one
    // holds nothing (NAME_REFUSAL_TO_REVIEW).
    if (name.ticket && !withdrawnOnSkip.has(name.ticket) && name.state !== 'rejected') await undo('name', 'undo', why);
    // The reservation made at the window is released there before the new name is reserved; after the withdrawal of
    // our own filing for it, if one runs beside the chain: one undo of the name waits for an operator at a time, so
    // each action answers the undo it was meant for.
    if (name.state === 'skipped' && patched(OFFLINE_NAME_RELEASED_BEFORE_CORRECTION)) {
      const withdrawing = withdrawalsRunning.get('name');
      if (withdrawing) await Promise.all(withdrawing);
      await undoOffline('name');
    }
    rounds.set('name', (rounds.get('name') ?? 1) + 1);
    nameOwed = true;
    await reserveOwedName();
  }

  /** Reserves the corrected name (again, with the same key, after an incident: the agency returns the same record). */
  async function reserveOwedName(): Promise<void> {
    const name = stepStatus('name');
    const output = await fileAndAwait('name');
    nameOwed = false;
    nameRefusal = undefined;
    name.error = undefined;
    outputs.name = output;
    name.output = output;
    name.state = 'done';
    name.finishedAt = nowIso();
    if (config.searchAttributes)
      upsertSearchAttributes([{ key: companyNameKey, value: companySearchText(application.company.name) }]);
  }

  /**
   * Everything, sealed by its digest: the materials as corrected, the review, each step's state and ticket, the outputs
   * and the audit trail (an activity argument: the document stays in this history, encrypted).
   */
  function dossierDocument(): DossierInput {
    return {
      applicationId,
      outputs,
      application,
      ...(status.review ? { review: status.review } : {}),
      steps: status.steps
        .filter((s) => s.id !== 'archive')
        .map((s) => ({
          id: s.id,
          state: s.state,
          ...(s.ticket ? { ticket: s.ticket } : {}),
          ...(s.finishedAt ? { finishedAt: s.finishedAt } : {}),
        })),
      audit: status.audit,
    };
  }

  async function attemptStep(id: StepId): Promise<Record<string, unknown>> {
    if (id === 'archive') {
      // Under way: sealing the dossier and notifying the applicant (it used to show `waiting` until done).
      stepStatus(id).state = 'filing';
      const { attempt = 1, ...dossier } = await agencyActivities.archiveDossier(dossierDocument());
      stepStatus(id).attempts += attempt;
      return dossier;
    }
    // An operator retries the license after the corrected name's reservation failed: the name first (it used to
    // file the license on the old, released reservation).
    if (id === 'license' && nameOwed && patched(RESERVE_OWED_NAME)) {
      if (patched(LICENSE_WAITS_FOR_OWED_NAME)) stepStatus(id).state = 'waiting';
      try {
        await reserveOwedName();
      } catch (err) {
        // The owed name refused (on a retry, or by a callback while it was an incident): reviewed, as a refused name is.
        nameRefusedOrThrow(err, OWED_NAME_REFUSAL_TO_REVIEW);
        nameOwed = false;
      }
    }
    if (id === 'license' && status.review?.state !== 'approved' && status.review?.state !== 'not_needed') {
      await reviewLicense();
    }
    return fileAndAwait(id, true);
  }

  async function runStep(id: StepId): Promise<void> {
    const step = stepStatus(id);
    step.startedAt = nowIso();
    sla.stepStarted();
    for (;;) {
      try {
        const output = await attemptStep(id);
        outputs[id] = output;
        step.output = output;
        step.state = 'done';
        step.error = undefined;
        step.finishedAt = nowIso();
        return;
      } catch (err) {
        let refusal: StepStatus['error'];
        if (err instanceof StepRejected) {
          refusal = refusalOf(err);
          if (id === 'name' && err.step === 'name' && patched(NAME_REFUSAL_TO_REVIEW)) {
            nameRefused(refusal);
            return; // the license's review takes it
          }
          // The rejected step may be another: the corrected name, reserved again within the license's step.
          if (err.step !== id || REFUSAL_ENDS_APPLICATION.has(id) || !patched(REFUSAL_IS_INCIDENT)) {
            const rejected = stepStatus(err.step);
            rejected.state = 'rejected';
            rejected.finishedAt = nowIso();
            rejected.error = refusal;
            throw err;
          }
        }
        if (err instanceof ReviewRejected || isCancellation(err)) throw err;
        // Retries exhausted (or the request is malformed): an operator decides what happens next.
        step.state = 'incident';
        // Filing attempts: all of them when retries ran out, the one when the agency refused the request outright
        // (polls that failed are not filings).
        const filingFailure =
          err instanceof ActivityFailure && err.activityType === 'fileAgencyRequest' ? err : undefined;
        // The step whose filing failed: this one, or the corrected name reserved within the license's step.
        const failedStep = filingFailure && filingFailures.get(filingFailure);
        // Whether the agency may hold that filing under its current key: a round answered with a ticket, or an attempt
        // that may have gone unanswered (a timeout, a cut connection) — not when every attempt was turned away.
        const cause = filingFailure?.cause;
        if (failedStep && filingMayHaveReachedAgency(cause instanceof ApplicationFailure ? cause.details : undefined)) {
          keysMaybeHeld.add(keyFor(failedStep));
        } else if (failedStep) {
          keysTurnedAway.add(keyFor(failedStep));
        }
        if (filingFailure) {
          stepStatus(failedStep ?? id).attempts +=
            filingFailure.retryState === 'MAXIMUM_ATTEMPTS_REACHED' ? config.agencyMaxAttempts : 1;
        }
        // The archive's attempts that failed (the message platform down) count as a filing's do.
        if (err instanceof ActivityFailure && err.activityType === 'archiveDossier') {
          step.attempts += err.retryState === 'MAXIMUM_ATTEMPTS_REACHED' ? config.agencyMaxAttempts : 1;
        }
        const silent = err instanceof AgencySilent ? err : undefined;
        step.error =
          refusal ??
          (silent
            ? { code: AGENCY_SILENT, message: silent.message }
            : { code: 'STEP_INCIDENT', message: describe(err) });
        log.warn('step incident: waiting for an operator', { applicationId, step: id, code: step.error.code });
        // The agency holds our filing under this ticket and may still decide by callback meanwhile: a silent agency,
        // or one whose status service failed our polls (then its decision is taken only from this code on).
        const pollFailed = err instanceof ActivityFailure && err.activityType === 'pollAgencyRequest';
        const awaited = silent
          ? { step: silent.step, ticket: silent.ticket }
          : pollFailed && step.ticket
            ? { step: id, ticket: step.ticket }
            : undefined;
        const action = silent?.acted
          ? takeAction(id)
          : awaited
            ? await operatorActionUnless(
                id,
                () =>
                  decisions.has(decisionKey(awaited.step, awaited.ticket)) &&
                  (silent !== undefined || patched(INCIDENT_TAKES_CALLBACK_DECISION)),
              )
            : await operatorAction(id);
        if (action === undefined) {
          // The agency decided after all: its decision completes the step (fileAndAwait).
          decidedInIncident.set(awaited!.step, awaited!.ticket);
          step.error = undefined;
          continue;
        }
        if (action.action === 'skip' && id === 'archive' && patched(ARCHIVE_TOLD_OFFLINE)) {
          // The applicant told otherwise: the dossier is sealed all the same, without the notification — retried
          // until it is (a failure here would end a started business unsuccessfully, and compensate it). Under way
          // meanwhile, not the incident it answered (whose error stays, as a skipped step's does: why it was skipped).
          step.state = 'filing';
          const { attempt = 1, ...dossier } = await sealingActivities.archiveDossier({
            ...dossierDocument(),
            notify: false,
          });
          step.attempts += attempt;
          const output = { ...dossier, applicantToldOffline: { reason: action.reason ?? '' } };
          outputs[id] = output;
          step.output = output;
          step.state = 'skipped';
          step.finishedAt = nowIso();
          return;
        }
        if (action.action === 'skip') {
          // Done offline: our own filing the agency holds is withdrawn, or the agency would keep two — and the
          // compensation does not undo a skipped step. Beside the chain, however long the agency takes to come back
          // (an operator skips because it is down); the workflow ends when the withdrawal is done.
          const withdrawal = `${id} done offline by an operator: ${action.reason ?? ''}`;
          const withdrawBesideChain = (of: StepId, target: WithdrawalTarget) => {
            const running: Promise<void> = CancellationScope.nonCancellable(() =>
              undo(of, 'cancel', withdrawal, target),
            ).finally(() => {
              const left = withdrawalsRunning.get(of)!.filter((w) => w !== running);
              if (left.length > 0) withdrawalsRunning.set(of, left);
              else withdrawalsRunning.delete(of);
            });
            withdrawalsRunning.set(of, [...(withdrawalsRunning.get(of) ?? []), running]);
            withdrawals.push(running);
          };
          if (id === 'license' && nameOwed && patched(OWED_NAME_DONE_WITH_LICENSE)) {
            // The corrected name was never reserved online: the license done at the window carries it, and the
            // name's filing the regulator may hold (its ticket, else its key) is withdrawn.
            const name = stepStatus('name');
            const heldName = heldFiling('name');
            if (heldName) withdrawBesideChain('name', heldName);
            if (config.searchAttributes) {
              upsertSearchAttributes([{ key: companyNameKey, value: companySearchText(application.company.name) }]);
            }
            const nameOutput = { skippedOffline: true, withLicense: true, reason: action.reason };
            outputs.name = nameOutput;
            name.output = nameOutput;
            name.state = 'skipped';
            name.finishedAt = nowIso();
            nameOwed = false;
          }
          // What to withdraw is fixed now: a later round of the step (a corrected name) must not be cancelled.
          const held = heldFiling(id);
          if (held && 'key' in held && patched(CANCEL_UNANSWERED_FILING_ON_SKIP)) {
            withdrawBesideChain(id, held);
          } else if (held && 'ticket' in held) {
            if (patched(WITHDRAW_SKIPPED_FILING_BESIDE_CHAIN)) {
              withdrawnOnSkip.add(held.ticket);
              withdrawBesideChain(id, held);
            } else if (patched(CANCEL_FILING_ON_SKIP)) {
              await undo(id, 'cancel', withdrawal);
            }
          }
          const output = { ...(action.output ?? {}), skippedOffline: true, reason: action.reason };
          outputs[id] = output;
          step.output = output;
          step.state = 'skipped';
          step.finishedAt = nowIso();
          return;
        }
        // Filed again after a refusal: under its key the agency would answer with the refused record.
        if (refusal) rounds.set(id, (rounds.get(id) ?? 1) + 1);
        step.error = undefined;
      }
    }
  }

  // Each step's promise starts when the promises of the steps it needs resolve.
  const started = new Map<StepId, Promise<void>>();
  const schedule = (id: StepId): Promise<void> => {
    let promise = started.get(id);
    if (!promise) {
      promise = Promise.all(stepDefinition(id).needs.map(schedule)).then(() => runStep(id));
      started.set(id, promise);
    }
    return promise;
  };

  // ---- compensation ------------------------------------------------------------------------

  /**
   * Undoes one step at its agency, retried without limit while the agency is unavailable. If the agency refuses the
   * undo itself (an unknown ticket, a record it will not undo), the same call cannot succeed by repeating it: the undo
   * becomes an incident and an operator retries it or marks it undone offline.
   */
  async function undo(id: StepId, action: 'undo' | 'cancel', reason: string, target?: WithdrawalTarget): Promise<void> {
    const agency = stepDefinition(id).agency;
    if (!agency) return;
    const entry: CompensationRecord = { step: id, action, state: 'running', startedAt: nowIso(), attempts: 0 };
    status.compensations.push(entry);
    let rests = 0;
    for (;;) {
      try {
        const undone = await undoAtAgency(id, agency, reason, target);
        entry.attempts += undone.attempt;
        entry.state = 'done';
        entry.finishedAt = nowIso();
        entry.result = undone.status;
        return;
      } catch (err) {
        // The application ends while this undo (of a corrected name) runs: its compensation undoes the step anew.
        if (isCancellation(err)) {
          status.compensations.splice(status.compensations.indexOf(entry), 1);
          throw err;
        }
        entry.state = 'incident';
        entry.error = { code: 'UNDO_INCIDENT', message: describe(err) };
        log.warn('undo incident: waiting for an operator', { applicationId, step: id });
        // An undo that ran out of its attempts (the agency unavailable all along, or answering what the protocol does
        // not know) is tried again by Kaiban after a rest, unless an operator acts first: it stayed `running` for
        // ever, retried unseen, and no operator could step in.
        const outOfAttempts = err instanceof ActivityFailure && err.retryState === 'MAXIMUM_ATTEMPTS_REACHED';
        // Past the history's budget, only an operator's action goes on (POLLS_WITHIN_HISTORY_BUDGET).
        const overBudget = outOfAttempts && historyOverBudget() && patched(POLLS_WITHIN_HISTORY_BUDGET);
        let rest: CancellationScope | undefined;
        let restMs = UNDO_RETRY_REST_MS;
        if (outOfAttempts && !overBudget) {
          rest = new CancellationScope({ cancellable: true });
          if (rests > 0 && patched(UNDO_REST_GROWS)) {
            restMs = Math.min(UNDO_RETRY_REST_MS * 2 ** rests, UNDO_RETRY_REST_MAX_MS);
          }
          rests++;
        }
        let rested = false;
        void rest
          ?.run(() => sleep(restMs))
          .then(
            () => (rested = true),
            () => undefined,
          );
        let decision: StepActionInput | undefined;
        try {
          decision = await undoActionUnless(entry, () => rested);
        } finally {
          rest?.cancel();
        }
        entry.error = undefined;
        if (decision === undefined) {
          entry.state = 'running';
          continue;
        }
        if (decision.action === 'skip') {
          entry.state = 'skipped';
          entry.finishedAt = nowIso();
          entry.result = 'undone_offline';
          entry.reason = decision.reason;
          return;
        }
        entry.state = 'running';
      }
    }
  }

  /**
   * An operator's action on the undo waiting in `entry` (unless `settled()` first). If the application ends meanwhile
   * (an undo of a corrected name's old reservation), the entry goes: its compensation undoes the step anew.
   */
  async function undoActionUnless(
    entry: CompensationRecord,
    settled: () => boolean,
  ): Promise<StepActionInput | undefined> {
    try {
      return await operatorActionUnless(entry.step, settled);
    } catch (err) {
      if (isCancellation(err)) status.compensations.splice(status.compensations.indexOf(entry), 1);
      throw err;
    }
  }

  /**
   * The undo of a step done offline: Kaiban holds nothing of it at the agency (no filing, or ours withdrawn), so an
   * operator undoes it there and marks it undone offline, as for an undo the agency refused.
   */
  async function undoOffline(id: StepId): Promise<void> {
    const entry: CompensationRecord = {
      step: id,
      action: 'undo',
      state: 'incident',
      startedAt: nowIso(),
      attempts: 0,
      error: {
        code: UNDO_OFFLINE,
        message: `${id} was done offline: undo it at the agency, then mark it undone offline with a reason`,
      },
    };
    status.compensations.push(entry);
    log.warn('offline undo: waiting for an operator', { applicationId, step: id });
    const decision = (await undoActionUnless(entry, () => false))!; // only a skip is accepted (the validator refuses a retry)
    entry.error = undefined;
    entry.state = 'skipped';
    entry.finishedAt = nowIso();
    entry.result = 'undone_offline';
    entry.reason = decision.reason;
  }

  /** A step's own filing: its ticket, else its current key and the payload filed under it. */
  function filingOf(id: StepId): WithdrawalTarget {
    const { ticket } = stepStatus(id);
    return ticket ? { ticket } : { key: keyFor(id), payload: buildAgencyPayload(id, application, outputs) };
  }

  /**
   * The step's filing the agency may hold undecided: a ticket without its decision, or (no ticket) a key under which a
   * round was answered or an attempt may have gone unanswered.
   */
  function heldFiling(id: StepId): WithdrawalTarget | undefined {
    const { ticket } = stepStatus(id);
    return (ticket ? decidedFiling(id, ticket) : !keysMaybeHeld.has(keyFor(id))) ? undefined : filingOf(id);
  }

  /** Whether the workflow has the decision of the step's filing (histories from before: of any step's alike ticket). */
  function decidedFiling(id: StepId, ticket: string): boolean {
    return ownStepOr(decided.has(decisionKey(id, ticket)), decidedTickets.has(ticket));
  }

  /**
   * What is known of a step's own filing, or — where that differs from what is known by its ticket alone, in a history
   * from before DECISIONS_OF_THEIR_OWN_STEP — the latter, as it was taken then. The patch is asked only when they differ.
   */
  function ownStepOr<T>(own: T, byTicket: T): T {
    return own === byTicket || patched(DECISIONS_OF_THEIR_OWN_STEP) ? own : byTicket;
  }

  /** `target`: the filing to cancel, fixed by the caller; by default the step's own. */
  async function undoAtAgency(
    id: StepId,
    agency: AgencyId,
    reason: string,
    target?: WithdrawalTarget,
  ): Promise<AgencyOutcome> {
    const filing = target ?? filingOf(id);
    let ticket: string;
    if ('ticket' in filing) ticket = filing.ticket;
    else {
      // The filing may have reached the agency before it was interrupted: file again with the same idempotency key,
      // which returns the agency's record if there is one, then cancel it.
      const { key: idempotencyKey, payload } = filing;
      const procedure = stepDefinition(id).procedure;
      // Only its ticket is wanted: an approval the next steps could not use is still the record to cancel (`toUndo`).
      ticket = (
        await undoing.fileAgencyRequest({
          applicationId,
          step: id,
          agency,
          procedure,
          idempotencyKey,
          payload,
          toUndo: true,
        })
      ).ticket;
    }
    return undoing.cancelAgencyRequest({ applicationId, step: id, agency, ticket, reason });
  }

  /** Undoes every step that reached its agency, dependents first, in parallel where the graph allows. */
  async function compensate(reason: string): Promise<void> {
    const needsUndo = (id: StepId) => {
      const s = stepStatus(id);
      if (stepDefinition(id).agency === null) return false;
      // A refusal waiting for an operator (REFUSAL_IS_INCIDENT): the agency holds its filing as refused, nothing to undo.
      if (s.state === 'incident' && s.error?.code === AGENCY_REJECTED) return false;
      // An incident whose every filing was turned away, with no earlier round answered: the agency holds nothing.
      const unreached = s.state === 'incident' && !s.ticket && !keysMaybeHeld.has(keyFor(id));
      if (unreached && patched(NO_UNDO_OF_UNREACHED_FILING)) return false;
      // A corrected name whose filing was turned away, left `filing` by the license's incident: nothing at the agency.
      const unreachedName =
        s.state === 'filing' && !s.ticket && !keysMaybeHeld.has(keyFor(id)) && keysTurnedAway.has(keyFor(id));
      if (unreachedName && patched(NO_UNDO_OF_UNREACHED_CORRECTED_NAME)) {
        s.state = 'cancelled';
        return false;
      }
      return (
        s.state === 'done' ||
        s.state === 'filing' ||
        s.state === 'pending' ||
        s.state === 'incident' ||
        (s.state === 'cancelled' && s.ticket !== undefined)
      );
    };
    const undone = new Map<StepId, Promise<void>>();
    const undoInOrder = (id: StepId): Promise<void> => {
      let promise = undone.get(id);
      if (!promise) {
        // This step's own filing withdrawn beside the chain (it was done offline) is done before what it needs is undone.
        const running = withdrawalsRunning.get(id);
        const withdrawn = running && patched(UNDO_AFTER_WITHDRAWALS) ? Promise.all(running) : undefined;
        const chain = Promise.all(dependentsOf(id).map(undoInOrder)).then(async () => {
          const s = stepStatus(id);
          if (s.state === 'skipped' && stepDefinition(id).agency !== null && patched(OFFLINE_UNDO_OF_SKIPPED_STEP)) {
            // After the withdrawal: one undo of the step waits for an operator at a time, each action for its own.
            if (withdrawn) await withdrawn;
            return undoOffline(id);
          }
          if (!needsUndo(id)) return;
          await undo(id, s.state === 'done' ? 'undo' : 'cancel', reason);
          s.state = s.state === 'done' ? s.state : 'cancelled';
        });
        promise = withdrawn ? Promise.all([chain, withdrawn]).then(() => undefined) : chain;
        undone.set(id, promise);
      }
      return promise;
    };
    await Promise.all(STEPS.map((s) => undoInOrder(s.id)));
  }

  // ---- run ---------------------------------------------------------------------------------

  let failure: unknown;
  try {
    await graph.run(() => Promise.all(STEPS.map((s) => schedule(s.id))));
  } catch (err) {
    // Kaiban's own fault: the task fails and is retried until a corrected worker takes it (CODE_FAULT_FAILS_TASK).
    if (isCodeFault(err) && patched(CODE_FAULT_FAILS_TASK)) throw err;
    failure = err;
    // The first failure cancels whatever else is still in flight.
    graph.cancel();
  }

  if (failure === undefined && !ending) {
    collectResults(status, outputs);
    status.status = 'completed';
    status.finishedAt = nowIso();
    syncVisibility();
    log.info('application completed', { applicationId });
    await sla.finish();
    // Completed for the applicant and the SLA; open in Temporal until a skipped step's stray filing is withdrawn.
    await Promise.all(withdrawals);
    return status;
  }

  let finalState: ApplicationState;
  if (ending) {
    finalState = ending.kind;
    status.outcome = { reason: ending.reason, by: ending.by };
  } else if (failure instanceof StepRejected) {
    finalState = 'rejected';
    status.outcome = {
      reason: failure.message,
      by: { subject: stepDefinition(failure.step).agency ?? 'kaiban', role: 'agency' },
      step: failure.step,
    };
  } else if (failure instanceof ReviewRejected) {
    finalState = 'rejected';
    status.outcome = { reason: failure.reason, by: failure.by, step: 'license' };
  } else {
    finalState = 'aborted';
    status.outcome = { reason: describe(failure), by: SYSTEM };
  }
  for (const s of status.steps)
    if (s.state === 'waiting' || s.state === 'review' || s.state === 'correction') s.state = 'cancelled';
  if (status.review?.state === 'pending' || status.review?.state === 'correction_requested')
    status.review.state = 'cancelled';
  // Nothing waits for a person any more, but a done-offline step's withdrawal the agency refused (an undo incident).
  status.pendingTasks = status.pendingTasks.filter((task) =>
    status.compensations.some((c) => c.state === 'incident' && task === `incident:${c.step}`),
  );
  status.status = 'compensating';
  syncVisibility();
  await CancellationScope.nonCancellable(() =>
    compensate(`application ${finalState}: ${status.outcome?.reason ?? ''}`),
  );
  for (const s of status.steps)
    if (s.state === 'filing' || s.state === 'pending' || s.state === 'incident') s.state = 'cancelled';
  status.status = finalState;
  status.finishedAt = nowIso();
  syncVisibility();
  log.warn('application ended without success', { applicationId, status: finalState });
  const endOfApplication = async (): Promise<ApplicationStatus> => {
    await sla.finish();
    await Promise.all(withdrawals);
    return status;
  };
  // Cancelled in Temporal: what is left is done all the same (ENDS_AFTER_TEMPORAL_CANCEL).
  if (CancellationScope.current().consideredCancelled && patched(ENDS_AFTER_TEMPORAL_CANCEL)) {
    return CancellationScope.nonCancellable(endOfApplication);
  }
  return endOfApplication();
}

/** The parts of an application the workflow reads; the full schema is the API's (domain/application.ts). */
function isApplicationShaped(value: unknown): value is Application {
  const company = (value as Partial<Application> | undefined)?.company;
  return (
    typeof company?.name === 'string' &&
    company.name.trim().length > 0 &&
    typeof company.district === 'string' &&
    typeof (value as Application).people === 'object' &&
    (value as Application).people !== null
  );
}

/**
 * Whether an error that ended the step graph is a fault of this code (a TypeError, a RangeError, an invariant's Error):
 * neither Temporal's failures (an activity's, a cancellation) nor the application's own ends (a refusal, a rejection
 * in review, a silent agency).
 */
function isCodeFault(err: unknown): boolean {
  return !(
    err instanceof TemporalFailure ||
    err instanceof StepRejected ||
    err instanceof ReviewRejected ||
    err instanceof AgencySilent
  );
}

function describe(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return describe(err.cause);
  if (err instanceof ApplicationFailure) return `${err.type ?? 'Error'}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

function collectResults(status: ApplicationStatus, outputs: StepOutputs): void {
  const license = outputs.license ?? {};
  const seal = outputs.seal ?? {};
  status.results = {
    uscc: license.uscc as string | undefined,
    licenseNumber: license.licenseNumber as string | undefined,
    eLicenseUrl: license.eLicenseUrl as string | undefined,
    seals: seal.seals,
    electronicSealIds: seal.electronicSealIds,
    tax: outputs.tax,
    socialSecurityNumber: outputs.social?.employerSocialSecurityNumber as string | undefined,
    fundAccountNumber: outputs.fund?.fundAccountNumber as string | undefined,
    bankAppointment: outputs.bank,
    // Only a sealed one: an archive step marked done offline by code from before it was refused (ARCHIVE_NOT_OFFLINE,
    // now ARCHIVE_TOLD_OFFLINE) has none.
    dossier:
      typeof outputs.archive?.dossierId === 'string' && typeof outputs.archive.digest === 'string'
        ? (outputs.archive as ApplicationStatus['results']['dossier'])
        : undefined,
  };
}
