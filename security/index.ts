/**
 * Everything the API needs for security, built once from config (api/server.ts); the pieces live in
 * this folder: jwt (who), authorize (may they), codec (encryption at rest), codec-server (the
 * Web UI's decoder), rate-limit, masking.
 */
import type { PayloadCodec } from '@temporalio/common';
import type { Config } from '../config';
import { AesGcmCodec, codecKeysFromConfig } from './codec';
import { codecCorsOrigins } from './codec-server';
import { createTokenVerifier, type TokenVerifier } from './jwt';
import { rateLimitsFromConfig, trustProxySetting, type RateLimits } from './rate-limit';

export interface ApiSecurity {
  verifier: TokenVerifier;
  codec: PayloadCodec;
  codecCorsOrigins: string[];
  rateLimits: RateLimits;
  trustProxy: boolean | number | string;
}

export function apiSecurityFromConfig(config: Config): ApiSecurity {
  return {
    verifier: createTokenVerifier(config),
    codec: new AesGcmCodec(codecKeysFromConfig(config)),
    codecCorsOrigins: codecCorsOrigins(config),
    rateLimits: rateLimitsFromConfig(config),
    trustProxy: trustProxySetting(config.env.TRUST_PROXY),
  };
}
