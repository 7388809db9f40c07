/**
 * Capacity: applications parked for a long time — waiting on a manual review (a company name with
 * 投资) or on a slow agency (the police take 10 minutes to decide the seal filing) — and what
 * they cost: worker RSS, dev-server RSS, and how fast operators list and filter them through
 * `GET /v1/applications`. Baselines: the same number of baseline runs parked after a step (worker
 * and server memory), and the same visibility queries sent bare (list latency).
 *
 * The dev server's RSS growth is measured one side after the other on the same server, Kaiban first: the
 * baseline's grows a heap the Kaiban runs (and the list queries) have already grown, and Go does not give memory
 * back at once, so it can come out small or negative; its window also holds the describe calls that check the
 * baseline's parking. The two deltas are not a like-for-like comparison.
 */
import { performance } from 'node:perf_hooks';
import { temporal } from '@temporalio/proto';
import { visibilityQuery } from '../api/routes/operator';
import { memoryOf } from '../test/helpers/processes';
import { configureAgencies, type BenchEnvironment } from './environment';
import { percentiles, pool, sleep, type Percentiles } from './stats';
import { benchApplication, startBaseline, startKaiban, waitUntilSettled } from './workloads';

export interface CapacitySide {
  /** The worker's current RSS (VmRSS), 2 s after its runs are parked. */
  workerRssAfterParking: number;
  /** The worker's lifetime peak RSS (VmHWM): includes every earlier phase of the run (throughput rounds, latency). */
  workerLifetimePeakRss: number;
  /** The dev server's RSS growth while this side parked (see the note above: not comparable across sides). */
  serverRssGrowth: number;
  parkSeconds: number;
  /** Runs seen parked before the memory was read: Kaiban by its filings at the simulator, the baseline by describe. */
  parkedVerified: number;
}

export interface CapacityResult {
  parked: number;
  kaiban: CapacitySide;
  baseline: CapacitySide;
  /** How the server's growth was measured, for readers of the JSON. */
  serverRssGrowthMeasured: string;
  serverRssEnd: number;
  list: Percentiles;
  listBaseline: Percentiles;
  listByQuery: Record<string, Percentiles>;
  parkedIds: string[];
}

const rss = (pid: number) => memoryOf(pid) ?? { rss: NaN, peakRss: NaN };

async function countRecords(env: BenchEnvironment): Promise<number> {
  const res = await fetch(`${env.simulator.url}/records`);
  return ((await res.json()) as { records: unknown[] }).records.length;
}

/**
 * Adds to `parked` the baseline runs of `ids` that are parked — running, with no activity and no workflow task
 * pending: done with their step and waiting for a signal that never comes — and returns how many are. Parked is for
 * good, so each run is described until it is seen parked, then no more. A run that is no longer running fails.
 */
async function parkedBaselineRuns(env: BenchEnvironment, ids: readonly string[], parked: Set<string>): Promise<number> {
  const { workflowService, options } = env.bareClient;
  const running = temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING;
  await pool(
    ids.filter((id) => !parked.has(id)),
    50,
    async (workflowId) => {
      const d = await workflowService.describeWorkflowExecution({
        namespace: options.namespace,
        execution: { workflowId },
      });
      const status = d.workflowExecutionInfo?.status;
      if (status !== running) throw new Error(`capacity: baseline run ${workflowId} is not running (status ${status})`);
      if (!d.pendingWorkflowTask && (d.pendingActivities?.length ?? 0) === 0) parked.add(workflowId);
    },
  );
  return parked.size;
}

export async function measureCapacity(
  env: BenchEnvironment,
  options: { size: number; listSamples: number; log: (line: string) => void },
): Promise<CapacityResult> {
  const { size, log } = options;
  // The simulator's longest decision delay is 10 minutes, so the slow-agency share must be parked
  // and measured within that: at most 1000 of them (about 3 minutes); the rest wait on a review.
  const onSlowAgency = Math.min(Math.floor(size / 2), 1000);
  const inReview = size - onSlowAgency;
  const recordsBefore = await countRecords(env);
  const serverBefore = rss(env.temporal.pid).rss;

  log(`capacity: parking ${size} Kaiban applications (${inReview} in review, ${onSlowAgency} on a slow agency)`);
  await configureAgencies(env.simulator, { processingMs: 600_000 }, ['police']);
  const t0 = performance.now();
  const handles = await pool(Array.from({ length: size }), 50, (_, i) =>
    startKaiban(env, benchApplication(i < inReview ? { word: '投资' } : {})),
  );
  // Parked: every filing made (review: the name; slow: name, license, seal, tax, social, fund), queue idle.
  const expected = recordsBefore + inReview * 1 + onSlowAgency * 6;
  await waitUntilSettled(env.kaibanClient, env.kaibanQueue, async () => (await countRecords(env)) >= expected);
  const kaibanPark = (performance.now() - t0) / 1000;
  await sleep(2000);
  const kaibanWorker = rss(env.kaibanWorker.pid);
  const serverAfterKaiban = rss(env.temporal.pid).rss;
  log(`capacity: parked in ${kaibanPark.toFixed(0)} s; worker RSS ${(kaibanWorker.rss / 2 ** 20).toFixed(0)} MiB`);

  // Operators' lists, through the API (token, HTTP, decoding) and bare (the same visibility query).
  const token = await env.token('operator');
  const fragment = [...benchApplication().company.name].slice(2, 4).join('');
  const queries: Record<string, string> = {
    'task=review': 'task=review',
    'status=running': 'status=running',
    'district+status': 'district=360113&status=running',
    'q (name)': `q=${encodeURIComponent(fragment)}`,
    'pageSize=100': 'pageSize=100',
  };
  const filtersOf = (query: string) =>
    Object.fromEntries(new URLSearchParams(query)) as Parameters<typeof visibilityQuery>[1] & { pageSize?: string };
  const listTimes: number[] = [];
  const bareTimes: number[] = [];
  const listByQuery: Record<string, Percentiles> = {};
  for (const [label, query] of Object.entries(queries)) {
    const times: number[] = [];
    for (let i = 0; i < options.listSamples; i++) {
      let t = performance.now();
      const res = await fetch(`${env.api.url}/v1/applications?${query}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`GET /v1/applications?${query} answered ${res.status}`);
      times.push(performance.now() - t);
      const { pageSize, ...filters } = filtersOf(query);
      t = performance.now();
      await env.bareClient.workflowService.listWorkflowExecutions({
        namespace: 'default',
        query: visibilityQuery(env.kaibanQueue, filters),
        pageSize: pageSize ? Number(pageSize) : 25,
      });
      bareTimes.push(performance.now() - t);
    }
    listTimes.push(...times);
    listByQuery[label] = percentiles(times);
  }

  log(`capacity: parking ${size} baseline runs`);
  await sleep(1000);
  const serverBeforeBaseline = rss(env.temporal.pid).rss;
  const t1 = performance.now();
  const baselineHandles = await pool(Array.from({ length: size }), 50, () =>
    startBaseline(env, benchApplication(), 'name'),
  );
  // Parked: every run seen waiting after its step (describe, not an empty backlog alone), then the queue idle.
  const baselineIds = baselineHandles.map((h) => h.workflowId);
  const baselineParked = new Set<string>();
  await waitUntilSettled(
    env.bareClient,
    env.baselineQueue,
    async () => (await parkedBaselineRuns(env, baselineIds, baselineParked)) >= size,
  );
  const baselinePark = (performance.now() - t1) / 1000;
  await sleep(2000);
  const baselineWorker = rss(env.baselineWorker.pid);
  log(
    `capacity: ${baselineParked.size} baseline runs parked in ${baselinePark.toFixed(0)} s; worker RSS ${(baselineWorker.rss / 2 ** 20).toFixed(0)} MiB`,
  );
  const serverEnd = rss(env.temporal.pid).rss;
  await configureAgencies(env.simulator, { processingMs: 0 }, ['police']);

  return {
    parked: size,
    kaiban: {
      workerRssAfterParking: kaibanWorker.rss,
      workerLifetimePeakRss: kaibanWorker.peakRss,
      serverRssGrowth: serverAfterKaiban - serverBefore,
      parkSeconds: kaibanPark,
      parkedVerified: size, // settled: the simulator holds at least the filings the parked applications make
    },
    baseline: {
      workerRssAfterParking: baselineWorker.rss,
      workerLifetimePeakRss: baselineWorker.peakRss,
      serverRssGrowth: serverEnd - serverBeforeBaseline,
      parkSeconds: baselinePark,
      parkedVerified: baselineParked.size,
    },
    serverRssGrowthMeasured:
      'one side after the other on the same dev server, Kaiban first: the baseline grows an already grown heap',
    serverRssEnd: serverEnd,
    list: percentiles(listTimes),
    listBaseline: percentiles(bareTimes),
    listByQuery,
    parkedIds: handles.map((h) => h.workflowId),
  };
}
