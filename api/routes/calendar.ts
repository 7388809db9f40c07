/**
 * Public due-date calculator: GET /v1/calendar/due?from=<ISO instant>&hours=<working hours>[&rule=next-day&days=<n>]
 * Both counting rules are always shown side by side; all instants come back as ISO 8601 with +08:00.
 */
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { CalendarYearMissingError, formatShanghai, parseInstant, type WorkingCalendar } from '../../domain/calendar';
import { formatPath } from '../../domain/problems';
import { sendError } from '../errors';

const RULES = ['working-time', 'next-day'] as const;
type Rule = (typeof RULES)[number];

const FIELD_CODES: Record<string, string> = {
  from: 'INSTANT_INVALID',
  hours: 'HOURS_INVALID',
  rule: 'RULE_INVALID',
  days: 'DAYS_INVALID',
};

const once = (field: string, expected: string) =>
  z.string({
    error: (issue) =>
      issue.input === undefined ? `${field} is required: ${expected}` : `${field} must be given once: ${expected}`,
  });

export const calendarDueQuerySchema = z
  .strictObject(
    {
      from: once('from', 'an ISO 8601 instant with an offset, e.g. 2026-02-13T16:00:00+08:00').transform(
        (text, ctx) => {
          try {
            return parseInstant(text);
          } catch (error) {
            ctx.addIssue({ code: 'custom', message: (error as Error).message });
            return z.NEVER;
          }
        },
      ),
      hours: once('hours', 'working hours, a decimal > 0 and <= 10000')
        .regex(/^\d{1,5}(\.\d{1,6})?$/, 'hours must be a decimal number such as 7 or 0.5 (at most 6 decimals)')
        .transform(Number)
        .refine((hours) => hours > 0 && hours <= 10_000, 'hours must be > 0 and <= 10000'),
      rule: z.enum(RULES, { error: `rule must be one of ${RULES.join(', ')}` }).default('working-time'),
      days: once('days', 'a whole number of working days, 1 to 3650')
        .regex(/^[1-9]\d{0,3}$/, 'days must be a whole number of working days, 1 to 3650')
        .transform(Number)
        .refine((days) => days <= 3650, 'days must be a whole number of working days, 1 to 3650')
        .optional(),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys' ? `unknown parameter(s): ${issue.keys.join(', ')}` : undefined,
    },
  )
  .refine((query) => query.days === undefined || query.rule === 'next-day', {
    path: ['days'],
    message: 'days applies only to rule=next-day',
  });

interface RuleResult {
  rule: Rule;
  days?: number;
  due: string;
  workingTimeMs: number;
}

/** The API's one error shape (api/errors.ts): each issue names its parameter (`path`) and rule (`code`). */
function sendValidationError(res: Response, error: z.ZodError): void {
  const issues = error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: key, code: 'UNKNOWN_FIELD', message: `unknown parameter ${key}` }));
    }
    const field = String(issue.path[0] ?? '');
    return [{ path: formatPath(issue.path), code: FIELD_CODES[field] ?? 'QUERY_INVALID', message: issue.message }];
  });
  const message = `Invalid query: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`;
  sendError(res, 400, 'VALIDATION_FAILED', message, issues);
}

export function calendarRouter(calendar: WorkingCalendar): Router {
  const router = Router();

  router.get('/v1/calendar/due', (req: Request, res: Response) => {
    const parsed = calendarDueQuerySchema.safeParse(req.query);
    if (!parsed.success) return sendValidationError(res, parsed.error);
    const { from, hours, rule } = parsed.data;
    const budgetMs = Math.round(hours * 3_600_000);
    const days = parsed.data.days ?? Math.ceil(budgetMs / calendar.workingDayMs);

    const byRule = (which: Rule): RuleResult => {
      const due =
        which === 'working-time' ? calendar.addWorkingTime(from, budgetMs) : calendar.dueNextDayRule(from, days);
      return {
        rule: which,
        ...(which === 'next-day' ? { days } : {}),
        due: formatShanghai(due),
        workingTimeMs: calendar.workingTimeBetween(from, due),
      };
    };

    let primary: RuleResult;
    try {
      primary = byRule(rule);
    } catch (error) {
      if (error instanceof CalendarYearMissingError) {
        res.status(422).json({
          error: { code: error.code, message: error.message, year: error.year, requestId: res.locals.requestId },
        });
        return;
      }
      throw error;
    }
    // The other rule is shown for comparison; a year it would need but the chosen rule does not must not fail the call.
    const otherRule: Rule = rule === 'working-time' ? 'next-day' : 'working-time';
    let alternative: RuleResult | { rule: Rule; error: { code: string; message: string } };
    try {
      alternative = byRule(otherRule);
    } catch (error) {
      if (!(error instanceof CalendarYearMissingError)) throw error;
      alternative = { rule: otherRule, error: { code: error.code, message: error.message } };
    }

    res.json({
      from: formatShanghai(from),
      hours,
      ...primary,
      officeHours: calendar.officeHours,
      alternative,
    });
  });

  return router;
}
