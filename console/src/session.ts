/** Who is signed in: the token (sessionStorage, gone when the tab closes) and what it claims. */
import { call, storedToken, storeToken, tokenClaims } from './api';
import type { ConsoleConfig } from './types';

export interface Session {
  token: string;
  subject: string;
  role: string;
}

let config: ConsoleConfig = { devSignIn: false, roles: ['operator', 'supervisor'], roleClaim: 'role' };

export async function loadConfig(): Promise<ConsoleConfig> {
  try {
    const res = await fetch('/console/config.json', { cache: 'no-store' });
    if (res.ok) config = (await res.json()) as ConsoleConfig;
  } catch {
    // The defaults: paste a token.
  }
  return config;
}

export function consoleConfig(): ConsoleConfig {
  return config;
}

/** The API's roles in the API's order (security/jwt.ts `roleOf`): a token holding two is taken as the first of these. */
const ROLES_IN_API_ORDER = ['applicant', 'operator', 'supervisor'] as const;

/**
 * The role the API will act on: the first of its roles the claim holds, in the API's order, not the claim's (a token
 * with ["supervisor", "operator"] was shown read-only here while the API let it act).
 */
function roleIn(claims: Record<string, unknown> | undefined): string {
  const claim = claims?.[config.roleClaim];
  const values: unknown[] = Array.isArray(claim) ? claim : [claim];
  return ROLES_IN_API_ORDER.find((role) => values.includes(role)) ?? 'unknown';
}

export function currentSession(): Session | undefined {
  const token = storedToken();
  if (!token) return undefined;
  const claims = tokenClaims(token);
  return { token, subject: String(claims?.sub ?? '?'), role: roleIn(claims) };
}

export type SignInResult =
  | { ok: true; session: Session }
  | { ok: false; reason: 'rejected' | 'role' | 'unreachable'; message: string; role: string };

/** Checks a token against the API (the staff list route) before keeping it. */
export async function signIn(token: string): Promise<SignInResult> {
  const role = roleIn(tokenClaims(token));
  try {
    const answer = await call('GET', '/v1/applications?pageSize=1', { token });
    if (answer.ok && role !== 'applicant') {
      storeToken(token);
      return { ok: true, session: currentSession()! };
    }
    if (answer.status === 401) return { ok: false, reason: 'rejected', message: answer.error?.message ?? '', role };
    if (answer.status === 403 || answer.ok)
      return { ok: false, reason: 'role', message: answer.error?.message ?? '', role };
    return { ok: false, reason: 'unreachable', message: `${answer.status} ${answer.error?.message ?? ''}`, role };
  } catch (err) {
    return { ok: false, reason: 'unreachable', message: (err as Error).message, role };
  }
}

export function signOut(): void {
  storeToken(null);
}

/** One-click sign-in of the embedded default: the API mints a short-lived token for the role. */
export async function devToken(role: string): Promise<string | undefined> {
  const res = await fetch('/console/dev-token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ role }),
    cache: 'no-store',
  });
  if (!res.ok) return undefined;
  return ((await res.json()) as { token: string }).token;
}
