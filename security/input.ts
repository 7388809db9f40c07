/**
 * Hostile input at the door (OWASP API4/API8): a body of any type but JSON is refused before it is
 * read, so no route ever sees form data, text or multipart; a JSON body nested deeper than any
 * request needs is refused once parsed, before code that walks it (hashing, the paths a correction
 * names, the dossier's canonical JSON) could run out of stack on it.
 */
import type { NextFunction, Request, Response } from 'express';
import { answerLanguage, HttpError } from '../api/errors';
import { API_MESSAGES } from '../api/messages';
import { problem } from '../domain/problems';

/** Levels of nesting a body may have: an application needs 5, an offline step's output 4. */
export const MAX_BODY_DEPTH = 32;

export function requireJsonBodies(req: Request, _res: Response, next: NextFunction): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
  if (hasBody && !req.is('application/json')) {
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', API_MESSAGES.bodyNotJson);
  }
  next();
}

/** After the JSON parser: 400 BODY_TOO_DEEP, naming where the body first goes past MAX_BODY_DEPTH. */
export function refuseDeepBodies(req: Request, _res: Response, next: NextFunction): void {
  const at = tooDeepAt(req.body, MAX_BODY_DEPTH);
  if (at) {
    const issue = problem(at, 'TOO_DEEP', answerLanguage(req), { maximum: MAX_BODY_DEPTH });
    throw new HttpError(400, 'BODY_TOO_DEEP', API_MESSAGES.bodyTooDeep(MAX_BODY_DEPTH), [issue]);
  }
  next();
}

/**
 * The path to the first object or array in `value` that lies deeper than `max` levels (the value itself is level 1),
 * or undefined. Walked with a stack of its own, so that no depth can exhaust the call stack here.
 */
export function tooDeepAt(value: unknown, max: number): Array<string | number> | undefined {
  const pending: Array<{ node: unknown; path: Array<string | number> }> = [{ node: value, path: [] }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { node, path } = next;
    if (node === null || typeof node !== 'object') continue;
    if (path.length >= max) return path;
    const entries: Array<[string | number, unknown]> = Array.isArray(node)
      ? node.map((item, i) => [i, item])
      : Object.entries(node);
    // Pushed last first, so that the walk meets them in document order: the place named is the first one.
    for (const [key, child] of entries.reverse()) pending.push({ node: child, path: [...path, key] });
  }
  return undefined;
}
