/**
 * Reliability: the worker process is killed (SIGKILL, no goodbye) while more than a hundred
 * applications are in flight, then started again. Nothing is lost and nothing is done twice: one
 * filing per step at the agencies, one SLA alert per (application, scope, level) at the webhook.
 */
import type { ApplicationStatus } from '../domain/status';
import { freshApplication } from './helpers/fixtures';
import type { NodeProcess } from './helpers/processes';
import { realtimeSlaEnv } from './helpers/sla-realtime';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver';
import {
  countWorkflows,
  duplicateOrMissingFilings,
  sleep,
  startReliabilityStack,
  submit,
  until,
  waitForResults,
  type ReliabilityStack,
} from './helpers/reliability-stack';

const APPLICATIONS = 120;
const WEBHOOK_SECRET = 'reliability-webhook-secret';

let stack: ReliabilityStack;
let worker: NodeProcess | undefined;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver(WEBHOOK_SECRET);
  // Every agency takes a second to decide: an application spends several seconds in flight, and
  // its 5-second SLA budget raises a warning and a breach before, during and after the kill.
  stack = await startReliabilityStack({
    simulator: {
      agencies: Object.fromEntries(
        ['market', 'police', 'tax', 'hrss', 'fund', 'bank'].map((a) => [a, { processingMs: 1000 }]),
      ),
    },
    env: realtimeSlaEnv({
      budgetsSeconds: { application: 5 },
      webhookUrl: receiver.url,
      webhookSecret: WEBHOOK_SECRET,
    }),
  });
  await stack.startApiHere();
  worker = await stack.startWorker('worker-1');
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await receiver?.close();
});

describe('worker killed mid-run', () => {
  it(`when the worker is SIGKILLed with ${APPLICATIONS} applications in flight and restarted, then all complete with one filing per step and one alert per SLA level`, async () => {
    const ids = await Promise.all(
      Array.from(
        { length: APPLICATIONS },
        async (_, i) => (await submit(stack.apiUrl, freshApplication(), `worker-kill-${i}`)).id,
      ),
    );
    expect(new Set(ids).size).toBe(APPLICATIONS);

    // Kill once at least 100 are running (visibility shows them): the "at least 100 in flight".
    const inFlight = await until(
      () => countWorkflows(stack, `KaibanStatus = 'running'`),
      (n) => n >= 100,
      30_000,
      '100 applications running',
    );
    await worker!.stop('SIGKILL');
    const exit = await worker!.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(inFlight).toBeGreaterThanOrEqual(100);

    // Agencies keep deciding and calling back while no worker runs: the signals wait in Temporal.
    await sleep(3000);
    worker = await stack.startWorker('worker-2');

    const results = await waitForResults(stack.client, ids, 100_000);
    const states = [...results.values()].map((s: ApplicationStatus) => s.status);
    expect(states.filter((s) => s !== 'completed')).toEqual([]);
    expect(await duplicateOrMissingFilings(stack.simulator, ids)).toEqual([]);

    // SLA alerts: one per (application, scope, level), each delivered; a second POST of an alert is
    // allowed only where its delivery was retried (the kill cut an attempt short) — same alert id,
    // which receivers deduplicate on.
    const alerts = [...results.values()].flatMap((s) => s.sla?.alerts ?? []);
    expect(alerts.length).toBeGreaterThanOrEqual(APPLICATIONS); // every application breached its 5 s at least once
    const keys = alerts.map((a) => `${a.applicationId}:${a.scope}:${a.level}`);
    expect(new Set(keys).size).toBe(keys.length);
    const posts = new Map<string, number>();
    for (const r of receiver.received) posts.set(r.alertId, (posts.get(r.alertId) ?? 0) + 1);
    const problems: string[] = [];
    for (const alert of alerts) {
      const webhook = alert.deliveries.find((d) => d.channel.startsWith('webhook:'));
      const count = posts.get(alert.alertId) ?? 0;
      if (webhook?.state !== 'delivered') problems.push(`${alert.alertId}: ${webhook?.state ?? 'no webhook delivery'}`);
      if (count === 0) problems.push(`${alert.alertId}: never received`);
      if (count > 1 && (webhook?.attempts ?? 1) < 2)
        problems.push(`${alert.alertId}: received ${count} times from a single delivery`);
    }
    expect(problems).toEqual([]);
    expect(receiver.received.every((r) => r.signatureValid)).toBe(true);
    expect([...posts.keys()].filter((id) => !alerts.some((a) => a.alertId === id))).toEqual([]);
  }, 180_000);
});
