/** The API's one error shape and the single place where errors become HTTP answers. */
import { isGrpcServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import type { ErrorRequestHandler, Request, Response } from 'express';
import { languageFrom, type Language, type Problem } from '../domain/problems';
import { API_MESSAGES, type Localized } from './messages';

/** Seconds a caller is asked to wait (Retry-After) when Temporal cannot be reached. */
const TEMPORAL_RETRY_AFTER_SECONDS = 5;

/**
 * Temporal could not be reached (after the client's own retries): the frontend down or restarting, a deadline run
 * out. The request may be repeated; nothing was done, or (a start whose answer was lost) its Idempotency-Key finds it.
 */
function temporalUnavailable(err: unknown): boolean {
  // An update's call that ran out of time (the update may or may not have been taken: its id makes a repeat safe).
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return true;
  // 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED.
  return hasGrpcCode(err, [14, 4]);
}

/** Whether `err` is a gRPC error with one of `codes`, as thrown or as the cause of the client's (ServiceError…). */
export function hasGrpcCode(err: unknown, codes: readonly number[]): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (isGrpcServiceError(e) && codes.includes(e.code)) return true;
  }
  return false;
}

/**
 * A refusal the API answers with. Its message in both languages (api/messages.ts), answered in the caller's; a plain
 * string is answered as it is (one already in the caller's language, or one for machines: agencies' callbacks).
 * `message` is the English, for logs.
 */
export class HttpError extends Error {
  readonly localized: Localized;
  constructor(
    readonly status: number,
    readonly code: string,
    message: Localized | string,
    readonly issues?: Problem[],
    /** Seconds after which the request may be sent again (Retry-After). */
    readonly retryAfterSeconds?: number,
  ) {
    const localized = typeof message === 'string' ? { zh: message, en: message } : message;
    super(localized.en);
    this.localized = localized;
  }
}

/** Routes only machines and engineers call — agencies' callbacks, the Temporal Web UI's codec server — answer English. */
const ENGLISH_PATHS = ['/v1/agency-callbacks/', '/codec/'];

/** The language of a request's answers: English on machines' routes, else Accept-Language's (zh-CN by default). */
export function answerLanguage(req: Request): Language {
  if (ENGLISH_PATHS.some((prefix) => req.path.startsWith(prefix))) return 'en';
  return languageFrom(req.get('accept-language'));
}

/** The one error body, its message in the request's language (answerLanguage). */
export function sendError(
  res: Response,
  status: number,
  code: string,
  message: Localized | string,
  issues?: Problem[],
): void {
  const text = typeof message === 'string' ? message : message[answerLanguage(res.req)];
  res
    .status(status)
    .json({ error: { code, message: text, ...(issues ? { issues } : {}), requestId: res.locals.requestId } });
}

/** Body-parser failures carry `type` and `status`; anything else is a 500 without internals. */
export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  if (err instanceof HttpError) {
    if (err.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(err.retryAfterSeconds));
    return sendError(res, err.status, err.code, err.localized, err.issues);
  }
  const type = (err as { type?: string }).type;
  if (type === 'entity.too.large') return sendError(res, 413, 'BODY_TOO_LARGE', API_MESSAGES.bodyTooLarge);
  if (type === 'entity.parse.failed') return sendError(res, 400, 'MALFORMED_JSON', API_MESSAGES.bodyMalformed);
  if (type === 'encoding.unsupported' || type === 'charset.unsupported')
    return sendError(res, 415, 'UNSUPPORTED_ENCODING', API_MESSAGES.bodyEncoding);
  // Any other unreadable request (aborted upload, bad Content-Length…): the caller's fault, no internals.
  const status = (err as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return sendError(res, status, 'REQUEST_UNREADABLE', API_MESSAGES.requestUnreadable);
  }
  if (temporalUnavailable(err)) {
    req.log?.warn({ err }, 'Temporal unavailable');
    res.setHeader('retry-after', String(TEMPORAL_RETRY_AFTER_SECONDS));
    return sendError(res, 503, 'TEMPORAL_UNAVAILABLE', API_MESSAGES.temporalUnavailable);
  }
  req.log?.error({ err }, 'unhandled error');
  return sendError(res, 500, 'INTERNAL', API_MESSAGES.internal);
};
