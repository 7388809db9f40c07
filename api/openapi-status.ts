/**
 * JSON Schema (OpenAPI 3.1) of what `GET /v1/applications/:id` answers: domain/status.ts's ApplicationStatus with its
 * SLA (domain/sla.ts). The enums come from the same constants as the code; test/e2e.test.ts and
 * test/compensation.test.ts validate real answers against it, so a field the code adds or renames without the
 * document fails there. Objects stay open (`additionalProperties` allowed) where the code documents a shape but
 * agencies or later versions may add to it: step outputs and results.
 */
import { AGENCY_IDS, STEP_IDS } from '../domain/steps';
import { COUNTING_RULES, SLA_LEVELS, SLA_SCOPES } from '../domain/sla';
import {
  APPLICATION_STATES,
  COMPENSATION_STATES,
  ENDED_IN_TEMPORAL_STATES,
  REVIEW_STATES,
  STEP_STATES,
} from '../domain/status';

const string = { type: 'string' } as const;
const instant = { type: 'string', format: 'date-time' } as const;
const integer = { type: 'integer' } as const;
const number = { type: 'number' } as const;
const stepId = { type: 'string', enum: [...STEP_IDS] } as const;
const bilingual = {
  type: 'object',
  required: ['zh', 'en'],
  properties: { zh: string, en: string },
  additionalProperties: false,
} as const;
const actor = {
  type: 'object',
  required: ['subject', 'role'],
  properties: { subject: string, role: { type: 'string', enum: ['applicant', 'operator', 'supervisor', 'system'] } },
  additionalProperties: false,
} as const;
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** A closed object: every property documented, the listed ones required. */
function object(properties: Record<string, unknown>, required: string[] = [], description?: string) {
  return { type: 'object', required, properties, additionalProperties: false, ...(description ? { description } : {}) };
}

export const STATUS_SCHEMAS = {
  SlaScopeStatus: object(
    {
      scope: { type: 'string', enum: [...SLA_SCOPES] },
      statutoryLimit: {
        type: 'object',
        required: ['kind', 'label'],
        properties: {
          kind: { type: 'string', enum: ['immediate', 'working_days', 'days', 'none'] },
          value: number,
          label: string,
          basis: string,
        },
        additionalProperties: false,
      },
      committedBudget: object({ hours: number, workingMs: number }, ['hours', 'workingMs']),
      countingRule: { type: 'string', enum: [...COUNTING_RULES] },
      clock: { type: 'string', enum: ['not_started', 'running', 'paused', 'stopped'] },
      startedAt: instant,
      stoppedAt: instant,
      elapsedWorkingMs: number,
      pausedWorkingMs: number,
      consumedFraction: number,
      level: { type: 'string', enum: [...SLA_LEVELS] },
      warningAt: { ...instant, description: '75 % of the budget (while paused: if resumed now)' },
      dueAt: { ...instant, description: '100 % of the budget' },
      deadlineYearMissing: {
        type: 'integer',
        description:
          'warningAt and dueAt fall in a year whose official schedule is not deployed yet: left out until it is (the other figures stand)',
      },
    },
    [
      'scope',
      'statutoryLimit',
      'committedBudget',
      'countingRule',
      'clock',
      'elapsedWorkingMs',
      'pausedWorkingMs',
      'consumedFraction',
      'level',
    ],
    'One clock (the application or a step). Instants in Asia/Shanghai (+08:00).',
  ),
  ApplicationSla: object(
    {
      state: { type: 'string', enum: ['starting', 'running', 'paused', 'stopped'] },
      asOf: instant,
      countingRule: { type: 'string', enum: [...COUNTING_RULES] },
      officeHours: { type: 'array', items: object({ start: string, end: string }, ['start', 'end']) },
      calendarYears: { type: 'array', items: integer },
      missingCalendarYear: { ...integer, description: 'A year the calendar data lacks: deadlines wait for it' },
      application: ref('SlaScopeStatus'),
      paused: object(
        {
          now: { type: 'boolean' },
          totalWorkingMs: number,
          totalMs: number,
          intervals: {
            type: 'array',
            items: object({ from: instant, to: instant, reason: string, workingMs: number }, [
              'from',
              'reason',
              'workingMs',
            ]),
          },
        },
        ['now', 'totalWorkingMs', 'totalMs', 'intervals'],
      ),
      alerts: {
        type: 'array',
        items: object(
          {
            type: { type: 'string', enum: ['sla.warning', 'sla.breached'] },
            alertId: string,
            applicationId: string,
            scope: { type: 'string', enum: [...SLA_SCOPES] },
            level: { type: 'string', enum: ['warning', 'breached'] },
            deadline: instant,
            thresholdAt: instant,
            consumedFraction: number,
            committedHours: number,
            at: instant,
            deliveries: {
              type: 'array',
              items: object(
                {
                  channel: { ...string, description: 'log, or webhook:<id>' },
                  state: { type: 'string', enum: ['pending', 'delivered', 'dropped'] },
                  attempts: integer,
                  deliveredAt: instant,
                  error: string,
                },
                ['channel', 'state'],
              ),
            },
          },
          ['type', 'alertId', 'applicationId', 'scope', 'level', 'deadline', 'thresholdAt', 'at', 'deliveries'],
        ),
      },
      error: string,
    },
    ['state', 'asOf', 'paused', 'alerts'],
    'The one-working-day SLA of the application (each step has its own clock in steps[].sla)',
  ),
  StepStatus: object(
    {
      id: stepId,
      agency: { type: ['string', 'null'], enum: [...AGENCY_IDS, null] },
      title: bilingual,
      needs: { type: 'array', items: stepId },
      state: { type: 'string', enum: [...STEP_STATES] },
      startedAt: instant,
      finishedAt: instant,
      attempts: { ...integer, description: 'Attempts to file with the agency' },
      ticket: { ...string, description: "The agency's ticket" },
      output: { type: 'object', description: "What the agency issued (the step's result)" },
      error: object(
        {
          code: string,
          message: string,
          reason: object({ code: string, message_zh: string, message_en: string }, ['code']),
        },
        ['code', 'message'],
        "Why the step is an incident or was rejected: AGENCY_REJECTED (with the agency's reason) rejects the " +
          'application for the registration, leaves the name `rejected` while an operator reviews it (finding ' +
          'NAME_REFUSED), and is an incident for a later step; STEP_INCIDENT (its attempts ran out), AGENCY_SILENT. ' +
          'A step an operator marked done offline (skipped) from an incident keeps it: what made it be done offline',
      ),
      decidedVia: { type: 'string', enum: ['callback', 'poll'] },
      waitingSince: {
        ...instant,
        description:
          "While the step waits for its agency's decision: since when. An operator may retry it (ask the agency again now) or skip it (done offline, our filing withdrawn) meanwhile, as on an incident",
      },
      sla: ref('SlaScopeStatus'),
    },
    ['id', 'agency', 'title', 'needs', 'state', 'attempts'],
  ),
  CompensationRecord: object(
    {
      step: stepId,
      action: { type: 'string', enum: ['undo', 'cancel'] },
      state: {
        type: 'string',
        enum: [...COMPENSATION_STATES],
        description:
          'incident: the agency refused the undo itself, or the undo failed all its attempts ' +
          '(AGENCY_UNDO_ATTEMPTS_BEFORE_INCIDENT), and an operator decides (…/steps/:step/retry or /skip); an undo that ' +
          'failed its attempts is also tried again by Kaiban every half hour. skipped: undone offline',
      },
      startedAt: instant,
      finishedAt: instant,
      attempts: integer,
      result: { ...string, description: "The agency record's status after the undo, or undone_offline" },
      error: object({ code: string, message: string }, ['code', 'message']),
      reason: { ...string, description: "The operator's reason for undone offline" },
    },
    ['step', 'action', 'state', 'startedAt', 'attempts'],
    'An undo at an agency: of each step that reached its agency, when the application ends without success; or of ' +
      'our own filing for a step an operator marked done offline (action cancel), which may still be running after ' +
      'the application completed (it stays open in Temporal until the agency has cancelled it)',
  ),
  ReviewStatus: object(
    {
      decision: { type: 'string', enum: ['auto_approve', 'manual_review'] },
      findings: {
        type: 'array',
        items: object({ code: string, path: string, reason: bilingual }, ['code', 'path', 'reason']),
      },
      state: {
        type: 'string',
        enum: [...REVIEW_STATES],
        description: 'cancelled: the application ended while the review or correction was open',
      },
      decidedBy: actor,
      decidedAt: instant,
      reason: string,
      correction: object(
        { message: string, fields: { type: 'array', items: string }, requestedAt: instant, answeredAt: instant },
        ['message', 'fields', 'requestedAt'],
      ),
    },
    ['decision', 'findings', 'state'],
  ),
  ApplicationStatus: object(
    {
      id: string,
      status: { type: 'string', enum: [...APPLICATION_STATES] },
      company: object({ name: string, district: string }, ['name', 'district']),
      submittedAt: {
        ...instant,
        description: 'When the API accepted the application (202): the start of its SLA clock',
      },
      acceptedAt: { ...instant, description: 'When a worker took the application up' },
      finishedAt: instant,
      steps: { type: 'array', items: ref('StepStatus') },
      results: {
        type: 'object',
        description:
          'What the completed application produced (license, seals, tax, social security, fund, bank, dossier)',
        properties: {
          uscc: string,
          licenseNumber: string,
          eLicenseUrl: string,
          seals: {
            type: 'array',
            description: "The public security bureau's seal filings, as the agency returned them",
            items: { type: 'object', properties: { type: string, recordId: string } },
          },
          electronicSealIds: { type: 'array', items: string, description: 'Electronic seals, when applied for' },
          tax: {
            type: 'object',
            description: "The tax bureau's answer, as the agency returned it",
            properties: {
              taxpayerId: string,
              taxRecordId: string,
              invoiceApproval: {
                type: 'object',
                properties: {
                  types: { type: 'array', items: string },
                  monthlyQuota: { type: 'integer' },
                  maxAmountCny: { type: 'number' },
                },
              },
              taxUkeyIssued: { type: 'boolean' },
            },
          },
          socialSecurityNumber: string,
          fundAccountNumber: string,
          bankAppointment: {
            type: 'object',
            description: "The bank's account-opening appointment, as the bank returned it",
            properties: {
              appointmentRef: string,
              bank: string,
              branch: string,
              slot: { type: 'object', properties: { date: string, time: string } },
            },
          },
          dossier: object(
            {
              dossierId: string,
              digest: string,
              archivedAt: instant,
              covers: {
                type: 'array',
                items: { type: 'string', enum: ['application', 'review', 'steps', 'outputs', 'audit'] },
                description:
                  'What the digest seals: the materials as corrected, the review, each step and its ticket, the outputs, the audit trail (absent in dossiers sealed before: the outputs alone)',
              },
              applicantNotified: object(
                { notificationId: string, acceptedAt: instant },
                ['notificationId', 'acceptedAt'],
                "The message platform's receipt of the notification to the applicant (APPLICANT_NOTIFY_URL); absent when none is configured, when it refused the notification, or for an application whose workflow predates the notification",
              ),
              notificationRefused: {
                ...string,
                description:
                  'The message platform refused the notification itself (a mobile number it cannot send to): its answer, scrubbed. The dossier is sealed all the same; an operator tells the applicant',
              },
              applicantToldOffline: object(
                { reason: string },
                ['reason'],
                "An operator ended the archive step's incident (the message platform would not take the notification) by telling the applicant otherwise: the dossier sealed without notifying, and the operator's reason",
              ),
            },
            ['dossierId', 'digest'],
          ),
        },
      },
      compensations: { type: 'array', items: ref('CompensationRecord') },
      review: ref('ReviewStatus'),
      pendingTasks: { type: 'array', items: string, description: 'review, correction, incident:<step>' },
      audit: {
        type: 'array',
        items: object(
          {
            at: instant,
            actionId: string,
            action: string,
            by: actor,
            reason: string,
            step: stepId,
            inputHash: { type: 'string', description: 'Digest of the request, when it came with an Idempotency-Key' },
            detail: {
              type: 'object',
              description:
                'answer_correction: { changed, unrequested } — the field paths the correction changed, and those of them outside the fields the operator asked for (names only, no values)',
            },
          },
          ['at', 'actionId', 'action', 'by'],
        ),
      },
      outcome: object(
        {
          reason: string,
          by: object(
            {
              subject: string,
              role: { type: 'string', enum: ['applicant', 'operator', 'supervisor', 'system', 'agency'] },
            },
            ['subject', 'role'],
          ),
          step: stepId,
        },
        ['reason', 'by'],
        'Why the application ended without success',
      ),
      sla: ref('ApplicationSla'),
      endedInTemporal: {
        type: 'string',
        enum: [...ENDED_IN_TEMPORAL_STATES],
        description:
          'Temporal closed the workflow without Kaiban: the rest is the status as of that moment, and no compensation ran',
      },
    },
    ['id', 'status', 'company', 'submittedAt', 'steps', 'results', 'compensations', 'pendingTasks', 'audit'],
    'The whole picture of one application',
  ),
};
