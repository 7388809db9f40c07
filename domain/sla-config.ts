/**
 * The zod schema of the SLA budgets a deployment configures (`SLA_BUDGETS`, read by config/sla.ts). Kept apart from
 * domain/sla.ts so that the workflow bundle, which imports the SLA arithmetic, does not carry zod.
 */
import { z } from 'zod';
import { SLA_SCOPES, type SlaBudgetsOverride, type StatutoryLimit } from './sla';

const hours = z.number().positive().max(10_000);
const statutorySchema = z.union([
  z.literal('immediate').transform((): StatutoryLimit => ({ kind: 'immediate' })),
  z.literal('none').transform((): StatutoryLimit => ({ kind: 'none' })),
  z.null().transform((): StatutoryLimit => ({ kind: 'none' })),
  z
    .strictObject({ workingDays: z.number().positive().max(3650) })
    .transform((v): StatutoryLimit => ({ kind: 'working_days', value: v.workingDays })),
  z
    .strictObject({ days: z.number().positive().max(3650) })
    .transform((v): StatutoryLimit => ({ kind: 'days', value: v.days })),
]);

/**
 * `SLA_BUDGETS`: per scope, the committed hours, or an object with `committedHours` and/or `statutory`
 * (`"immediate"`, `"none"`, `{ "workingDays": n }`, `{ "days": n }`). Scopes not named keep their defaults.
 * Example: `{"license": 2.5, "fund": {"committedHours": 2, "statutory": {"days": 30}}}`.
 */
export const slaBudgetsOverrideSchema = z.partialRecord(
  z.enum(SLA_SCOPES),
  z.union([hours, z.strictObject({ committedHours: hours.optional(), statutory: statutorySchema.optional() })]),
) satisfies z.ZodType<SlaBudgetsOverride>; // parses to what resolveBudgets takes
