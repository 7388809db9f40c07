/**
 * How agencies sign their decision callbacks (simulator/README.md, "Callbacks"): `X-Agency-Timestamp` holds the
 * Unix time in seconds, and `X-Agency-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">` with the
 * agency's secret. The timestamp bounds how long a captured callback can be sent again (CALLBACK_TOLERANCE_S), and
 * within that time the API takes one signed callback once (SeenSignatures).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a callback's timestamp may be from the API's clock, either way. */
export const CALLBACK_TOLERANCE_S = 300;

export function signCallback(secret: string, timestamp: number | string, rawBody: string | Buffer): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
}

/** `invalid`: no timestamp, or a signature that does not match; `stale`: signed too long ago (or ahead). */
export type CallbackSignatureCheck = 'valid' | 'invalid' | 'stale';

export function checkCallbackSignature(
  secret: string,
  rawBody: Buffer,
  timestamp: string | undefined,
  signature: string | undefined,
  nowMs: number,
): CallbackSignatureCheck {
  if (!timestamp || !/^\d{1,12}$/.test(timestamp) || !signature?.startsWith('sha256=')) return 'invalid';
  const expected = Buffer.from(signCallback(secret, timestamp, rawBody));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
  return Math.abs(nowMs / 1000 - Number(timestamp)) > CALLBACK_TOLERANCE_S ? 'stale' : 'valid';
}

/**
 * The signatures of callbacks taken (or being placed) within the tolerance, in this process: the same signed callback
 * sent again (a replay, or an agency resending the same bytes) is answered without asking the application. A callback
 * that was not taken is forgotten, so it can be sent again.
 */
export class SeenSignatures {
  /** Signature → the instant (ms) after which its timestamp is stale anyway; in arrival order. */
  private readonly until = new Map<string, number>();

  constructor(private readonly max = 100_000) {}

  has(signature: string, nowMs: number): boolean {
    this.forgetBefore(nowMs);
    return this.until.has(signature);
  }

  add(signature: string, timestamp: string, nowMs: number): void {
    this.forgetBefore(nowMs);
    this.until.set(signature, (Number(timestamp) + CALLBACK_TOLERANCE_S) * 1000);
    if (this.until.size > this.max) this.until.delete(this.until.keys().next().value!);
  }

  delete(signature: string): void {
    this.until.delete(signature);
  }

  /** Drops the oldest entries whose time is up (arrival order is close to timestamp order). */
  private forgetBefore(nowMs: number): void {
    for (const [signature, until] of this.until) {
      if (until > nowMs) break;
      this.until.delete(signature);
    }
  }
}
