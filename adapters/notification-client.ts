/**
 * The HTTP adapter to the city's message platform, through which the archive step notifies the applicant that their
 * business is started (PRODUCT.md: "notify the applicant"). The platform sends the SMS or e-mail; Kaiban posts one
 * notification per application, under an Idempotency-Key (its id), so a retried attempt is not a second message. The
 * agency simulator stands in for the platform (`POST /notifications`, simulator/README.md).
 */
import { request } from 'undici';
import { maskPersonalData } from '../observability/logger';
import { isProtocolError, readCapped } from './agency-client';

export interface ApplicantNotification {
  /** `NTF-<application id>`: one per application; the platform takes a repeat as the same notification. */
  notificationId: string;
  applicationId: string;
  event: 'business-started';
  /** Who is told, and where: the applicant of the application. */
  to: { name: string; phone: string; email?: string };
  message: { zh: string; en: string };
  results: { uscc?: string; licenseNumber?: string; eLicenseUrl?: string };
  /**
   * The dossier's id (not its digest: a retry of the archive step after an incident seals a dossier whose audit trail
   * grew, and the notification sent again under its key must say the same).
   */
  dossier: { dossierId: string };
}

/** What the platform answered: it took the notification (or had it already). */
export interface NotificationReceipt {
  notificationId: string;
  acceptedAt: string;
}

/**
 * The platform could not be reached, answered with a server error, or turned Kaiban away (401, 403, 404, a redirect:
 * its address or credentials are wrong): worth retrying once someone has looked, so the archive step's attempts run
 * out into an incident.
 */
export class NotificationUnavailableError extends Error {
  override name = 'NotificationUnavailableError';
}

/**
 * The platform refused the notification itself (400, 422: a mobile number it cannot send to), in its own error body:
 * sending it again changes nothing. The dossier is sealed all the same and says the applicant was not notified.
 */
export class NotificationRefusedError extends Error {
  override name = 'NotificationRefusedError';
}

/**
 * The answers that refuse the notification itself, given with the platform's error body (`{"error": {"code": …}}`);
 * any other non-2xx is the platform not taking it now — a 409 too, which under an Idempotency-Key says "the first
 * attempt is still being sent", not "no".
 */
const REFUSALS = new Set([400, 410, 413, 422]);

export interface NotificationClient {
  notify(notification: ApplicantNotification): Promise<NotificationReceipt>;
}

export function createNotificationClient(options: { url: string; timeoutMs: number }): NotificationClient {
  return {
    async notify(notification) {
      let statusCode: number;
      let text: string;
      try {
        const response = await request(options.url, {
          method: 'POST',
          headers: {
            accept: 'application/json',
            'content-type': 'application/json',
            'idempotency-key': notification.notificationId,
          },
          body: JSON.stringify(notification),
          signal: AbortSignal.timeout(options.timeoutMs),
        });
        statusCode = response.statusCode;
        text = await readCapped(response.body);
      } catch (err) {
        // Not the URL: a platform authenticated by a token in its address would have it in every incident's message.
        throw new NotificationUnavailableError(`the message platform is unreachable: ${(err as Error).message}`);
      }
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        // no body, or not JSON
      }
      if (statusCode < 200 || statusCode > 299) {
        if (!REFUSALS.has(statusCode) || !isProtocolError(json)) {
          throw new NotificationUnavailableError(`the message platform answered ${statusCode}`);
        }
        // The platform may quote the phone number it refused: scrubbed before it reaches the history and the logs.
        throw new NotificationRefusedError(
          `the message platform refused the notification with ${statusCode}: ${maskPersonalData(text).slice(0, 300)}`,
        );
      }
      // Taken when the platform says so: a 204, or its receipt for this notification. Any other success — a web page
      // served for every path, a login form — is an address that is not the platform's: retried into an incident.
      const receipt = json as { notificationId?: unknown; acceptedAt?: unknown } | undefined;
      if (statusCode !== 204 && receipt?.notificationId !== notification.notificationId) {
        throw new NotificationUnavailableError(
          `the message platform answered ${statusCode} without a receipt for ${notification.notificationId}: is APPLICANT_NOTIFY_URL its address?`,
        );
      }
      const acceptedAt = receipt?.acceptedAt;
      const given = typeof acceptedAt === 'string' ? Date.parse(acceptedAt) : Number.NaN;
      return {
        notificationId: notification.notificationId,
        acceptedAt: new Date(Number.isNaN(given) ? Date.now() : given).toISOString(),
      };
    },
  };
}
