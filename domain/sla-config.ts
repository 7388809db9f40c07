/**
 * The zod schema of the SLA budgets a deployment configures (`SLA_BUDGETS`, read by config/sla.ts). Kept apart from
 * domain/sla.ts so that the workflow bundle, which imports the SLA arithmetic, does not carry zod.
 */
import { z } from 'zod';
import { SLA_SCOPES, type SlaBudgetsOverride, type StatutoryLimit } from './sla';

/** At least one second (the real-time tests' budgets are seconds): a smaller one rounds to no time at all. */
const hours = z
  .number()
  .min(1 / 3600, 'at least one second (1/3600 h): a smaller budget would be breached on arrival')
  .max(10_000);
const STATUTORY_FORMS = '"immediate", "none", null, { "workingDays": n } or { "days": n }, n over 0 and at most 3650';
const statutorySchema = z.union(
  [
    z.literal('immediate').transform((): StatutoryLimit => ({ kind: 'immediate' })),
    z.literal('none').transform((): StatutoryLimit => ({ kind: 'none' })),
    z.null().transform((): StatutoryLimit => ({ kind: 'none' })),
    z
      .strictObject({ workingDays: z.number().positive().max(3650) })
      .transform((v): StatutoryLimit => ({ kind: 'working_days', value: v.workingDays })),
    z
      .strictObject({ days: z.number().positive().max(3650) })
      .transform((v): StatutoryLimit => ({ kind: 'days', value: v.days })),
  ],
  { error: `a statutory limit is ${STATUTORY_FORMS}` },
);

/**
 * `SLA_BUDGETS`: per scope, the committed hours, or an object with `committedHours` and/or `statutory`
 * (`"immediate"`, `"none"`, `{ "workingDays": n }`, `{ "days": n }`). Scopes not named keep their defaults.
 * Example: `{"license": 2.5, "fund": {"committedHours": 2, "statutory": {"days": 30}}}`.
 */
export const slaBudgetsOverrideSchema = z.partialRecord(
  z.enum(SLA_SCOPES),
  z.union([hours, z.strictObject({ committedHours: hours.optional(), statutory: statutorySchema.optional() })], {
    // A union names no option's problem: say which part of an object is wrong (a number's own check speaks for it).
    error: (issue) => {
      const input = issue.input;
      if (typeof input === 'number') return undefined;
      if (typeof input !== 'object' || input === null || Array.isArray(input))
        return 'committed hours (a number), or { "committedHours": hours, "statutory": limit }';
      const value = input as Record<string, unknown>;
      if ('committedHours' in value) {
        const committed = hours.safeParse(value.committedHours);
        if (!committed.success)
          return `committedHours: ${committed.error.issues[0]?.message ?? 'not a number of hours'}`;
      }
      if ('statutory' in value && !statutorySchema.safeParse(value.statutory).success)
        return `statutory: a statutory limit is ${STATUTORY_FORMS}`;
      return undefined;
    },
  }),
) satisfies z.ZodType<SlaBudgetsOverride>; // parses to what resolveBudgets takes
