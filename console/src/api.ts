/** Calls to the Kaiban API with the signed-in bearer token; a 401 ends the session. */
import type { ApiErrorBody } from './types';
import { lang } from './i18n';

const TOKEN_KEY = 'kaiban.token';

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export interface Answer<T> {
  ok: boolean;
  status: number;
  body: T | undefined;
  error?: ApiErrorBody['error'];
}

export type UnauthorizedHandler = () => void;
let onUnauthorized: UnauthorizedHandler = () => undefined;
export function whenUnauthorized(handler: UnauthorizedHandler): void {
  onUnauthorized = handler;
}

export async function call<T>(
  method: 'GET' | 'POST',
  path: string,
  options: { body?: unknown; idempotencyKey?: string; token?: string; signal?: AbortSignal } = {},
): Promise<Answer<T>> {
  const token = options.token ?? storedToken();
  const headers: Record<string, string> = {
    accept: 'application/json',
    'accept-language': lang() === 'zh' ? 'zh-CN' : 'en',
  };
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
  const res = await fetch(path, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
    cache: 'no-store',
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (res.ok) return { ok: true, status: res.status, body: parsed as T };
  const error = (parsed as ApiErrorBody | undefined)?.error ?? {
    code: `HTTP_${res.status}`,
    message: res.statusText || text.slice(0, 200),
  };
  if (res.status === 401 && options.token === undefined) onUnauthorized();
  return { ok: false, status: res.status, body: undefined, error };
}

/** The claims of a JWT, read without verifying it (only to show who is signed in; the API verifies). */
export function tokenClaims(token: string): Record<string, unknown> | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const json = atob(
      part
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(part.length / 4) * 4, '='),
    );
    const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** A UUID v4 for Idempotency-Key; getRandomValues also works outside secure contexts (plain http on a LAN). */
export function newActionId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
