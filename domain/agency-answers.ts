/**
 * What Kaiban takes from an agency's answer — to a filing, a poll, a cancellation, or in a callback: a record of the
 * protocol's shape (simulator/README.md) and, for an approval, the parts of its result that later steps are built on.
 * An answer outside these rules is the agency's fault, not a decision: the adapter treats it as no answer (retried,
 * then an incident), the callback intake refuses it (400). Taken as a decision, an approval without a USCC would have
 * filed "undefined" with five agencies and ended in their rejections, and an unknown status in a rejection that left
 * the agency's filing live. Not workflow code (zod).
 */
import { z } from 'zod';
import { isValidUscc } from './codes';
import type { StepId } from './steps';

export const AGENCY_RECORD_STATUSES = ['pending', 'approved', 'rejected', 'cancelled', 'revoked'] as const;
export type AgencyRecordStatus = (typeof AGENCY_RECORD_STATUSES)[number];

export const agencyReasonSchema = z.object({
  code: z.string().min(1),
  message_zh: z.string().optional(),
  message_en: z.string().optional(),
});

/** The record an agency answers with (filing, poll, cancellation); what Kaiban reads of it. */
export const agencyRecordSchema = z.object({
  ticket: z.string().min(1).max(200),
  status: z.enum(AGENCY_RECORD_STATUSES),
  result: z.record(z.string(), z.unknown()).optional(),
  reason: agencyReasonSchema.optional(),
});

/** What later steps (and the applicant's results) need of each approval; other fields are passed on as they come. */
const APPROVED_RESULTS: Partial<Record<StepId, z.ZodType>> = {
  name: z.object({ reservationId: z.string().min(1) }),
  license: z.object({
    uscc: z.string().refine(isValidUscc, 'expected a valid unified social credit code (GB 32100-2015)'),
  }),
  seal: z.object({ seals: z.array(z.object({ recordId: z.string().min(1) })).min(1) }),
};

export interface AnswerProblem {
  /** Where in the answer, e.g. `result.uscc`. */
  path: string;
  /** The rule broken (zod's issue code, or `required`). */
  code: string;
  message: string;
}

/**
 * Problems of an approval's `result` for `step` (paths from the answer's root), none when it carries what the
 * following steps need. An approval must carry a result.
 */
export function approvedResultProblems(step: StepId, result: unknown): AnswerProblem[] {
  if (typeof result !== 'object' || result === null || Array.isArray(result)) {
    return [{ path: 'result', code: 'required', message: 'an approval carries its result (an object)' }];
  }
  const schema = APPROVED_RESULTS[step];
  if (!schema) return [];
  const parsed = schema.safeParse(result);
  return parsed.success ? [] : problemsOf(parsed.error, ['result']);
}

export function problemsOf(error: z.ZodError, prefix: PropertyKey[] = []): AnswerProblem[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path].map(String).join('.'),
    code: issue.code,
    message: issue.message,
  }));
}

/** "path: message; …" for an error message. */
export function describeProblems(problems: readonly AnswerProblem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}`).join('; ');
}
