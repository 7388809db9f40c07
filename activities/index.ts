/**
 * Everything with side effects that the workflow needs, built by a factory that receives its
 * collaborators (agency adapter, settings, logger), so tests pass real or fake ones without mocking.
 */
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import {
  AgencyRequestError,
  AgencyUnavailableError,
  type AgencyClient,
  type AgencyRecord,
} from '../adapters/agency-client';
import {
  NotificationRefusedError,
  NotificationUnavailableError,
  type ApplicantNotification,
  type NotificationClient,
  type NotificationReceipt,
} from '../adapters/notification-client';
import { approvedResultProblems, describeProblems } from '../domain/agency-answers';
import type { FilingFailureDetails, StepOutputs } from '../domain/agency-requests';
import type { Application } from '../domain/application';
import { canonicalJson } from '../domain/canonical-json';
import type { AuditEntry, ReviewStatus } from '../domain/status';
import type { AgencyId, StepId } from '../domain/steps';
import { createSlaActivities, defaultSlaDeps, type SlaActivityDeps, type SlaPlan } from './sla';

/** Settings that can change between deployments; they reach a workflow through an activity result. */
export interface WorkflowSettings {
  pollInitialMs: number;
  /** The agency adapter's timeout for one HTTP call: an agency activity attempt is given this plus a margin. */
  agencyCallTimeoutMs: number;
  pollMaxMs: number;
  agencyMaxAttempts: number;
  /** The longest wait between two attempts of an agency call (1 s doubling up to this). Absent in histories before it existed: 1 min. */
  agencyRetryMaxIntervalMs?: number;
  /**
   * Polls of a pending filing that may fail in a row (each after its retries) while the step keeps waiting for the
   * agency's callback, before the step becomes an incident. Absent in histories before it existed: 1 (the first).
   */
  pollFailuresBeforeIncident?: number;
  /**
   * How long a filing may wait for its agency's decision before the step becomes an incident (`AGENCY_SILENT`):
   * polling stops, the callback is still taken. Absent in histories before it existed: polled for ever.
   */
  agencySilenceMs?: number;
  /**
   * Attempts of an undo at its agency (backing off to 5 minutes) before it becomes an incident an operator sees, while
   * Kaiban goes on retrying it every half hour. Absent in histories before it existed: retried without limit, unseen.
   */
  undoAttemptsBeforeIncident?: number;
  /**
   * Events an application's history may hold before polls stop and undos wait for an operator alone (Temporal keeps at
   * most 51,200). Absent in histories before it existed: 20,000.
   */
  historyEventBudget?: number;
  /** Whether the Temporal namespace has Kaiban's custom search attributes registered. */
  searchAttributes: boolean;
  /** The edition of the automatic review's reference data (domain/review-rules.ts). Absent in older histories: the first. */
  reviewRules?: string;
}

export interface ActivityDeps {
  agencies: AgencyClient;
  settings: WorkflowSettings;
  /** Base URL agencies call back: `${callbackBaseUrl}/v1/agency-callbacks/<agency>`. */
  callbackBaseUrl: string;
  logger: Logger;
  now?: () => Date;
  /** SLA budgets, calendar and alert channels (./sla.ts); the PRODUCT.md defaults, log channel only, when absent. */
  sla?: SlaActivityDeps;
  /** The message platform the archive step notifies the applicant through; none: the status alone tells them. */
  notifications?: NotificationClient;
}

export interface AcceptedApplication {
  /** When the workflow took the application up (a worker ran this activity). */
  acceptedAt: string;
  settings: WorkflowSettings;
  /**
   * The SLA clocks' calendar, budgets and channels from the clock start on (one activity, not two). The clock starts
   * at submission — when the API answered 202 — not at `acceptedAt`: a backlog of workers is the government's time.
   */
  sla: SlaPlan;
}

/** What the workflow hands the acceptance: its id and the API's submission instant (absent in older workflows). */
export interface AcceptApplicationInput {
  applicationId: string;
  submittedAt?: string;
}

/**
 * The SLA clock's start: the submission instant, or now when there is none or it lies ahead of this host's clock (the
 * API's and the worker's clocks may differ by a little; a clock never starts in the future).
 */
export function clockStartOf(submittedAt: string | undefined, now: Date): Date {
  const submitted = submittedAt === undefined ? Number.NaN : Date.parse(submittedAt);
  return Number.isFinite(submitted) && submitted <= now.getTime() ? new Date(submitted) : now;
}

export interface FileAgencyRequestInput {
  applicationId: string;
  step: StepId;
  agency: AgencyId;
  procedure: string;
  idempotencyKey: string;
  payload: Record<string, unknown>;
  /**
   * Filed again only to learn the ticket of a filing to cancel: an approval is taken whatever its result holds (the
   * record is to be undone, not built on).
   */
  toUndo?: boolean;
}

export type AgencyOutcome = AgencyRecord & { attempt: number };

export interface Dossier {
  dossierId: string;
  /** sha256 of the canonical JSON of the dossier's document (DossierInput): what it seals, named in `covers`. */
  digest: string;
  archivedAt: string;
  /** The parts of the document the digest covers (absent before: the steps' outputs alone). */
  covers?: string[];
  /**
   * The message platform took the notification to the applicant (PRODUCT.md: the archive step notifies them): its id
   * and when. Absent when no platform is configured (APPLICANT_NOTIFY_URL), when an operator told the applicant
   * otherwise (`notify: false`), or when the workflow that scheduled the archive predates the materials in its input
   * (nobody to notify).
   */
  applicantNotified?: NotificationReceipt;
  /** The platform refused the notification itself (a mobile number it cannot send to): why, scrubbed. */
  notificationRefused?: string;
  /**
   * The activity's attempt that sealed it (1 on the first): the workflow counts it in the step's attempts and keeps it
   * out of the step's output. Absent in results recorded before it: counted as one.
   */
  attempt?: number;
}

/**
 * The electronic dossier of an application (存档零纸件): the materials as corrected, the review, each step's state and
 * agency ticket, the outputs and the audit trail. The document itself is kept in the workflow's history (this
 * activity's input, encrypted by the payload codec); the digest seals it.
 */
export interface DossierInput {
  applicationId: string;
  outputs: StepOutputs;
  /** Absent when scheduled by workflow code from before the dossier covered them. */
  application?: Application;
  review?: ReviewStatus;
  steps?: { id: StepId; state: string; ticket?: string; finishedAt?: string }[];
  audit?: AuditEntry[];
  /** false: seal without notifying (an operator told the applicant otherwise: the workflow's ARCHIVE_TOLD_OFFLINE). */
  notify?: boolean;
}

const DOSSIER_PARTS = ['application', 'review', 'steps', 'outputs', 'audit'] as const;

/** What the applicant is told once everything is done: the codes they start trading with, and the sealed dossier. */
export function applicantNotification(
  applicationId: string,
  application: Application,
  outputs: StepOutputs,
  dossier: Pick<Dossier, 'dossierId'>,
): ApplicantNotification {
  const license: Record<string, unknown> = outputs.license ?? {};
  const results: ApplicantNotification['results'] = Object.fromEntries(
    (['uscc', 'licenseNumber', 'eLicenseUrl'] as const).flatMap((k) =>
      typeof license[k] === 'string' ? [[k, license[k]]] : [],
    ),
  );
  const { applicant, company } = application;
  const code = results.uscc ? `统一社会信用代码 ${results.uscc}` : '营业执照已线下办理';
  return {
    notificationId: `NTF-${applicationId}`,
    applicationId,
    event: 'business-started',
    to: { name: applicant.name, phone: applicant.phone, ...(applicant.email ? { email: applicant.email } : {}) },
    message: {
      zh: `${applicant.name}，您申办的“${company.name}”已全部办结（${code}），电子档案 ${dossier.dossierId}。`,
      en: `${company.name} is started: every procedure is done${results.uscc ? ` (USCC ${results.uscc})` : ''}; electronic dossier ${dossier.dossierId}.`,
    },
    results,
    dossier: { dossierId: dossier.dossierId },
  };
}

/** `outcomeUnknown`: for a filing, whether an earlier attempt may have been carried out unanswered. */
function refusal(err: unknown, outcomeUnknown?: boolean): never {
  if (err instanceof AgencyRequestError) {
    // The agency refused the request itself: a bug or a contract change, not a passing fault.
    throw ApplicationFailure.nonRetryable(err.message, 'AgencyRequestInvalid', {
      httpStatus: err.httpStatus,
      ...(outcomeUnknown !== undefined ? { outcomeUnknown } : {}),
    });
  }
  if (err instanceof AgencyUnavailableError) throw unavailable(err, err);
  throw err;
}

/** A retryable failure for an agency that did not answer, after the delay it asked for (`Retry-After`) if any. */
function unavailable(err: AgencyUnavailableError, details: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    message: err.message,
    type: err.name,
    details: [details],
    ...(err.retryAfterMs !== undefined ? { nextRetryDelay: err.retryAfterMs } : {}),
  });
}

/**
 * An approval whose result lacks what the following steps need (a license without a valid USCC) is no decision: the
 * agency's answer is wrong, and the next attempt asks again.
 */
function checkApproval(step: StepId | undefined, record: AgencyRecord): AgencyRecord {
  if (step === undefined || record.status !== 'approved') return record;
  const problems = approvedResultProblems(step, record.result);
  if (problems.length > 0) {
    throw new AgencyUnavailableError(
      `the agency approved ${step} (ticket ${record.ticket}) without what the next steps need: ${describeProblems(problems)}`,
      true,
    );
  }
  return record;
}

/** What an undone record may be: withdrawn, or never live (a rejection has nothing to undo). */
const UNDONE = new Set<AgencyRecord['status']>(['cancelled', 'revoked', 'rejected']);

export function createActivities(deps: ActivityDeps) {
  const now = deps.now ?? (() => new Date());
  const sla = createSlaActivities(deps.sla ?? defaultSlaDeps(deps.logger));

  return {
    async acceptApplication(input: AcceptApplicationInput): Promise<AcceptedApplication> {
      const accepted = now();
      const acceptedAt = accepted.toISOString();
      const clockStartedAt = clockStartOf(input.submittedAt, accepted).toISOString();
      deps.logger.info({ applicationId: input.applicationId, acceptedAt, clockStartedAt }, 'application accepted');
      const plan = await sla.computeDeadlines({ applicationId: input.applicationId, clockStartedAt });
      return { acceptedAt, settings: deps.settings, sla: plan };
    },

    async fileAgencyRequest(input: FileAgencyRequestInput): Promise<AgencyOutcome> {
      const { attempt, heartbeatDetails } = Context.current().info;
      // Whether an earlier attempt may have been carried out unanswered. Each failed attempt reports it in its heartbeat
      // details, which reach the next attempt; a previous attempt that did not report (its worker died mid-call, it
      // timed out) may have reached the agency.
      const reported = heartbeatDetails as Partial<FilingFailureDetails> | undefined;
      const earlierUnknown = attempt > 1 && (reported?.attempt !== attempt - 1 || reported.outcomeUnknown !== false);
      const record = await deps.agencies
        .file({
          agency: input.agency,
          procedure: input.procedure,
          idempotencyKey: input.idempotencyKey,
          reference: { applicationId: input.applicationId, step: input.step },
          callbackUrl: `${deps.callbackBaseUrl}/v1/agency-callbacks/${input.agency}`,
          payload: input.payload,
        })
        .then((answer) => (input.toUndo ? answer : checkApproval(input.step, answer)))
        .catch((err: unknown) => {
          if (!(err instanceof AgencyUnavailableError)) refusal(err, earlierUnknown);
          // For the next attempt, and for the workflow, which reads the last attempt's details when the retries run
          // out: is there a filing to withdraw? (A heartbeat on failures only: none on the usual path.)
          const details: FilingFailureDetails = { outcomeUnknown: earlierUnknown || err.outcomeUnknown, attempt };
          Context.current().heartbeat(details);
          throw unavailable(err, details);
        });
      deps.logger.info(
        { applicationId: input.applicationId, step: input.step, ticket: record.ticket, status: record.status, attempt },
        'agency request filed',
      );
      return { ...record, attempt };
    },

    /** `step`: the step the ticket is for, to check an approval's result (absent in polls scheduled before it was sent). */
    async pollAgencyRequest(input: { agency: AgencyId; ticket: string; step?: StepId }): Promise<AgencyOutcome> {
      const record = await deps.agencies
        .get(input.agency, input.ticket)
        .then((answer) => checkApproval(input.step, answer))
        .catch(refusal);
      return { ...record, attempt: Context.current().info.attempt };
    },

    async cancelAgencyRequest(input: {
      applicationId: string;
      step: StepId;
      agency: AgencyId;
      ticket: string;
      reason: string;
    }): Promise<AgencyOutcome> {
      const { attempt } = Context.current().info;
      const record = await deps.agencies
        .cancel(input.agency, input.ticket, input.reason)
        .then((answer) => {
          // A record still live after its cancellation was not undone, whatever the answer's HTTP status said.
          if (!UNDONE.has(answer.status)) {
            throw new AgencyUnavailableError(
              `the agency answered the cancellation of ${input.ticket} with a record still ${answer.status}`,
              true,
            );
          }
          return answer;
        })
        .catch(refusal);
      deps.logger.info(
        { applicationId: input.applicationId, step: input.step, ticket: input.ticket, status: record.status, attempt },
        'agency request undone',
      );
      return { ...record, attempt };
    },

    async archiveDossier(input: DossierInput): Promise<Dossier> {
      // Which attempt sealed it: the workflow counts the step's attempts by it.
      const { attempt } = Context.current().info;
      const covers = DOSSIER_PARTS.filter((part) => input[part] !== undefined);
      const document = Object.fromEntries([
        ['applicationId', input.applicationId],
        ...covers.map((part) => [part, input[part]]),
      ]);
      const digest = createHash('sha256').update(canonicalJson(document)).digest('hex');
      const dossier: Dossier = {
        dossierId: `DOS-${input.applicationId}`,
        digest: `sha256:${digest}`,
        archivedAt: now().toISOString(),
        covers,
      };
      deps.logger.info(
        { applicationId: input.applicationId, dossierId: dossier.dossierId, covers },
        'dossier archived',
      );
      if (!deps.notifications || input.notify === false) return { ...dossier, attempt };
      if (!input.application) {
        // Scheduled by workflow code from before the dossier held the materials: nobody to address. Said, not silent.
        deps.logger.warn(
          { applicationId: input.applicationId, dossierId: dossier.dossierId },
          'the applicant is not notified: this archive was scheduled without the materials (older workflow code)',
        );
        return { ...dossier, attempt };
      }
      const notification = applicantNotification(input.applicationId, input.application, input.outputs, dossier);
      let receipt: NotificationReceipt;
      try {
        receipt = await deps.notifications.notify(notification);
      } catch (err) {
        if (err instanceof NotificationRefusedError) {
          // Sending it again changes nothing: the dossier is sealed, and says so (an operator tells the applicant).
          deps.logger.error({ applicationId: input.applicationId, err }, 'the applicant could not be notified');
          return { ...dossier, notificationRefused: err.message, attempt };
        }
        if (err instanceof NotificationUnavailableError) throw ApplicationFailure.retryable(err.message, err.name);
        throw err;
      }
      deps.logger.info(
        { applicationId: input.applicationId, notificationId: receipt.notificationId },
        'applicant notified',
      );
      return { ...dossier, applicantNotified: receipt, attempt };
    },

    ...sla,
  };
}

export type Activities = ReturnType<typeof createActivities>;
