/**
 * A whole Kaiban stack on a real Temporal server for one test file: the agency simulator, the API
 * (real HTTP on a free port) and a worker on a task queue of its own.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Logger } from 'pino';
import { startApi, type RunningApi } from '../../api/server';
import type { ActivityDeps, WorkflowSettings } from '../../activities';
import { loadConfig } from '../../config';
import { createLogger } from '../../observability/logger';
import { startSimulator, type RunningSimulator, type StartSimulatorOptions } from '../../simulator/server';
import { activityDepsFromConfig, createKaibanWorker, type WorkerTuning } from '../../worker/worker';
import { dataConverter } from '../../security/codec';
import { securityTestEnv } from './auth';
import { workflowBundle } from './temporal';
import { AGENCY_IDS } from '../../domain/steps';

export const CALLBACK_SECRET = 'test-agency-callback-secret';

export interface Stack {
  api: RunningApi;
  simulator: RunningSimulator;
  worker: Worker;
  taskQueue: string;
  /**
   * A deployment of the worker with changed configuration (e.g. SLA_CALENDAR_FILE with a newly published year): the
   * running worker drains and stops, and one built from the configuration with `env` over it takes the task queue, with
   * `workflowCode` (default the project's: a worker whose code was given at the start is replaced by the project's).
   */
  redeployWorker(env: Record<string, string>, workflowCode?: WorkflowBundleWithSourceMap): Promise<void>;
  /** Stops the worker, the API and the simulator (not the Temporal server). */
  close(): Promise<void>;
}

export async function startStack(
  env: TestWorkflowEnvironment,
  options: {
    simulator?: Partial<StartSimulatorOptions>;
    settings?: Partial<WorkflowSettings>;
    /** Configuration overrides (e.g. KAIBAN_CODEC_KEYS, rate limits). */
    env?: Record<string, string>;
    /** The API's Temporal client (default env.client; its codec keys must match the config's). */
    client?: Client;
    logger?: Logger;
    /** Changes the worker's activity dependencies (e.g. the acceptance clock of the SLA tests). */
    activityDeps?: (deps: ActivityDeps) => ActivityDeps;
    /** Worker tuning (e.g. maxCachedWorkflows 0: every workflow task replays the history, as after a crash). */
    tuning?: WorkerTuning;
    /** The worker's workflow code (default the project's: workflowBundle()). */
    workflowCode?: WorkflowBundleWithSourceMap;
  } = {},
): Promise<Stack> {
  const taskQueue = `kaiban-test-${randomUUID()}`;
  const logger = options.logger ?? createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const simulator = await startSimulator({
    port: 0,
    seed: 'test',
    callbackSecrets: Object.fromEntries(AGENCY_IDS.map((a) => [a, CALLBACK_SECRET])) as Record<
      (typeof AGENCY_IDS)[number],
      string
    >,
    logger,
    ...options.simulator,
  });
  const configWith = (overrides: Record<string, string> = {}) =>
    loadConfig({
      ...process.env,
      ...securityTestEnv(),
      // Tests submit many applications as one applicant; test/security/ checks the limits themselves.
      RATE_LIMIT_SUBMISSIONS_PER_IDENTITY: '100000',
      RATE_LIMIT_SUBMISSIONS_PER_IP: '100000',
      RATE_LIMIT_REQUESTS_PER_IDENTITY: '1000000',
      // The simulator stands in for the city's message platform too (a test may point elsewhere, or turn it off).
      APPLICANT_NOTIFY_URL: `${simulator.url}/notifications`,
      ...options.env,
      PORT: '0',
      TEMPORAL_TASK_QUEUE: taskQueue,
      AGENCY_BASE_URL: simulator.url,
      AGENCY_CALLBACK_SECRET: CALLBACK_SECRET,
      // The time-skipping test server has no Kaiban search attributes registered; a test may go without them too.
      TEMPORAL_SEARCH_ATTRIBUTES: options.env?.TEMPORAL_SEARCH_ATTRIBUTES ?? String(!env.supportsTimeSkipping),
      ...overrides,
    });
  const config = configWith();
  const api = await startApi({ config, client: options.client ?? env.client, logger, port: 0 });
  const createWorker = async (workerConfig: typeof config, workflowCode = options.workflowCode) => {
    const deps = activityDepsFromConfig(workerConfig, logger);
    const activityDeps: ActivityDeps = {
      ...deps,
      callbackBaseUrl: api.url,
      settings: {
        ...deps.settings,
        ...options.settings,
      },
    };
    return createKaibanWorker({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      activityDeps: options.activityDeps ? options.activityDeps(activityDeps) : activityDeps,
      dataConverter: dataConverter(workerConfig),
      workflowBundle: workflowCode ?? (await workflowBundle()),
      ...(options.tuning ? { tuning: options.tuning } : {}),
    });
  };
  let worker = await createWorker(config);
  let running = worker.run();
  return {
    api,
    simulator,
    get worker() {
      return worker;
    },
    taskQueue,
    async redeployWorker(overrides, workflowCode) {
      // One worker per task queue in a process: the old one stops first.
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      worker = await createWorker(configWith(overrides), workflowCode ?? (await workflowBundle()));
      running = worker.run();
    },
    async close() {
      // The API first, while the worker still answers: callbacks it has taken reach their workflows.
      await api.close();
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await simulator.close();
    },
  };
}

/** One record as the simulator's `GET /records` lists it (simulator/README.md). */
export interface SimulatorRecord {
  agency: string;
  procedure: string;
  ticket: string;
  idempotencyKey: string;
  reference: { applicationId: string; step: string };
  status: 'pending' | 'approved' | 'rejected' | 'cancelled' | 'revoked';
  live: boolean;
  result?: Record<string, unknown> & { reservedName?: string };
  createdAt: string;
  decidedAt?: string;
  cancelledAt?: string;
}

/** The simulator's records, optionally for one application. */
export async function agencyRecords(simulator: RunningSimulator, applicationId?: string): Promise<SimulatorRecord[]> {
  const query = applicationId ? `?applicationId=${encodeURIComponent(applicationId)}` : '';
  const res = await fetch(`${simulator.url}/records${query}`);
  return ((await res.json()) as { records: SimulatorRecord[] }).records;
}

export async function patchSimulator(simulator: RunningSimulator, patch: unknown): Promise<void> {
  const res = await fetch(`${simulator.url}/admin/config`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(patch),
  });
  if (!res.ok) throw new Error(`simulator PATCH failed: ${res.status} ${await res.text()}`);
}
