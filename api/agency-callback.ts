/** What an agency posts to `POST /v1/agency-callbacks/:agency` (signed; see the simulator's README for the contract). */
import { z } from 'zod';
import { STEP_IDS } from '../domain/steps';

export const agencyCallbackSchema = z.object({
  ticket: z.string().min(1).max(200),
  status: z.enum(['pending', 'approved', 'rejected', 'cancelled', 'revoked']),
  reference: z.object({ applicationId: z.string().max(100), step: z.enum(STEP_IDS) }),
  result: z.record(z.string(), z.unknown()).optional(),
  reason: z
    .object({ code: z.string(), message_zh: z.string().optional(), message_en: z.string().optional() })
    .optional(),
});
