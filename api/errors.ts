/** The API's one error shape and the single place where errors become HTTP answers. */
import { isGrpcServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import type { ErrorRequestHandler, Response } from 'express';
import type { Problem } from '../domain/problems';

/** Seconds a caller is asked to wait (Retry-After) when Temporal cannot be reached. */
const TEMPORAL_RETRY_AFTER_SECONDS = 5;

/**
 * Temporal could not be reached (after the client's own retries): the frontend down or restarting, a deadline run
 * out. The request may be repeated; nothing was done, or (a start whose answer was lost) its Idempotency-Key finds it.
 */
function temporalUnavailable(err: unknown): boolean {
  // An update's call that ran out of time (the update may or may not have been taken: its id makes a repeat safe).
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return true;
  // The gRPC error, as thrown or as the cause of the client's (ServiceError and others): 14 UNAVAILABLE,
  // 4 DEADLINE_EXCEEDED.
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (isGrpcServiceError(e) && (e.code === 14 || e.code === 4)) return true;
  }
  return false;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues?: Problem[],
  ) {
    super(message);
  }
}

export function sendError(res: Response, status: number, code: string, message: string, issues?: Problem[]): void {
  res.status(status).json({ error: { code, message, ...(issues ? { issues } : {}), requestId: res.locals.requestId } });
}

/** Body-parser failures carry `type` and `status`; anything else is a 500 without internals. */
export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  if (err instanceof HttpError) return sendError(res, err.status, err.code, err.message, err.issues);
  const type = (err as { type?: string }).type;
  if (type === 'entity.too.large')
    return sendError(res, 413, 'BODY_TOO_LARGE', 'the request body is larger than the limit');
  if (type === 'entity.parse.failed')
    return sendError(res, 400, 'MALFORMED_JSON', 'the request body is not valid JSON');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported')
    return sendError(res, 415, 'UNSUPPORTED_ENCODING', 'send the body as UTF-8 JSON');
  // Any other unreadable request (aborted upload, bad Content-Length…): the caller's fault, no internals.
  const status = (err as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return sendError(res, status, 'REQUEST_UNREADABLE', 'the request could not be read');
  }
  if (temporalUnavailable(err)) {
    req.log?.warn({ err }, 'Temporal unavailable');
    res.setHeader('retry-after', String(TEMPORAL_RETRY_AFTER_SECONDS));
    return sendError(
      res,
      503,
      'TEMPORAL_UNAVAILABLE',
      'the workflow service cannot be reached; try again shortly (a submission repeated with the same Idempotency-Key starts at most one application)',
    );
  }
  req.log?.error({ err }, 'unhandled error');
  return sendError(res, 500, 'INTERNAL', 'internal error; quote the request id when reporting it');
};
