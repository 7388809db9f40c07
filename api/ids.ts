import { createHash, randomUUID } from 'node:crypto';
import { canonicalJson } from '../domain/canonical-json';

/**
 * Application ids are workflow ids: opaque, no personal data. With an Idempotency-Key the id is
 * derived from it (scoped to the caller), so a repeated request maps to the same workflow.
 */
export function newApplicationId(): string {
  return `kb-${randomUUID().replace(/-/g, '')}`;
}

export function applicationIdForKey(scope: string, idempotencyKey: string): string {
  return `kb-${createHash('sha256').update(`${scope}\u0000${idempotencyKey}`).digest('hex').slice(0, 32)}`;
}

export function isApplicationId(value: string): boolean {
  return /^kb-[0-9a-f]{32}$/.test(value);
}

export function requestHash(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}
