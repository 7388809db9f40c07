/**
 * Capacity: applications parked for a long time — waiting on a manual review (a company name with
 * 投资) or on a slow agency (the police take 10 minutes to decide the seal filing) — and what
 * they cost: worker RSS, dev-server RSS, and how fast operators list and filter them through
 * `GET /v1/applications`. Baselines: the same number of baseline runs parked after a step (worker
 * and server memory), and the same visibility queries sent bare (list latency).
 */
import { performance } from 'node:perf_hooks';
import { visibilityQuery } from '../api/routes/operator';
import { memoryOf } from '../test/helpers/processes';
import { configureAgencies, type BenchEnvironment } from './environment';
import { percentiles, pool, sleep, type Percentiles } from './stats';
import { benchApplication, startBaseline, startKaiban, waitUntilSettled } from './workloads';

export interface CapacityResult {
  parked: number;
  kaiban: { workerRss: number; workerPeakRss: number; serverRssGrowth: number; parkSeconds: number };
  baseline: { workerRss: number; workerPeakRss: number; serverRssGrowth: number; parkSeconds: number };
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
  await pool(Array.from({ length: size }), 50, () => startBaseline(env, benchApplication(), 'name'));
  await waitUntilSettled(env.bareClient, env.baselineQueue, async () => true);
  const baselinePark = (performance.now() - t1) / 1000;
  await sleep(2000);
  const baselineWorker = rss(env.baselineWorker.pid);
  const serverEnd = rss(env.temporal.pid).rss;
  await configureAgencies(env.simulator, { processingMs: 0 }, ['police']);

  return {
    parked: size,
    kaiban: {
      workerRss: kaibanWorker.rss,
      workerPeakRss: kaibanWorker.peakRss,
      serverRssGrowth: serverAfterKaiban - serverBefore,
      parkSeconds: kaibanPark,
    },
    baseline: {
      workerRss: baselineWorker.rss,
      workerPeakRss: baselineWorker.peakRss,
      serverRssGrowth: serverEnd - serverBeforeBaseline,
      parkSeconds: baselinePark,
    },
    serverRssEnd: serverEnd,
    list: percentiles(listTimes),
    listBaseline: percentiles(bareTimes),
    listByQuery,
    parkedIds: handles.map((h) => h.workflowId),
  };
}
