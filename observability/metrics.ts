/**
 * Prometheus metrics (`GET /metrics`): one prom-client registry per process. Activities count the SLA
 * alerts and completions where they happen (the worker); the API serves the registry and counts the
 * open applications by SLA level from Temporal visibility at scrape time. In the embedded default
 * (`npm start`) worker and API share the process, hence the registry.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { SlaLevel } from '../domain/sla';

export interface KaibanMetrics {
  registry: Registry;
  /** Alerts raised, by level and scope (`application` or a step id). */
  slaAlerts: Counter<'level' | 'scope'>;
  /** Failed webhook delivery attempts (each is retried), by channel. */
  slaAlertDeliveryFailures: Counter<'channel'>;
  /** Working hours from submission (the clock start) to completion, pauses excluded, of completed applications. */
  slaCompletionWorkingHours: Histogram<never>;
  /** Open applications by SLA level, counted at scrape time by `openApplicationsByLevel`. */
  slaOpenApplications: Gauge<'level'>;
  /** Agency callbacks the API took, by outcome (api/callback-placement.ts PlacementOutcome, `pending`, `not_found`). */
  agencyCallbacks: Counter<'outcome'>;
  /** Queries the API sent to place callbacks: fewer than the callbacks when they arrive together. */
  agencyCallbackQueries: Counter<never>;
  /** Open applications waiting for a person, by task (review, correction, incident), counted at scrape time. */
  openTasks: Gauge<'task'>;
  /** Set by the API when visibility has Kaiban's search attributes; the gauge stays empty otherwise. */
  openApplicationsByLevel?: () => Promise<Record<SlaLevel, number>>;
  /** Set by the API likewise: applications by what they wait for from a person (the same counts as /v1/stats openByTask). */
  openApplicationsByTask?: () => Promise<Record<string, number>>;
  /** Where a failed count is reported (set by the API, whose logger the process-wide registry does not have). */
  logger?: Logger;
}

export function createMetrics(options: { defaultMetrics?: boolean; logger?: Logger } = {}): KaibanMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'kaiban_' });
  /**
   * A gauge's `collect`: the counts `source()` gives at scrape time (nothing while it is unset). A scrape must not fail
   * because visibility is slow or Temporal down (the source gives up within seconds): the gauge is then left empty
   * for this scrape — no figure rather than a stale one an alert would trust — and the failure is logged.
   */
  const countedAtScrape = (
    label: string,
    source: () => (() => Promise<Record<string, number>>) | undefined,
    what: string,
  ) =>
    async function (this: Gauge<string>): Promise<void> {
      const counts = source();
      if (!counts) return;
      try {
        for (const [key, value] of Object.entries(await counts())) this.set({ [label]: key }, value);
      } catch (err) {
        this.reset();
        (options.logger ?? metrics.logger)?.warn({ err }, `${what}: visibility count failed`);
      }
    };
  const metrics: KaibanMetrics = {
    registry,
    slaAlerts: new Counter({
      name: 'kaiban_sla_alerts_total',
      help: 'SLA alerts raised (one per application, scope and level), by level and scope',
      labelNames: ['level', 'scope'],
      registers: [registry],
    }),
    slaAlertDeliveryFailures: new Counter({
      name: 'kaiban_sla_alert_delivery_failures_total',
      help: 'Failed SLA alert webhook delivery attempts (each is retried until delivered), by channel',
      labelNames: ['channel'],
      registers: [registry],
    }),
    slaCompletionWorkingHours: new Histogram({
      name: 'kaiban_sla_completion_working_hours',
      help: 'Working hours from submission to completion of completed applications (pauses excluded); the promise is 7',
      buckets: [0.5, 1, 2, 3, 4, 5, 6, 7, 8, 10, 14, 21, 35],
      registers: [registry],
    }),
    agencyCallbacks: new Counter({
      name: 'kaiban_agency_callbacks_total',
      help:
        'Agency decision callbacks taken by the API, by outcome: pending (a "still pending" report), needless (the ' +
        'application had the decision), signalled (it awaited it), signalled_in_doubt (no verdict within the ' +
        'budget, or the filing still unanswered), finished (the application had ended), not_found, foreign (the ' +
        "ticket is another step's: refused), duplicate (the same signed callback again: taken once)",
      labelNames: ['outcome'],
      registers: [registry],
    }),
    agencyCallbackQueries: new Counter({
      name: 'kaiban_agency_callback_queries_total',
      help: 'Queries the API sent to the applications to place agency callbacks (callbacks arriving together share one)',
      registers: [registry],
    }),
    slaOpenApplications: new Gauge({
      name: 'kaiban_sla_open_applications',
      help: 'Open (running or compensating) applications by SLA level (the worst level of any scope), from Temporal visibility',
      labelNames: ['level'],
      registers: [registry],
      collect: countedAtScrape('level', () => metrics.openApplicationsByLevel, 'open applications by SLA level'),
    }),
    openTasks: new Gauge({
      name: 'kaiban_open_tasks',
      help:
        'Applications waiting for a person, by task: review, correction (the applicant), incident (a step, or an undo ' +
        'the agency refused, also after completion), from Temporal visibility — alert on incidents that stay',
      labelNames: ['task'],
      registers: [registry],
      collect: countedAtScrape('task', () => metrics.openApplicationsByTask, 'open tasks'),
    }),
  };
  return metrics;
}

let processWide: KaibanMetrics | undefined;

/** The registry of this process, shared by the activities and the API. */
export function processMetrics(): KaibanMetrics {
  processWide ??= createMetrics();
  return processWide;
}

/** The series only a worker counts (its activities send the alerts and report completions). */
export const WORKER_SERIES = [
  'kaiban_sla_alerts_total',
  'kaiban_sla_alert_delivery_failures_total',
  'kaiban_sla_completion_working_hours',
] as const;

/**
 * An API run on its own (api/main.ts) serves no worker series: they would read 0 for ever there, while the workers
 * count them (WORKER_METRICS_PORT). `npm start` runs both in one process and serves them all.
 */
export function withoutWorkerSeries(metrics: KaibanMetrics): KaibanMetrics {
  for (const name of WORKER_SERIES) metrics.registry.removeSingleMetric(name);
  return metrics;
}

export function metricsRouter(metrics: KaibanMetrics): express.Router {
  const router = express.Router();
  router.get('/metrics', async (_req, res) => {
    res.setHeader('content-type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });
  return router;
}

/**
 * `/metrics` for a process without the API — a standalone worker (WORKER_METRICS_PORT), whose activities count the
 * alerts and completions. Unauthenticated like any exporter: bind it to a private interface.
 */
export async function startMetricsServer(
  metrics: KaibanMetrics,
  options: { port: number; host: string },
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
