/**
 * Hostile input at the door (OWASP API4/API8): a body of any type but JSON is refused before it is
 * read, so no route ever sees form data, text or multipart.
 */
import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../api/errors';
import { API_MESSAGES } from '../api/messages';

export function requireJsonBodies(req: Request, _res: Response, next: NextFunction): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
  if (hasBody && !req.is('application/json')) {
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', API_MESSAGES.bodyNotJson);
  }
  next();
}
