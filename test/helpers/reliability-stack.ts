/**
 * The stack of the reliability tests, in real processes so that a test can kill any of them: the
 * Temporal dev server (CLI, SQLite file, restartable), Kaiban workers as child processes of the
 * production entry (worker/main.ts), the API in a child process (api/main.ts) or in this one, and
 * the agency simulator in this process (it plays the outside world, which does not crash with us).
 * Security is real: test tokens and codec keys from ./auth, passed to every child.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { startApi, type RunningApi } from '../../api/server';
import type { Application } from '../../domain/application';
import type { ApplicationStatus } from '../../domain/status';
import { AGENCY_IDS, STEP_IDS, type AgencyId } from '../../domain/steps';
import { loadConfig, type Config } from '../../config';
import { createLogger } from '../../observability/logger';
import { startSimulator, type RunningSimulator, type StartSimulatorOptions } from '../../simulator/server';
import { authHeaders, securityTestEnv, testDataConverter } from './auth';
import {
  freePort,
  startTemporalProcess,
  startTsProcess,
  startWorkerProcess,
  waitForHttp,
  type NodeProcess,
  type TemporalProcess,
} from './processes';
import { agencyRecords, type SimulatorRecord } from './stack';

export { agencyRecords, patchSimulator } from './stack';

export const AGENCY_STEPS = STEP_IDS.filter((s) => s !== 'archive');

export interface ReliabilityStack {
  temporal: TemporalProcess;
  simulator: RunningSimulator;
  /** A client of this process (test codec keys); its connection reconnects after a server restart. */
  client: Client;
  taskQueue: string;
  apiUrl: string;
  /** Environment of the worker and API children (the caller's overrides included). */
  childEnv: NodeJS.ProcessEnv;
  config: Config;
  startWorker(label?: string): Promise<NodeProcess>;
  /** The API in a child process (api/main.ts) on the stack's API port. */
  startApiProcess(): Promise<NodeProcess>;
  /** The API in this process on the stack's API port. */
  startApiHere(): Promise<RunningApi>;
  close(): Promise<void>;
}

const CALLBACK_SECRET = randomBytes(16).toString('hex');

export async function startReliabilityStack(
  options: { simulator?: Partial<StartSimulatorOptions>; env?: Record<string, string> } = {},
): Promise<ReliabilityStack> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kaiban-reliability-'));
  const closers: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const temporal = await startTemporalProcess({ dbFilename: path.join(dir, 'temporal.sqlite') });
    closers.push(() => temporal.stop('SIGKILL'));
    const simulator = await startSimulator({
      port: 0,
      seed: `reliability-${randomUUID()}`,
      callbackSecrets: Object.fromEntries(AGENCY_IDS.map((a) => [a, CALLBACK_SECRET])) as Record<AgencyId, string>,
      logger: createLogger({ level: 'silent' }),
      ...options.simulator,
    });
    closers.push(() => simulator.close());

    const apiPort = await freePort();
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const taskQueue = `kaiban-reliability-${randomUUID()}`;
    const childEnv: NodeJS.ProcessEnv = {
      ...securityTestEnv(),
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      KAIBAN_DATA_DIR: dir,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      TEMPORAL_SEARCH_ATTRIBUTES: 'true',
      AGENCY_BASE_URL: simulator.url,
      APPLICANT_NOTIFY_URL: `${simulator.url}/notifications`,
      AGENCY_CALLBACK_SECRET: CALLBACK_SECRET,
      KAIBAN_PUBLIC_URL: apiUrl,
      PORT: String(apiPort),
      // A lost callback (the API or the server was down) is found by polling within seconds.
      AGENCY_POLL_INITIAL_SECONDS: '1',
      AGENCY_POLL_MAX_SECONDS: '3',
      RATE_LIMIT_SUBMISSIONS_PER_IDENTITY: '100000',
      RATE_LIMIT_SUBMISSIONS_PER_IP: '100000',
      RATE_LIMIT_REQUESTS_PER_IDENTITY: '1000000',
      ...options.env,
    };
    const config = loadConfig({ ...process.env, ...childEnv });
    const connection = await Connection.connect({ address: temporal.address });
    closers.push(() => connection.close());
    const client = new Client({ connection, dataConverter: testDataConverter() });

    return {
      temporal,
      simulator,
      client,
      taskQueue,
      apiUrl,
      childEnv,
      config,
      async startWorker(label = 'worker') {
        const worker = await startWorkerProcess({ address: temporal.address, taskQueue, env: childEnv, label });
        closers.push(() => worker.stop('SIGKILL'));
        return worker;
      },
      async startApiProcess() {
        const api = startTsProcess('api/main.ts', childEnv, 'api');
        closers.push(() => api.stop('SIGKILL'));
        await waitForHttp(`${apiUrl}/healthz`, api);
        return api;
      },
      async startApiHere() {
        const api = await startApi({ config, client, logger: createLogger({ level: 'silent' }), port: apiPort });
        closers.push(() => api.close());
        return api;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Submits through the API as the test applicant; retries while the API is unreachable. */
export async function submit(
  apiUrl: string,
  application: Application,
  idempotencyKey?: string,
): Promise<{ id: string; status: number; replayed: boolean }> {
  const headers = {
    'content-type': 'application/json',
    ...(await authHeaders('applicant')),
    ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
  };
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(`${apiUrl}/v1/applications`, {
        method: 'POST',
        headers,
        body: JSON.stringify(application),
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status === 202) {
        const body = (await res.json()) as { id: string };
        return { id: body.id, status: res.status, replayed: res.headers.get('idempotent-replayed') === 'true' };
      }
      if (res.status < 500) throw new Error(`POST /v1/applications answered ${res.status}: ${await res.text()}`);
    } catch (err) {
      if ((err as Error).message.startsWith('POST /v1/applications answered') || attempt > 100) throw err;
    }
    await sleep(200);
  }
}

/**
 * Waits for every workflow's result, retrying through server restarts; the final statuses by id. Fails after
 * `timeoutMs` (the result's long poll carries the deadline) naming an application that had not finished and where it
 * stood.
 */
export async function waitForResults(
  client: Client,
  ids: readonly string[],
  timeoutMs: number,
): Promise<Map<string, ApplicationStatus>> {
  const deadline = Date.now() + timeoutMs;
  const results = new Map<string, ApplicationStatus>();
  await Promise.all(
    ids.map(async (id) => {
      const handle: WorkflowHandle = client.workflow.getHandle(id);
      for (;;) {
        try {
          const result = await client.connection.withDeadline(deadline, () => handle.result());
          results.set(id, result as ApplicationStatus);
          return;
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) throw err;
          if (Date.now() > deadline)
            throw new Error(`${id} did not finish in ${timeoutMs} ms (${await whereItStands(handle)})`, {
              cause: err,
            });
          await sleep(500);
        }
      }
    }),
  );
  return results;
}

/** An unfinished application's state for a failure message: its last events and pending activities. */
async function whereItStands(handle: WorkflowHandle): Promise<string> {
  try {
    const description = await handle.describe();
    const pending = (description.raw.pendingActivities ?? []).map(
      (a) => `${a.activityType?.name} attempt ${a.attempt} ${a.lastFailure?.message ?? ''}`,
    );
    const events = (await handle.fetchHistory()).events ?? [];
    const last = events.slice(-3).map((e) => temporal.api.enums.v1.EventType[e.eventType ?? 0]);
    return `${description.status.name}; last events ${last.join(', ')}; pending activities: ${pending.join('; ') || 'none'}`;
  } catch (err) {
    return `not described: ${(err as Error).message}`;
  }
}

/** A visibility count on the stack's task queue (retried while the server is away). */
export async function countWorkflows(stack: ReliabilityStack, clause?: string): Promise<number> {
  const query = `TaskQueue = '${stack.taskQueue}'${clause ? ` AND ${clause}` : ''}`;
  for (let attempt = 0; ; attempt++) {
    try {
      return (await stack.client.workflow.count(query)).count;
    } catch (err) {
      if (attempt > 50) throw err;
      await sleep(200);
    }
  }
}

/** Polls `probe` until `ok`; fails with the last value after `timeoutMs`. */
export async function until<T>(
  probe: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs: number,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`${what} not reached in ${timeoutMs} ms; last: ${JSON.stringify(value).slice(0, 300)}`);
    await sleep(250);
  }
}

/**
 * The simulator's records grouped by application and step: exactly one record per agency step is
 * the proof that no retry, replay or restart filed anything twice.
 */
export async function recordsByStep(simulator: RunningSimulator): Promise<Map<string, Map<string, SimulatorRecord[]>>> {
  const byApplication = new Map<string, Map<string, SimulatorRecord[]>>();
  for (const record of await agencyRecords(simulator)) {
    const { applicationId, step } = record.reference;
    let steps = byApplication.get(applicationId);
    if (!steps) byApplication.set(applicationId, (steps = new Map()));
    steps.set(step, [...(steps.get(step) ?? []), record]);
  }
  return byApplication;
}

/** Applications with anything other than exactly one record for each of `steps` (an empty list is the goal). */
export async function duplicateOrMissingFilings(
  simulator: RunningSimulator,
  ids: readonly string[],
  steps: readonly string[] = AGENCY_STEPS,
): Promise<string[]> {
  const byApplication = await recordsByStep(simulator);
  const problems: string[] = [];
  for (const id of ids) {
    const filed = byApplication.get(id) ?? new Map<string, SimulatorRecord[]>();
    for (const step of steps) {
      const count = filed.get(step)?.length ?? 0;
      if (count !== 1) problems.push(`${id} ${step}: ${count} records`);
    }
    for (const step of filed.keys()) if (!steps.includes(step)) problems.push(`${id} ${step}: unexpected record`);
  }
  return problems;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
