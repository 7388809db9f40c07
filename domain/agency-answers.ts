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
import { problemsFromZodError, type Language, type Problem } from './problems';
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
const APPROVALS: Partial<Record<StepId, z.ZodType>> = {
  name: z.object({ result: z.object({ reservationId: z.string().min(1) }) }),
  license: z.object({
    result: z.object({ uscc: z.string().refine(isValidUscc, { params: { code: 'USCC_INVALID' } }) }),
  }),
  seal: z.object({ result: z.object({ seals: z.array(z.object({ recordId: z.string().min(1) })).min(1) }) }),
  // What the applicant's results name (PRODUCT.md's "produces"): an approval without it completed the application
  // with that result missing.
  tax: z.object({ result: z.object({ taxRecordId: z.string().min(1) }) }),
  social: z.object({ result: z.object({ employerSocialSecurityNumber: z.string().min(1) }) }),
  fund: z.object({ result: z.object({ fundAccountNumber: z.string().min(1) }) }),
  bank: z.object({ result: z.object({ appointmentRef: z.string().min(1) }) }),
};
const ANY_APPROVAL = z.object({ result: z.record(z.string(), z.unknown()) });

/**
 * Problems of an approval for `step` (paths from the answer's root: `result.uscc`), none when its result carries what
 * the following steps need. An approval must carry a result.
 */
export function approvedResultProblems(step: StepId, result: unknown, lang: Language = 'en'): Problem[] {
  const parsed = (APPROVALS[step] ?? ANY_APPROVAL).safeParse({ result }, { reportInput: true });
  return parsed.success ? [] : problemsFromZodError(parsed.error, lang);
}

/** "path: message; …" for an error message. */
export function describeProblems(problems: readonly Problem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}`).join('; ');
}
