/**
 * Who is calling: bearer JWTs verified with `jose`. The token's `sub` is the caller's identity (for
 * an applicant, the applicant), its role claim (`AUTH_ROLE_CLAIM`, default `role`) one of the
 * three roles. Where the verification key comes from, first match wins:
 *   AUTH_JWKS_URL    an identity provider's JWKS (production);
 *   AUTH_PUBLIC_KEY  one PEM public key (RSA, EC or Ed25519);
 *   AUTH_SECRET      an HS256 shared secret (at least 32 characters);
 *   otherwise        the embedded default's generated secret, `<KAIBAN_DATA_DIR>/secrets/jwt-dev-secret`,
 *                    with which `npm run token` signs (never in production).
 * Issuer and audience are always checked (AUTH_ISSUER, AUTH_AUDIENCE); tokens must expire.
 */
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { API_MESSAGES, type Localized } from '../api/messages';
import { ConfigError, type Config } from '../config';
import { devSecretFile } from './secret-files';

export const ROLES = ['applicant', 'operator', 'supervisor'] as const;
export type Role = (typeof ROLES)[number];

/** The verified caller. Routes read it from `res.locals.identity` (api/identity.ts), never from a body. */
export interface Identity {
  subject: string;
  role: Role;
}

export const SUBJECT_MAX = 200;

/** The caller's token is missing or not good: a 401, its message in both languages (the English is `message`). */
export class AuthenticationError extends Error {
  override name = 'AuthenticationError';
  constructor(
    readonly code: 'TOKEN_MISSING' | 'TOKEN_INVALID' | 'TOKEN_EXPIRED',
    readonly localized: Localized,
  ) {
    super(localized.en);
  }
}

/** The keys cannot be fetched (the identity provider's JWKS endpoint is down): not the caller's fault. */
export class AuthenticationUnavailableError extends Error {
  override name = 'AuthenticationUnavailableError';
}

export interface TokenVerifier {
  /** How tokens are checked, for the start-up banner and logs. */
  readonly source: 'jwks' | 'public-key' | 'secret' | 'dev-secret';
  verify(token: string): Promise<Identity>;
}

const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

function algorithmsFor(key: KeyObject): string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    case 'ec':
      return ['ES256', 'ES384', 'ES512'];
    case 'ed25519':
    case 'ed448':
      return ['EdDSA'];
    default:
      throw new ConfigError(`AUTH_PUBLIC_KEY: unsupported key type ${key.asymmetricKeyType ?? 'unknown'}`);
  }
}

/** The HS256 secret for `npm run token` and the embedded default: AUTH_SECRET or the generated file. */
export function hs256Secret(config: Config): Uint8Array {
  const secret =
    config.env.AUTH_SECRET ??
    devSecretFile(config, 'jwt-dev-secret', 'AUTH_SECRET', () => randomBytes(32).toString('base64url'));
  return new TextEncoder().encode(secret);
}

/** The role in the token: a string, or the first Kaiban role of a list (identity providers put roles in lists). */
function roleOf(claim: unknown): Role | undefined {
  const values = Array.isArray(claim) ? claim : [claim];
  return ROLES.find((role) => values.includes(role));
}

export function createTokenVerifier(config: Config): TokenVerifier {
  const { env } = config;
  let source: TokenVerifier['source'];
  let check: (token: string) => Promise<JWTPayload>;
  const options = {
    issuer: env.AUTH_ISSUER,
    audience: env.AUTH_AUDIENCE,
    requiredClaims: ['sub', 'exp'],
    clockTolerance: 5,
  };

  if (env.AUTH_JWKS_URL) {
    source = 'jwks';
    const jwks = createRemoteJWKSet(new URL(env.AUTH_JWKS_URL));
    check = async (token) => (await jwtVerify(token, jwks, { ...options, algorithms: ASYMMETRIC_ALGORITHMS })).payload;
  } else if (env.AUTH_PUBLIC_KEY) {
    source = 'public-key';
    let key: KeyObject;
    try {
      // Environment files often carry PEM with literal `\n`.
      key = createPublicKey(env.AUTH_PUBLIC_KEY.replace(/\\n/g, '\n'));
    } catch (err) {
      throw new ConfigError(`AUTH_PUBLIC_KEY is not a PEM public key: ${(err as Error).message}`);
    }
    const algorithms = algorithmsFor(key);
    check = async (token) => (await jwtVerify(token, key, { ...options, algorithms })).payload;
  } else {
    source = env.AUTH_SECRET ? 'secret' : 'dev-secret';
    const secret = hs256Secret(config);
    check = async (token) => (await jwtVerify(token, secret, { ...options, algorithms: ['HS256'] })).payload;
  }

  return {
    source,
    async verify(token) {
      let payload: JWTPayload;
      try {
        payload = await check(token);
      } catch (err) {
        if (err instanceof errors.JWTExpired) throw new AuthenticationError('TOKEN_EXPIRED', API_MESSAGES.tokenExpired);
        if (err instanceof errors.JWSSignatureVerificationFailed) {
          throw new AuthenticationError(
            'TOKEN_INVALID',
            API_MESSAGES.tokenInvalid(`${SIGNED_ELSEWHERE[source]} (${err.code})`),
          );
        }
        if (err instanceof errors.JOSEError && !(err instanceof errors.JWKSTimeout)) {
          throw new AuthenticationError(
            'TOKEN_INVALID',
            API_MESSAGES.tokenInvalid(`the bearer token is not valid (${err.code})`),
          );
        }
        throw new AuthenticationUnavailableError(`token keys unavailable: ${(err as Error).message}`, { cause: err });
      }
      const subject = payload.sub;
      if (typeof subject !== 'string' || subject.length === 0 || subject.length > SUBJECT_MAX) {
        throw new AuthenticationError(
          'TOKEN_INVALID',
          API_MESSAGES.tokenInvalid(`the bearer token's sub must be 1 to ${SUBJECT_MAX} characters`),
        );
      }
      const role = roleOf(payload[env.AUTH_ROLE_CLAIM]);
      if (!role) {
        throw new AuthenticationError(
          'TOKEN_INVALID',
          API_MESSAGES.tokenInvalid(
            `the bearer token has no Kaiban role in "${env.AUTH_ROLE_CLAIM}" (${ROLES.join(', ')})`,
          ),
        );
      }
      return { subject, role };
    },
  };
}

/** What a signature that does not verify most likely means, by where this server's key comes from. */
const SIGNED_ELSEWHERE: Record<TokenVerifier['source'], string> = {
  'dev-secret':
    "the bearer token was not signed with this server's key: the embedded default generates its key in " +
    'KAIBAN_DATA_DIR, so mint tokens with `npm run token` and the same KAIBAN_DATA_DIR as the server',
  secret: "the bearer token was not signed with this server's AUTH_SECRET",
  'public-key': 'the bearer token was not signed with the private key of AUTH_PUBLIC_KEY',
  jwks: 'the bearer token was not signed with any key of AUTH_JWKS_URL',
};

/** Signs a token for the embedded default or a deployment with AUTH_SECRET (`npm run token`, tests). */
export async function signToken(
  config: Config,
  identity: Identity,
  expiresIn: string | number = '12h',
): Promise<string> {
  const { env } = config;
  if (env.AUTH_JWKS_URL || env.AUTH_PUBLIC_KEY) {
    throw new ConfigError('tokens come from your identity provider when AUTH_JWKS_URL or AUTH_PUBLIC_KEY is set');
  }
  return new SignJWT({ [env.AUTH_ROLE_CLAIM]: identity.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(identity.subject)
    .setIssuer(env.AUTH_ISSUER)
    .setAudience(env.AUTH_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(hs256Secret(config));
}
