/**
 * Which applications are an applicant's own, findable in Temporal visibility without their identity in it: each
 * application carries `KaibanOwner`, a keyed digest of the token subject that submitted it (HMAC-SHA256). Visibility
 * holds search attributes in the clear, and an identity provider may use a mobile or ID number as `sub`: an unkeyed
 * hash of one is reversed by trying every number, a keyed one is not without the key.
 *
 * Key: `KAIBAN_OWNER_INDEX_KEY` (at least 32 characters). The embedded default generates one into
 * `<KAIBAN_DATA_DIR>/secrets/owner-index-key`; production must set it (unless TEMPORAL_SEARCH_ATTRIBUTES=false: then
 * nothing carries the attribute and the key is not read). Changing it hides every earlier application
 * from its applicant's list (their own ids still answer): keep it for as long as applications are kept.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Config } from '../config';
import { devSecretFile } from './secret-files';

/** The digest's version: a later scheme can be told apart, and searched beside this one. */
const SCHEME = 'o1';

/** The KaibanOwner value of applications that `subject` submitted. */
export type OwnerTag = (subject: string) => string;

export function ownerTagger(key: string): OwnerTag {
  return (subject) => `${SCHEME}:${createHmac('sha256', key).update(subject, 'utf8').digest('base64url')}`;
}

/** A deployment without search attributes (TEMPORAL_SEARCH_ATTRIBUTES=false) has no owner index: never asked. */
export const noOwnerIndex: OwnerTag = () => {
  throw new Error('no owner index without search attributes (TEMPORAL_SEARCH_ATTRIBUTES=false)');
};

export function ownerIndexKeyFromConfig(config: Config): string {
  return (
    config.env.KAIBAN_OWNER_INDEX_KEY ??
    devSecretFile(config, 'owner-index-key', 'KAIBAN_OWNER_INDEX_KEY', () => randomBytes(32).toString('base64url'))
  );
}
