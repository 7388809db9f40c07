/**
 * Property-level control of what answers show (OWASP API3, PIPL art. 51 de-identification): ID
 * numbers, mobile numbers and e-mail addresses are masked in every answer by default
 * (`3601**********1236`, `138****0001`, `z***@example.com`), also where free text quotes them. An
 * operator who needs the clear value asks for it with `?reveal=true&reason=<why>`; the reveal is
 * logged with who, what and why.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { HttpError } from '../api/errors';
import { API_MESSAGES } from '../api/messages';
import { auditLog, maskIdNumber, maskPersonalData } from '../observability/logger';
import { identityOf } from './authorize';

export { maskIdNumber };

export function maskPhone(phone: string): string {
  return phone.length === 11 ? `${phone.slice(0, 3)}****${phone.slice(7)}` : '*'.repeat(phone.length);
}

export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  return at > 0 ? `${email[0]}***${email.slice(at)}` : '***';
}

/**
 * Free text that people and agencies write (an agency's error answer, an operator's reason) may quote personal data:
 * scrubbed as log lines are. Only these fields: structured values such as an all-digit USCC stay readable.
 */
const FREE_TEXT = ['message', 'message_zh', 'message_en', 'reason'];
/** An action's id holds the caller's Idempotency-Key, which integrators may make of an ID or mobile number. */
const CALLER_KEYS = ['actionId'];
/** Free text of the application the applicant typed (an address with a contact number in it). */
const APPLICANT_TEXT = ['address', 'branch'];
/**
 * An actor's token subject (audit, review, outcome): an identity provider may use the mobile or ID number as `sub`
 * (logs scrub it too); an ordinary subject stays readable.
 */
const SUBJECTS = ['subject'];

const MASKS: Record<string, (value: string) => string> = {
  idNumber: maskIdNumber,
  phone: maskPhone,
  email: maskEmail,
  ...Object.fromEntries(
    [...FREE_TEXT, ...APPLICANT_TEXT, ...CALLER_KEYS, ...SUBJECTS].map((key) => [key, maskPersonalData]),
  ),
};

/** A copy of `value` with every personal field masked, wherever it sits (statuses, applications, lists). */
export function maskPersonalFields<T>(value: T, depth = 0): T {
  if (depth > 32 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => maskPersonalFields(item, depth + 1)) as T;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
    const mask = MASKS[key];
    out[key] = mask && typeof field === 'string' ? mask(field) : maskPersonalFields(field, depth + 1);
  }
  return out as T;
}

const revealQuery = z.object({
  reveal: z.enum(['true', 'false']).optional(),
  reason: z.string().trim().min(5).max(500).optional(),
});

/**
 * Whether this request may see personal data in the clear: only an operator, only with a reason. Anything else gets
 * the masked view. A reveal is logged by calling the answer once the data are there to be seen (an unknown
 * application reveals nothing).
 */
export function revealRequested(req: Request, res: Response, applicationId: string): (() => void) | undefined {
  const parsed = revealQuery.safeParse({ reveal: req.query.reveal, reason: req.query.reason });
  if (!parsed.success) {
    throw new HttpError(400, 'REVEAL_INVALID', API_MESSAGES.revealInvalid);
  }
  if (parsed.data.reveal !== 'true') return undefined;
  const identity = identityOf(res);
  if (identity?.role !== 'operator') throw new HttpError(403, 'REVEAL_FORBIDDEN', API_MESSAGES.revealForbidden);
  if (!parsed.data.reason) throw new HttpError(400, 'REVEAL_REASON_REQUIRED', API_MESSAGES.revealReasonRequired);
  const reason = parsed.data.reason;
  return () =>
    req.log &&
    auditLog(req.log).warn(
      { audit: 'personal-data-revealed', by: identity.subject, role: identity.role, applicationId, reason },
      'personal data revealed to an operator',
    );
}
