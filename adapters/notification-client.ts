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
  dossier: { dossierId: string; digest: string };
}

/** What the platform answered: it took the notification (or had it already). */
export interface NotificationReceipt {
  notificationId: string;
  acceptedAt: string;
}

/** The platform could not be reached or answered with a server error: worth retrying. */
export class NotificationUnavailableError extends Error {
  override name = 'NotificationUnavailableError';
}

/** The platform refused the notification itself (a 4xx): retrying will not help; an operator decides. */
export class NotificationRefusedError extends Error {
  override name = 'NotificationRefusedError';
}

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
        throw new NotificationUnavailableError(
          `the message platform is unreachable at ${options.url}: ${(err as Error).message}`,
        );
      }
      if (statusCode >= 500 || statusCode === 429 || statusCode === 408) {
        throw new NotificationUnavailableError(`the message platform answered ${statusCode}`);
      }
      if (statusCode < 200 || statusCode > 299) {
        // The platform may quote the phone number it refused: scrubbed before it reaches the history and the logs.
        throw new NotificationRefusedError(
          `the message platform refused the notification with ${statusCode}: ${maskPersonalData(text).slice(0, 300)}`,
        );
      }
      let acceptedAt: unknown;
      try {
        acceptedAt = (JSON.parse(text) as { acceptedAt?: unknown }).acceptedAt;
      } catch {
        // checked below
      }
      if (typeof acceptedAt !== 'string') {
        throw new NotificationUnavailableError(`the message platform answered ${statusCode} without acceptedAt`);
      }
      return { notificationId: notification.notificationId, acceptedAt };
    },
  };
}
