/**
 * One application for the start of a new business, from acceptance to archive.
 *
 * The step graph comes from domain/steps: a step starts as soon as the steps it needs are done,
 * so seal, tax, social and fund run in parallel after the license. Each agency step files a
 * request, then waits durably for the agency's decision: the callback arrives as a signal, and a
 * polling timer (with backoff) recovers a lost callback.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { Activities, AgencyOutcome, WorkflowSettings } from '../activities';
import type { Application } from '../domain/application';
import { buildAgencyPayload, filingKey, type StepOutputs } from '../domain/agency-requests';
import type { ApplicationStatus, StepStatus } from '../domain/status';
import { STEPS, stepDefinition, type StepId } from '../domain/steps';
import { agencyDecisionSignal, statusQuery, type AgencyDecision } from './messages';

export interface BusinessStartupInput {
  applicationId: string;
  application: Application;
  submittedAt: string;
}

const { acceptApplication } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

/** The agency said no. Carries the agency's reason; ends the application as rejected. */
class StepRejected extends Error {
  constructor(
    readonly step: StepId,
    readonly reason: AgencyOutcome['reason'],
  ) {
    super(`${step} rejected: ${reason?.code ?? 'no reason given'}`);
  }
}

function nowIso(): string {
  // Workflow time: deterministic, taken from the workflow task, safe on replay.
  return new Date().toISOString();
}

export async function businessStartup(input: BusinessStartupInput): Promise<ApplicationStatus> {
  const { applicationId, application } = input;
  const status: ApplicationStatus = {
    id: applicationId,
    status: 'running',
    company: { name: application.company.name, district: application.company.district },
    submittedAt: input.submittedAt,
    steps: STEPS.map(
      (s): StepStatus => ({ id: s.id, agency: s.agency, title: s.title, needs: [...s.needs], state: 'waiting', attempts: 0 }),
    ),
    results: {},
    compensations: [],
  };
  const stepStatus = (id: StepId) => status.steps.find((s) => s.id === id)!;
  const outputs: StepOutputs = {};
  /** Decisions that arrived by callback, by ticket (a callback may overtake the filing's result). */
  const decisions = new Map<string, AgencyDecision>();

  setHandler(statusQuery, () => status);
  setHandler(agencyDecisionSignal, (decision) => {
    if (decision.status !== 'pending') decisions.set(decision.ticket, decision);
  });

  const accepted = await acceptApplication({ applicationId });
  status.acceptedAt = accepted.acceptedAt;
  const settings: WorkflowSettings = accepted.settings;

  const agencyActivities = proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
      maximumAttempts: settings.agencyMaxAttempts,
      nonRetryableErrorTypes: ['AgencyRequestInvalid'],
    },
  });

  async function awaitDecision(step: StepId, agency: NonNullable<StepStatus['agency']>, ticket: string): Promise<AgencyOutcome | AgencyDecision> {
    let delay = settings.pollInitialMs;
    for (;;) {
      if (await condition(() => decisions.has(ticket), delay)) {
        stepStatus(step).decidedVia = 'callback';
        return decisions.get(ticket)!;
      }
      const polled = await agencyActivities.pollAgencyRequest({ agency, ticket });
      if (polled.status !== 'pending') {
        stepStatus(step).decidedVia = 'poll';
        return polled;
      }
      delay = Math.min(delay * 2, settings.pollMaxMs);
    }
  }

  async function runAgencyStep(id: StepId): Promise<Record<string, unknown>> {
    const def = stepDefinition(id);
    const step = stepStatus(id);
    const agency = def.agency!;
    step.state = 'filing';
    const filed = await agencyActivities.fileAgencyRequest({
      applicationId,
      step: id,
      agency,
      procedure: def.procedure,
      idempotencyKey: filingKey(applicationId, id),
      payload: buildAgencyPayload(id, application, outputs),
    });
    step.attempts = filed.attempt;
    step.ticket = filed.ticket;
    step.state = 'pending';
    const decision = filed.status === 'pending' ? await awaitDecision(id, agency, filed.ticket) : filed;
    if (decision.status !== 'approved') throw new StepRejected(id, decision.reason);
    return decision.result ?? {};
  }

  async function runStep(id: StepId): Promise<void> {
    const step = stepStatus(id);
    step.startedAt = nowIso();
    try {
      const output =
        id === 'archive'
          ? { ...(await agencyActivities.archiveDossier({ applicationId, outputs })) }
          : await runAgencyStep(id);
      if (id === 'archive') step.attempts = 1;
      outputs[id] = output;
      step.output = output;
      step.state = 'done';
      step.finishedAt = nowIso();
    } catch (err) {
      step.finishedAt = nowIso();
      if (err instanceof StepRejected) {
        step.state = 'rejected';
        step.error = {
          code: 'AGENCY_REJECTED',
          message: err.reason?.message_en ?? err.message,
          ...(err.reason ? { reason: err.reason } : {}),
        };
      } else if (isCancellation(err)) {
        step.state = 'cancelled';
      } else {
        step.state = 'incident';
        step.error = { code: 'STEP_FAILED', message: describe(err) };
      }
      throw err;
    }
  }

  // Each step's promise starts when the promises of the steps it needs resolve.
  const started = new Map<StepId, Promise<void>>();
  const schedule = (id: StepId): Promise<void> => {
    let promise = started.get(id);
    if (!promise) {
      const def = stepDefinition(id);
      promise = Promise.all(def.needs.map(schedule)).then(() => runStep(id));
      started.set(id, promise);
    }
    return promise;
  };

  const graph = new CancellationScope();
  try {
    await graph.run(async () => {
      const all = STEPS.map((s) => schedule(s.id));
      // The first failure cancels whatever else is still in flight.
      await Promise.all(all).catch((err) => {
        graph.cancel();
        throw err;
      });
    });
  } catch (err) {
    if (err instanceof StepRejected) {
      status.status = 'rejected';
      status.outcome = { reason: err.message, by: `agency:${stepDefinition(err.step).agency}`, step: err.step };
    } else {
      status.status = 'aborted';
      status.outcome = { reason: describe(err), by: 'system' };
    }
    for (const s of status.steps) if (s.state === 'waiting') s.state = 'cancelled';
    status.finishedAt = nowIso();
    log.warn('application ended without success', { applicationId, status: status.status });
    return status;
  }

  collectResults(status, outputs);
  status.status = 'completed';
  status.finishedAt = nowIso();
  log.info('application completed', { applicationId });
  return status;
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
    dossier: outputs.archive as ApplicationStatus['results']['dossier'],
  };
}
