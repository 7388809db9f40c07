import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { request } from 'undici';
import type { AgencyId } from './config';
import { signCallback } from './signature';

/** Waits before the 2nd, 3rd and 4th attempt; after the 4th the callback is given up (polling is the fallback). */
export const CALLBACK_RETRY_DELAYS_MS = [100, 400, 1600] as const;
const ATTEMPT_TIMEOUT_MS = 5_000;
const MAX_DELIVERIES = 10_000;

export type DeliveryOutcome = 'in_flight' | 'delivered' | 'failed';

export interface CallbackDelivery {
  agency: AgencyId;
  ticket: string;
  attempts: number;
  outcome: DeliveryOutcome;
}

/**
 * Posts signed decision callbacks with bounded retries. Never throws: a callback that cannot be
 * delivered is logged and forgotten, as a real agency would.
 */
export class CallbackSender {
  /** Aborts every attempt and retry wait at close; each callback in flight listens to it (no listener limit). */
  private readonly shutdown = (() => {
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    return controller;
  })();
  private readonly inFlight = new Set<Promise<void>>();
  /** The latest deliveries (at most MAX_DELIVERIES kept: a long-running simulator must not grow without bound). */
  readonly deliveries: CallbackDelivery[] = [];

  constructor(
    private readonly logger: Logger,
    private readonly retryDelaysMs: readonly number[] = CALLBACK_RETRY_DELAYS_MS,
  ) {}

  send(agency: AgencyId, ticket: string, url: string, secret: string, body: object): void {
    if (this.shutdown.signal.aborted) return;
    const delivery: CallbackDelivery = { agency, ticket, attempts: 0, outcome: 'in_flight' };
    this.deliveries.push(delivery);
    if (this.deliveries.length > MAX_DELIVERIES) this.deliveries.splice(0, this.deliveries.length - MAX_DELIVERIES);
    const rawBody = JSON.stringify(body);
    // Signed at each attempt: a retry minutes later carries a fresh timestamp.
    const headers = () => {
      const timestamp = Math.floor(Date.now() / 1000);
      return {
        'content-type': 'application/json',
        'x-agency-id': agency,
        'x-agency-timestamp': String(timestamp),
        'x-agency-signature': signCallback(secret, timestamp, rawBody),
      };
    };
    const running = this.deliver(delivery, url, headers, rawBody).catch((error: unknown) => {
      delivery.outcome = 'failed';
      this.logger.error({ err: error, agency, ticket }, 'callback delivery crashed');
    });
    this.inFlight.add(running);
    void running.finally(() => this.inFlight.delete(running));
  }

  /** Resolves when every callback sent so far is delivered or given up. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  close(): void {
    this.shutdown.abort();
  }

  private async deliver(
    delivery: CallbackDelivery,
    url: string,
    headers: () => Record<string, string>,
    rawBody: string,
  ) {
    const { agency, ticket } = delivery;
    const target = redactUrl(url);
    for (let attempt = 0; attempt <= this.retryDelaysMs.length; attempt++) {
      if (attempt > 0) {
        const waited = await sleep(this.retryDelaysMs[attempt - 1], true, { signal: this.shutdown.signal }).catch(
          () => false,
        );
        if (!waited) break;
      }
      delivery.attempts = attempt + 1;
      const failure = await this.attempt(url, headers(), rawBody);
      if (failure === undefined) {
        delivery.outcome = 'delivered';
        this.logger.info({ agency, ticket, target, attempts: delivery.attempts }, 'callback delivered');
        return;
      }
      this.logger.warn({ agency, ticket, target, attempt: delivery.attempts, failure }, 'callback attempt failed');
      if (this.shutdown.signal.aborted) break;
    }
    delivery.outcome = 'failed';
    this.logger.warn(
      { agency, ticket, target, attempts: delivery.attempts },
      'callback given up; polling is the fallback',
    );
  }

  /** One POST; the failure's description, or undefined on a 2xx answer. */
  private async attempt(url: string, headers: Record<string, string>, rawBody: string): Promise<string | undefined> {
    const controller = new AbortController();
    const abort = () => controller.abort();
    const timeout = setTimeout(abort, ATTEMPT_TIMEOUT_MS);
    this.shutdown.signal.addEventListener('abort', abort, { once: true });
    try {
      const response = await request(url, { method: 'POST', headers, body: rawBody, signal: controller.signal });
      await response.body.dump().catch(() => undefined);
      return response.statusCode >= 200 && response.statusCode < 300 ? undefined : `HTTP ${response.statusCode}`;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    } finally {
      clearTimeout(timeout);
      this.shutdown.signal.removeEventListener('abort', abort);
    }
  }
}

/** Origin and path only: a callback URL's query may carry a token. */
function redactUrl(url: string): string {
  try {
    const { origin, pathname } = new URL(url);
    return origin + pathname;
  } catch {
    return '[invalid url]';
  }
}
