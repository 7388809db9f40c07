/**
 * Calendar data never changes a recorded history: a history with SLA timers and alerts, recorded on the
 * time-skipping server with the 2037 test calendar (helpers/sla-world.ts), is replayed by a bundle whose shipped
 * calendar data were changed (helpers/altered-schedules.ts: no 2037 National Day at all). The replay succeeds and
 * raises the same alerts at the same instants — the deadlines come from the calendar data recorded in history by the
 * `computeDeadlines` activity, not from the data the code ships with.
 *
 * The history lives in test/histories/sla/ (test/replay.test.ts replays it too, with the normal bundle). It is
 * recorded here only with KAIBAN_RECORD_HISTORIES=1 (after an intended workflow change); a missing file fails.
 * Recorded without the payload codec, like the other histories, so it stays readable and key-independent.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@temporalio/client';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import webpack from 'webpack';
import { createAgencyClient } from '../adapters/agency-client';
import { loadConfig } from '../config';
import { loadSlaConfig } from '../config/sla';
import { createWorkingCalendar, formatShanghai } from '../domain/calendar';
import type { SlaAlert } from '../domain/sla';
import type { ApplicationStatus } from '../domain/status';
import { AGENCY_IDS } from '../domain/steps';
import { createLogger } from '../observability/logger';
import { FAILURE_CONVERTER_PATH } from '../security/codec';
import { startSimulator } from '../simulator/server';
import { createKaibanWorker, replaySinks } from '../worker/worker';
import { statusQuery } from '../workflows/messages';
import { OFFICIAL_SCHEDULES as ALTERED } from './helpers/altered-schedules';
import { startApplication } from './helpers/fixtures';
import { historyToJson, readHistoryFile } from './helpers/histories';
import { eventually, skipTo, TEST_YEAR, writeTestCalendarFile } from './helpers/sla-world';
import type { SlaReplaySinks } from './helpers/sla-replay-interceptors';
import { startTimeSkippingServer, workflowBundle } from './helpers/temporal';

const H = 3_600_000;
const DAY = 24 * H;
const HISTORY = path.resolve(__dirname, 'histories/sla/holiday-breach.json');
const dataConverter = { failureConverterPath: FAILURE_CONVERTER_PATH };
const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/** Runs the National Day scenario of sla-workflow.test.ts (log channel only) and writes its history. */
async function record(): Promise<void> {
  const env = await startTimeSkippingServer();
  const logger = createLogger({ level: 'silent' });
  const simulator = await startSimulator({
    port: 0,
    seed: 'sla-replay',
    callbackSecrets: Object.fromEntries(AGENCY_IDS.map((a) => [a, 'sla-replay-callback-secret'])) as Record<
      (typeof AGENCY_IDS)[number],
      string
    >,
    agencies: {
      ...Object.fromEntries(AGENCY_IDS.map((a) => [a, { processingMs: 0 }])),
      police: { processingMs: 1, callbacks: false },
    },
    logger,
  });
  const accepted = Date.parse(`${TEST_YEAR}-09-30T16:00:00+08:00`);
  const sla = loadSlaConfig(
    loadConfig({
      ...process.env,
      SLA_CALENDAR_FILE: writeTestCalendarFile(),
      SLA_WEBHOOK_URLS: '',
      SLA_BUDGETS: '',
      SLA_OFFICE_HOURS: '',
      SLA_COUNTING_RULE: 'working-time',
    }),
  );
  const taskQueue = `sla-replay-${randomUUID()}`;
  const worker = await createKaibanWorker({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue,
    dataConverter,
    workflowBundle: await workflowBundle(),
    activityDeps: {
      agencies: createAgencyClient({
        urls: Object.fromEntries(AGENCY_IDS.map((a) => [a, `${simulator.url}/agencies/${a}`])) as Record<
          (typeof AGENCY_IDS)[number],
          string
        >,
        timeoutMs: 5000,
      }),
      settings: {
        pollInitialMs: 10 * DAY,
        pollMaxMs: 10 * DAY,
        agencyMaxAttempts: 3,
        agencyCallTimeoutMs: 10_000,
        searchAttributes: false,
      },
      callbackBaseUrl: 'http://127.0.0.1:9',
      logger,
      now: () => new Date(accepted),
      sla: { settings: sla.settings, logger },
    },
  });
  const running = worker.run();
  try {
    const client = new Client({ connection: env.connection });
    await skipTo(env, accepted);
    const handle = await startApplication(client, { taskQueue, submittedAt: accepted });
    await eventually(
      () => handle.query(statusQuery).catch(() => undefined),
      (s) => s?.steps.find((x) => x.id === 'seal')?.state === 'pending',
    );
    await skipTo(env, accepted + 10 * DAY + H);
    await eventually(
      () => handle.describe(),
      (d) => d.status.name === 'COMPLETED',
    );
    const status = (await handle.query(statusQuery)) as ApplicationStatus;
    expect(status.sla?.alerts.map((a) => `${a.scope}:${a.level}`)).toEqual([
      'seal:warning',
      'seal:breached',
      'application:warning',
      'application:breached',
    ]);
    mkdirSync(path.dirname(HISTORY), { recursive: true });
    writeFileSync(HISTORY, historyToJson(await handle.fetchHistory()));
  } finally {
    worker.shutdown();
    await running;
    await simulator.close();
    await env.teardown();
  }
}

/** The alerts recorded in the history: the inputs of the scheduled `deliverAlert` activities of the log channel. */
function recordedAlerts(): SlaAlert[] {
  const events = readHistoryFile(HISTORY).events ?? [];
  return events.flatMap((e) => {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name !== 'deliverAlert') return [];
    const request = JSON.parse(Buffer.from(scheduled.input!.payloads![0]!.data!).toString('utf8')) as {
      channel: string;
      alert: SlaAlert;
    };
    return request.channel === 'log' ? [request.alert] : [];
  });
}

/** The workflow code with the alert observer, and with helpers/altered-schedules.ts as the shipped calendar data. */
function alteredBundle(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    workflowInterceptorModules: [require.resolve('./helpers/sla-replay-interceptors')],
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: silent,
    webpackConfigHook: (config) => ({
      ...config,
      plugins: [
        ...(config.plugins ?? []),
        new webpack.NormalModuleReplacementPlugin(
          /calendar[\\/]schedules(\.ts)?$/,
          require.resolve('./helpers/altered-schedules'),
        ),
      ],
    }),
  });
}

beforeAll(async () => {
  try {
    Runtime.install({
      logger: new DefaultLogger('ERROR'),
      telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } },
    });
  } catch {
    // Already installed in this process.
  }
  if (process.env.KAIBAN_RECORD_HISTORIES === '1') await record();
  // Recorded silently, a deleted history would pass against the code that just wrote it.
  else if (!existsSync(HISTORY)) {
    throw new Error(
      `${path.relative(process.cwd(), HISTORY)} is missing: restore it from git, or record it on purpose with ` +
        `KAIBAN_RECORD_HISTORIES=1 npx jest test/sla-replay.test.ts --runInBand`,
    );
  }
});

describe('SLA deadlines in a replayed history', () => {
  it('when the shipped calendar data change, a recorded history still replays, with the deadlines recorded in it', async () => {
    const bundle = await alteredBundle();
    // The workflow code carries no calendar data at all — neither the altered nor the shipped schedules are in the
    // bundle (the replacement stays, in case an import ever brings them back): every deadline below must come from
    // the data recorded in history.
    expect(bundle.code).not.toContain('no National Day holiday');
    expect(bundle.code).not.toContain('国务院办公厅关于2026年部分节假日安排的通知');

    const observed: SlaAlert[] = [];
    const sinks: {
      [K in keyof SlaReplaySinks]: {
        [F in keyof SlaReplaySinks[K]]: { fn: (info: unknown, alert: SlaAlert) => void; callDuringReplay: boolean };
      };
    } = {
      slaReplay: { alertRaised: { fn: (_info, alert) => observed.push(alert), callDuringReplay: true } },
    };
    await Worker.runReplayHistory(
      { workflowBundle: bundle, dataConverter, sinks: { ...replaySinks(), ...sinks } },
      readHistoryFile(HISTORY),
      'sla-holiday-breach',
    );

    const recorded = recordedAlerts();
    expect(recorded.map((a) => `${a.scope}:${a.level}`)).toEqual([
      'seal:warning',
      'seal:breached',
      'application:warning',
      'application:breached',
    ]);
    expect(observed).toEqual(recorded);
    const applicationBreach = observed.find((a) => a.scope === 'application' && a.level === 'breached')!;
    expect(applicationBreach.deadline).toBe(`${TEST_YEAR}-10-08T16:00:00+08:00`); // after the recorded National Day holiday

    // With the altered data, 7 h from the same acceptance would be due on 1 October, a day the recorded data keep off.
    const altered = createWorkingCalendar({ schedules: ALTERED });
    expect(formatShanghai(altered.addWorkingTime(Date.parse(`${TEST_YEAR}-09-30T16:00:00+08:00`), 7 * H))).toBe(
      `${TEST_YEAR}-10-01T16:00:00+08:00`,
    );
  });
});
