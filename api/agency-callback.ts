/** What an agency posts to `POST /v1/agency-callbacks/:agency` (signed; see the simulator's README for the contract). */
import { z } from 'zod';
import { AGENCY_RECORD_STATUSES, agencyReasonSchema } from '../domain/agency-answers';
import { STEP_IDS } from '../domain/steps';

/** An approval's result is checked further for its step (domain/agency-answers.ts `approvedResultProblems`). */
export const agencyCallbackSchema = z.object({
  ticket: z.string().min(1).max(200),
  status: z.enum(AGENCY_RECORD_STATUSES),
  reference: z.object({ applicationId: z.string().max(100), step: z.enum(STEP_IDS) }),
  result: z.record(z.string(), z.unknown()).optional(),
  reason: agencyReasonSchema.optional(),
});
