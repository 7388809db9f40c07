/**
 * The HTTP adapter to the city's message platform, through which the archive step notifies the applicant that their
 * business is started (PRODUCT.md: "notify the applicant"). The platform sends the SMS or e-mail; Kaiban posts one
 * notification per application, under an Idempotency-Key (its id), so a retried attempt is not a second message. The
 * agency simulator stands in for the platform (`POST /notifications`, simulator/README.md).
 */
import { request } from 'undici';
import { maskPersonalData } from '../observability/logger';

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
 * The platform refused the notification itself (400, 409, 422: a mobile number it cannot send to): sending it again
 * changes nothing. The dossier is sealed all the same and says the applicant was not notified.
 */
export class NotificationRefusedError extends Error {
  override name = 'NotificationRefusedError';
}

/** The answers that refuse the notification itself; any other non-2xx is the platform not taking it now. */
const REFUSALS = new Set([400, 409, 410, 413, 422]);

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
        text = await response.body.text();
      } catch (err) {
        // Not the URL: a platform authenticated by a token in its address would have it in every incident's message.
        throw new NotificationUnavailableError(`the message platform is unreachable: ${(err as Error).message}`);
      }
      if (statusCode < 200 || statusCode > 299) {
        if (!REFUSALS.has(statusCode)) {
          throw new NotificationUnavailableError(`the message platform answered ${statusCode}`);
        }
        // The platform may quote the phone number it refused: scrubbed before it reaches the history and the logs.
        throw new NotificationRefusedError(
          `the message platform refused the notification with ${statusCode}: ${maskPersonalData(text).slice(0, 300)}`,
        );
      }
      // Taken: its own instant if it gives one, else the answer's (a 204 is taken too).
      let acceptedAt: unknown;
      try {
        acceptedAt = (JSON.parse(text) as { acceptedAt?: unknown }).acceptedAt;
      } catch {
        // no body, or not JSON
      }
      const given = typeof acceptedAt === 'string' ? Date.parse(acceptedAt) : Number.NaN;
      return {
        notificationId: notification.notificationId,
        acceptedAt: new Date(Number.isNaN(given) ? Date.now() : given).toISOString(),
      };
    },
  };
}
