/**
 * Everything the API needs for security, built once from config (api/server.ts); the pieces live in
 * this folder: jwt (who), authorize (may they), codec (encryption at rest), codec-server (the
 * Web UI's decoder), rate-limit, masking, owner-index (an applicant's own applications in visibility).
 */
import type { PayloadCodec } from '@temporalio/common';
import type { Config } from '../config';
import { AesGcmCodec, codecKeysFromConfig } from './codec';
import { codecCorsOrigins } from './codec-server';
import { createTokenVerifier, type TokenVerifier } from './jwt';
import { noOwnerIndex, ownerIndexKeyFromConfig, ownerTagger, type OwnerTag } from './owner-index';
import { rateLimitsFromConfig, trustProxySetting, type RateLimits } from './rate-limit';
import { updateIdsFrom, type UpdateIdOf } from './update-ids';

export interface ApiSecurity {
  verifier: TokenVerifier;
  codec: PayloadCodec;
  codecCorsOrigins: string[];
  rateLimits: RateLimits;
  trustProxy: boolean | number | string;
  /** The KaibanOwner value of an applicant's applications (security/owner-index.ts). */
  ownerTag: OwnerTag;
  /** The Temporal update id of an action: a keyed digest of its action id (security/update-ids.ts). */
  updateIdOf: UpdateIdOf;
}

export function apiSecurityFromConfig(config: Config): ApiSecurity {
  const codecKeys = codecKeysFromConfig(config);
  return {
    verifier: createTokenVerifier(config),
    codec: new AesGcmCodec(codecKeys),
    updateIdOf: updateIdsFrom(codecKeys[0]!),
    codecCorsOrigins: codecCorsOrigins(config),
    rateLimits: rateLimitsFromConfig(config),
    trustProxy: trustProxySetting(config.env.TRUST_PROXY),
    // Only where applications carry KaibanOwner: without search attributes the key would be required and never used.
    ownerTag: config.env.TEMPORAL_SEARCH_ATTRIBUTES ? ownerTagger(ownerIndexKeyFromConfig(config)) : noOwnerIndex,
  };
}
