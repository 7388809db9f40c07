/**
 * A real HTTP receiver for SLA alert webhooks: records every request with its raw body, checks the
 * signature as a receiver would, and can answer 500 to the first deliveries of an alert.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SlaAlert } from '../../domain/sla';

export interface ReceivedAlert {
  alertId: string;
  signatureValid: boolean;
  answered: number;
  body: SlaAlert;
  rawBody: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedAlert[];
  /** Answer 500 to the next `times` deliveries of alerts whose id ends with `suffix`. */
  failNext(suffix: string, times: number): void;
  /** Deliveries answered 2xx, one entry per alert id (a receiver deduplicates on X-Kaiban-Alert-Id). */
  accepted(applicationId?: string): SlaAlert[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const received: ReceivedAlert[] = [];
  const failures: Array<{ suffix: string; left: number }> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const alertId = String(req.headers['x-kaiban-alert-id'] ?? '');
      const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`);
      const given = Buffer.from(String(req.headers['x-kaiban-signature'] ?? ''));
      const failure = failures.find((f) => f.left > 0 && alertId.endsWith(f.suffix));
      if (failure) failure.left--;
      const answered = failure ? 500 : 200;
      received.push({
        alertId,
        signatureValid: expected.length === given.length && timingSafeEqual(expected, given),
        answered,
        body: JSON.parse(raw.toString('utf8')) as SlaAlert,
        rawBody: raw.toString('utf8'),
        headers: req.headers,
      });
      res.statusCode = answered;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/sla-alerts`,
    received,
    failNext(suffix, times) {
      failures.push({ suffix, left: times });
    },
    accepted(applicationId) {
      const byId = new Map<string, SlaAlert>();
      for (const r of received)
        if (r.answered < 300 && (!applicationId || r.body.applicationId === applicationId)) byId.set(r.alertId, r.body);
      return [...byId.values()];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
