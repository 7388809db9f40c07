/**
 * Who is calling. The authentication middleware (security/) puts the verified identity on
 * `res.locals.identity`; routes read it here and never from the request body.
 */
import type { Response } from 'express';
import type { Actor, Role } from '../domain/status';

export interface Identity {
  subject: string;
  role: Exclude<Role, 'system'>;
}

export function identityOf(res: Response): Identity | undefined {
  return res.locals.identity as Identity | undefined;
}

/** The actor recorded in the audit trail for an action by this caller. */
export function actorOf(res: Response): Actor {
  const identity = identityOf(res);
  return identity ? { subject: identity.subject, role: identity.role } : { subject: 'anonymous', role: 'operator' };
}
