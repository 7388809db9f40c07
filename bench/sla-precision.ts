/**
 * SLA timer precision: with real time and short budgets, the delay between the instant an alert
 * level is reached (the alert's `thresholdAt`) and the alert's arrival at a webhook receiver,
 * against a bare Temporal timer plus one activity POSTing to the same receiver at the same
 * instants, on the same server.
 *
 * Applications wait in manual review (投资 in the name) so their clocks run: with the budgets
 * used, each raises four alerts — license warning (75 %) and breach, application warning and
 * breach — 15 to 40 seconds after acceptance (6 to 16 in the smoke run). A worker of its own carries the SLA settings (office
 * hours around the clock, today a working day, tiny budgets) so that no other benchmark is affected.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { realtimeSlaEnv } from '../test/helpers/sla-realtime';
import { startWorkerProcess } from '../test/helpers/processes';
import type { BenchEnvironment } from './environment';
import { percentiles, sleep, type Percentiles } from './stats';
import { benchApplication, newId, startKaibanWith } from './workloads';

/**
 * `samples` is the number of alerts that arrived; `expected` how many each side should have delivered (4 per
 * application, 4 per bare-timer probe) and `missing` how many did not arrive in time on each side. Missing alerts do
 * not fail the run: the table prints them in a row of their own.
 */
export type SlaResult =
  | {
      available: true;
      samples: number;
      delay: Percentiles;
      timerDelay: Percentiles;
      expected: number;
      missing: { kaiban: number; baseline: number };
    }
  | { available: false; reason: string };

/** Seconds after the clock start, e.g. license 20 s (warning at 15 s), application 40 s (warning at 30 s). */
type Budgets = { license: number; application: number };
const ALERTS_PER_APPLICATION = 4;

interface Arrival {
  at: number;
  body: Record<string, unknown>;
}

async function startReceiver(): Promise<{ url: string; arrivals: Arrival[]; close(): Promise<void> }> {
  const arrivals: Arrival[] = [];
  const server: Server = createServer((req, res) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      arrivals.push({ at, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`,
    arrivals,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export async function measureSlaPrecision(
  env: BenchEnvironment,
  options: { samples: number; budgetsSeconds?: Budgets; log: (line: string) => void },
): Promise<SlaResult> {
  const BUDGETS_SECONDS = options.budgetsSeconds ?? { license: 20, application: 40 };
  const receiver = await startReceiver();
  const taskQueue = `kaiban-sla-bench-${randomUUID()}`;
  const worker = await startWorkerProcess({
    address: env.temporal.address,
    taskQueue,
    env: {
      ...env.childEnv,
      ...realtimeSlaEnv({
        budgetsSeconds: BUDGETS_SECONDS,
        webhookUrl: receiver.url,
        webhookSecret: randomBytes(16).toString('hex'),
      }),
    },
    label: 'kaiban-sla-worker',
  });
  try {
    options.log(
      `sla: ${options.samples} applications in review with ${JSON.stringify(BUDGETS_SECONDS)} s budgets, and as many bare timers`,
    );
    const offsets = [
      0.75 * BUDGETS_SECONDS.license,
      BUDGETS_SECONDS.license,
      0.75 * BUDGETS_SECONDS.application,
      BUDGETS_SECONDS.application,
    ];
    for (let i = 0; i < options.samples; i++) {
      await startKaibanWith(env.kaibanClient, taskQueue, benchApplication({ word: '投资' }));
      const now = Date.now();
      await env.bareClient.workflow.start('timerProbe', {
        taskQueue: env.baselineQueue,
        workflowId: newId(),
        args: [{ url: receiver.url, probeId: `probe-${i}`, dueAtMs: offsets.map((s) => now + s * 1000) }],
      });
      await sleep(1000); // spread the due instants
    }
    const expected = 2 * options.samples * ALERTS_PER_APPLICATION;
    const deadline = Date.now() + (BUDGETS_SECONDS.application + 60) * 1000;
    while (receiver.arrivals.length < expected && Date.now() < deadline) await sleep(500);

    const delays: number[] = [];
    const timerDelays: number[] = [];
    const seen = new Set<string>();
    for (const { at, body } of receiver.arrivals) {
      if (typeof body.alertId === 'string') {
        if (seen.has(body.alertId)) continue; // a redelivery, deduplicated as a receiver would
        seen.add(body.alertId);
        delays.push(at - Date.parse(String(body.thresholdAt)));
      } else if (typeof body.dueAt === 'number') {
        timerDelays.push(at - body.dueAt);
      }
    }
    const perSide = options.samples * ALERTS_PER_APPLICATION;
    const missing = {
      kaiban: Math.max(0, perSide - delays.length),
      baseline: Math.max(0, perSide - timerDelays.length),
    };
    if (missing.kaiban || missing.baseline) {
      options.log(
        `sla: MISSING alerts: ${missing.kaiban} of ${perSide} Kaiban alerts and ${missing.baseline} of ${perSide} bare-timer POSTs did not arrive in time`,
      );
    }
    return {
      available: true,
      samples: delays.length,
      delay: percentiles(delays),
      timerDelay: percentiles(timerDelays),
      expected: perSide,
      missing,
    };
  } finally {
    await worker.stop();
    await receiver.close();
  }
}
