/**
 * Security for tests: a signing secret, codec keys and an owner index key of their own per test file (never the data
 * folder's), real bearer tokens signed with that secret, and the encrypting data converter that
 * every test client and worker uses — the tests exercise authentication and encryption, never
 * bypass them.
 */
import { randomBytes } from 'node:crypto';
import type { DataConverter } from '@temporalio/common';
import { loadConfig, type Config } from '../../config';
import { dataConverterFromKeys, newCodecKeySpec, parseCodecKeys } from '../../security/codec';
import { signToken, type Role } from '../../security/jwt';

export const TEST_AUTH_SECRET = randomBytes(32).toString('base64url');
export const TEST_CODEC_KEYS = newCodecKeySpec('test-k1');
export const TEST_OWNER_INDEX_KEY = randomBytes(32).toString('base64url');

/** Environment for loadConfig: the test secret and keys, whatever the developer's shell holds. */
export function securityTestEnv(): Record<string, string | undefined> {
  return {
    AUTH_SECRET: TEST_AUTH_SECRET,
    AUTH_JWKS_URL: undefined,
    AUTH_PUBLIC_KEY: undefined,
    AUTH_ISSUER: 'kaiban',
    AUTH_AUDIENCE: 'kaiban',
    AUTH_ROLE_CLAIM: 'role',
    KAIBAN_CODEC_KEYS: TEST_CODEC_KEYS,
    KAIBAN_OWNER_INDEX_KEY: TEST_OWNER_INDEX_KEY,
  };
}

let config: Config | undefined;
function testConfig(): Config {
  config ??= loadConfig({ ...process.env, ...securityTestEnv() });
  return config;
}

/** A bearer token the test stack accepts. One default subject per role, so "the applicant" owns what it submits. */
export function tokenFor(role: Role, subject = `${role}-1`, expiresIn: string | number = '1h'): Promise<string> {
  return signToken(testConfig(), { subject, role }, expiresIn);
}

export async function authHeaders(role: Role, subject?: string): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await tokenFor(role, subject)}` };
}

/** The data converter of test clients and workers (the same keys as the stack's config). */
export function testDataConverter(keys: string = TEST_CODEC_KEYS): DataConverter {
  return dataConverterFromKeys(parseCodecKeys(keys));
}
