/**
 * The benchmark's world, all on this machine: one Temporal dev server (the CLI, SQLite on a temp
 * file, as `npm start` runs it), the agency simulator in this process (the "outside world"), the
 * Kaiban API and worker as their production entries (api/main.ts, worker/main.ts) in child
 * processes, and the baseline worker (bench/baseline-worker.ts) with the same tuning knobs.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadConfig, type Config } from '../config';
import { AGENCY_IDS, type AgencyId } from '../domain/steps';
import { createLogger } from '../observability/logger';
import { dataConverter, newCodecKeySpec } from '../security/codec';
import { signToken, type Role } from '../security/jwt';
import { startSimulator, type RunningSimulator } from '../simulator/server';
import {
  freePort,
  startTemporalProcess,
  startTsProcess,
  startWorkerProcess,
  waitForHttp,
  type NodeProcess,
  type TemporalProcess,
} from '../test/helpers/processes';

/** The owner index key of the benchmark's API, so that starts made without it carry the tag it would set. */
export const BENCH_OWNER_INDEX_KEY = randomBytes(32).toString('base64url');

export interface ApiProcess {
  url: string;
  process: NodeProcess;
}

export interface BenchEnvironment {
  dir: string;
  temporal: TemporalProcess;
  simulator: RunningSimulator;
  /** The environment every child process gets (plus its own task queue). */
  childEnv: NodeJS.ProcessEnv;
  config: Config;
  kaibanQueue: string;
  baselineQueue: string;
  /** A Kaiban client: the encrypting data converter, as the API's. */
  kaibanClient: Client;
  /** A bare client: the default data converter, nothing of Kaiban. */
  bareClient: Client;
  api: ApiProcess;
  kaibanWorker: NodeProcess;
  baselineWorker: NodeProcess;
  token(role: Role, subject?: string): Promise<string>;
  /** Rejects as soon as the server, the API or a worker dies on its own (a crash fails the benchmark). */
  crashed: Promise<never>;
  /** Another API process whose task queue has no worker: submissions stay queued and cost nothing after. */
  startApi(taskQueue: string): Promise<ApiProcess>;
  close(): Promise<void>;
}

const CALLBACK_SECRET = randomBytes(16).toString('hex');

/** The workers' Node flags: BENCH_WORKER_NODE_OPTIONS ('' for none), else the deployed worker's heap cap. */
export function workerNodeOptions(): string {
  return process.env.BENCH_WORKER_NODE_OPTIONS ?? '--max-old-space-size=768';
}

export async function startBenchEnvironment(options: { log?: (line: string) => void } = {}): Promise<BenchEnvironment> {
  const log = options.log ?? (() => {});
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kaiban-bench-'));
  const closers: Array<() => Promise<void>> = [];
  let closing = false;
  const close = async () => {
    closing = true;
    for (const c of closers.reverse()) await c().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    log('starting the Temporal dev server');
    // The server's own metrics count its requests and persistence operations per application (bench/server-metrics.ts).
    const temporal = await startTemporalProcess({
      dbFilename: path.join(dir, 'temporal.sqlite'),
      metricsPort: await freePort(),
    });
    closers.push(() => temporal.stop());

    const simulator = await startSimulator({
      port: 0,
      seed: 'bench',
      callbackSecrets: Object.fromEntries(AGENCY_IDS.map((a) => [a, CALLBACK_SECRET])) as Record<AgencyId, string>,
      agencies: Object.fromEntries(AGENCY_IDS.map((a) => [a, { processingMs: 0 }])),
      logger: createLogger({ level: 'silent' }),
    });
    closers.push(() => simulator.close());

    const apiPort = await freePort();
    const kaibanQueue = `kaiban-bench-${randomUUID()}`;
    const baselineQueue = `baseline-bench-${randomUUID()}`;
    const childEnv: NodeJS.ProcessEnv = {
      NODE_ENV: 'development',
      // Request and activity log lines at info would cost Kaiban CPU the baseline does not spend.
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      KAIBAN_DATA_DIR: dir,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_SEARCH_ATTRIBUTES: 'true',
      AGENCY_BASE_URL: simulator.url,
      // Kaiban notifies each applicant at the archive step: a cost the baseline does not have, measured as deployed.
      APPLICANT_NOTIFY_URL: `${simulator.url}/notifications`,
      AGENCY_CALLBACK_SECRET: CALLBACK_SECRET,
      KAIBAN_PUBLIC_URL: `http://127.0.0.1:${apiPort}`,
      AUTH_SECRET: randomBytes(32).toString('base64url'),
      KAIBAN_CODEC_KEYS: newCodecKeySpec('bench'),
      KAIBAN_OWNER_INDEX_KEY: BENCH_OWNER_INDEX_KEY,
      // The API benchmark floods submissions from one identity on purpose.
      RATE_LIMIT_SUBMISSIONS_PER_IDENTITY: '1000000000',
      RATE_LIMIT_SUBMISSIONS_PER_IP: '1000000000',
      RATE_LIMIT_REQUESTS_PER_IDENTITY: '1000000000',
    };
    const config = loadConfig({ ...process.env, ...childEnv, TEMPORAL_TASK_QUEUE: kaibanQueue });

    const connection = await Connection.connect({ address: temporal.address });
    closers.push(() => connection.close());
    const kaibanClient = new Client({ connection, dataConverter: dataConverter(config) });
    const bareConnection = await Connection.connect({ address: temporal.address });
    closers.push(() => bareConnection.close());
    const bareClient = new Client({ connection: bareConnection });

    const startApi = async (taskQueue: string, port?: number): Promise<ApiProcess> => {
      const apiPortHere = port ?? (await freePort());
      const child = startTsProcess(
        'api/main.ts',
        { ...childEnv, PORT: String(apiPortHere), TEMPORAL_TASK_QUEUE: taskQueue },
        'api',
      );
      closers.push(() => child.stop());
      const url = `http://127.0.0.1:${apiPortHere}`;
      await waitForHttp(`${url}/healthz`, child);
      return { url, process: child };
    };
    log('starting the API and the workers');
    const api = await startApi(kaibanQueue, apiPort);
    // Node flags of both workers alike: by default the heap cap a deployed worker runs with (docker-compose.yml).
    const workerEnv = { ...childEnv, NODE_OPTIONS: workerNodeOptions() };
    const [kaibanWorker, baselineWorker] = await Promise.all([
      startWorkerProcess({ address: temporal.address, taskQueue: kaibanQueue, env: workerEnv, label: 'kaiban-worker' }),
      startWorkerProcess({
        address: temporal.address,
        taskQueue: baselineQueue,
        env: workerEnv,
        entry: 'bench/baseline-worker.ts',
        label: 'baseline-worker',
      }),
    ]);
    closers.push(
      () => kaibanWorker.stop(),
      () => baselineWorker.stop(),
    );
    const watched: Array<[string, Promise<unknown>, () => string]> = [
      ['the Temporal dev server', temporal.exited, () => ''],
      ['the API', api.process.exited, () => api.process.output()],
      ['the Kaiban worker', kaibanWorker.exited, () => kaibanWorker.output()],
      ['the baseline worker', baselineWorker.exited, () => baselineWorker.output()],
    ];
    const crashed = new Promise<never>((_, reject) => {
      for (const [name, exited, output] of watched) {
        void exited.then((exit) => {
          if (!closing) reject(new Error(`${name} died during the benchmark (${JSON.stringify(exit)}):\n${output()}`));
        });
      }
    });
    crashed.catch(() => undefined); // observed by the caller; never an unhandled rejection

    return {
      dir,
      temporal,
      simulator,
      childEnv,
      config,
      kaibanQueue,
      baselineQueue,
      kaibanClient,
      bareClient,
      api,
      kaibanWorker,
      baselineWorker,
      crashed,
      token: (role, subject = `bench-${role}`) => signToken(config, { subject, role }, '6h'),
      startApi: (taskQueue) => startApi(taskQueue),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Changes the simulator's agencies at run time (all six when `agencies` is omitted). */
export async function configureAgencies(
  simulator: RunningSimulator,
  settings: Record<string, unknown>,
  agencies: readonly AgencyId[] = AGENCY_IDS,
): Promise<void> {
  const res = await fetch(`${simulator.url}/admin/config`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ agencies: Object.fromEntries(agencies.map((a) => [a, settings])) }),
  });
  if (!res.ok) throw new Error(`simulator PATCH failed: ${res.status} ${await res.text()}`);
}
