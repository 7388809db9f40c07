/**
 * Submissions are the expensive route (each starts a workflow that calls six agencies), so they are
 * limited per caller and per address (OWASP API4): a stolen token cannot flood the agencies, and
 * one address cannot hide behind many tokens; mounted after `authorize` (the identity is known) and
 * before the body is parsed (a flood costs no parsing). Every request with a token also counts
 * against a generous per-caller limit, which `authorize` applies as soon as the token is verified.
 */
import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit, type Options } from 'express-rate-limit';
import type { Config } from '../config';
import { HttpError, sendError } from '../api/errors';
import { API_MESSAGES } from '../api/messages';
import { identityOf } from './authorize';

/** Per window: submissions per caller and per address, and every request with a token per caller. */
export interface RateLimits {
  windowMs: number;
  perIdentity: number;
  perIp: number;
  /** Every request behind a bearer token, per caller (reads cost a query, which may replay a whole history). */
  requestsPerIdentity: number;
}

export function rateLimitsFromConfig(config: Config): RateLimits {
  return {
    windowMs: config.env.RATE_LIMIT_WINDOW_SECONDS * 1000,
    perIdentity: config.env.RATE_LIMIT_SUBMISSIONS_PER_IDENTITY,
    perIp: config.env.RATE_LIMIT_SUBMISSIONS_PER_IP,
    requestsPerIdentity: config.env.RATE_LIMIT_REQUESTS_PER_IDENTITY,
  };
}

/**
 * All requests of a caller with a token (status reads, lists, actions, the codec): a generous limit that a person
 * or an integration polling its own applications never meets, but that keeps one token from busying the workers
 * with queries. Called by `authorize` as soon as the token is verified — before the role and owner checks, so a
 * refused request (another applicant's id probed) counts too, and a limited one costs no owner lookup. Requests
 * without a token (health, the calendar, agencies' signed callbacks) are not counted here.
 */
export function identityRateLimit(limits: RateLimits): (req: Request, res: Response) => Promise<void> {
  const limiter = rateLimit({
    windowMs: limits.windowMs,
    limit: limits.requestsPerIdentity,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (_req, res) => `sub:${identityOf(res)!.subject}`,
    handler: (req: Request, _res: Response, next, options) => {
      req.log?.warn({ limit: options.limit }, 'request rate limit reached');
      next(new HttpError(429, 'RATE_LIMITED', API_MESSAGES.tooManyRequests(Math.ceil(limits.windowMs / 1000))));
    },
  });
  return (req, res) =>
    new Promise<void>((resolve, reject) => {
      Promise.resolve(limiter(req, res, (err?: unknown) => (err ? reject(err) : resolve()))).catch(reject);
    });
}

export function submissionRateLimit(limits: RateLimits): RequestHandler[] {
  const common: Partial<Options> = {
    windowMs: limits.windowMs,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    handler: (req: Request, res: Response, _next, options) => {
      req.log?.warn({ limit: options.limit }, 'submission rate limit reached');
      sendError(res, 429, 'RATE_LIMITED', API_MESSAGES.tooManySubmissions(Math.ceil(limits.windowMs / 1000)));
    },
  };
  return [
    rateLimit({ ...common, limit: limits.perIp, keyGenerator: (req) => `ip:${ipKeyGenerator(req.ip ?? 'unknown')}` }),
    rateLimit({
      ...common,
      limit: limits.perIdentity,
      keyGenerator: (req, res) => `sub:${identityOf(res)?.subject ?? ipKeyGenerator(req.ip ?? 'unknown')}`,
    }),
  ];
}

/** `TRUST_PROXY` as express understands it: a hop count, true/false, or addresses/subnets. */
export function trustProxySetting(value: string | undefined): boolean | number | string {
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}
