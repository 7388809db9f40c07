/**
 * The Temporal update id of an operator's or applicant's action. The action's id holds the caller's Idempotency-Key
 * (`withdraw:<key>`), which integrators may make of an ID or mobile number; inside the update's arguments it is
 * encrypted with the rest of the payload, but an update id is not a payload: Temporal keeps it in the clear in the
 * history (the Web UI, `temporal workflow show`, an exported history). So the update id is a keyed digest of the action
 * id (HMAC-SHA256 under a key derived from the payload codec's current key), not the action id itself: a guessed
 * number cannot be checked against it without the key.
 *
 * The workflow tells a repeated action by its action id (kept with the result, in the audit trail); the update id
 * lets Temporal join a repeat sent while the first is still under way. A new codec key changes the update ids, which
 * only costs that joining for repeats that straddle the rotation.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import type { CodecKey } from './codec';

/** The digest's version: a later scheme can be told apart. */
const SCHEME = 'a1';

export type UpdateIdOf = (actionId: string) => string;

export function updateIdsFrom(codecKey: CodecKey): UpdateIdOf {
  const key = Buffer.from(hkdfSync('sha256', codecKey.key, Buffer.alloc(0), 'kaiban update ids', 32));
  return (actionId) => `${SCHEME}:${createHmac('sha256', key).update(actionId, 'utf8').digest('base64url')}`;
}
