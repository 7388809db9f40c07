/**
 * The API under load with autocannon: `POST /v1/applications` against a loop of bare
 * `client.workflow.start` calls (same concurrency, same start options, no HTTP, no security,
 * no codec), and `GET /v1/applications/:id` against the same Temporal calls made directly
 * (api/read-status.ts readStatus: the status query, and the result when the server rejects it for a closed
 * application).
 *
 * Submissions go to an API whose task queue has no worker, so what is measured is accepting an
 * application, not running it; GETs read applications of the throughput and capacity runs.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { readStatus } from '../api/read-status';
import type { BenchEnvironment } from './environment';
import { percentiles, type Percentiles } from './stats';
import { benchApplication, startKaibanWith } from './workloads';

export interface LoadFigures {
  /** Successful (2xx) requests per second. */
  perSecond: number;
  latency: Percentiles;
  requests: number;
  failures: number;
}

export interface ApiResult {
  connections: number;
  durationSeconds: number;
  post: LoadFigures;
  postBaseline: LoadFigures;
  get: LoadFigures;
  getBaseline: LoadFigures;
}

async function cannon(options: autocannon.Options): Promise<LoadFigures> {
  const result = await autocannon(options);
  const ok = result['2xx'];
  return {
    perSecond: ok / result.duration,
    latency: {
      count: ok + result.non2xx,
      p50: result.latency.p50,
      p95: result.latency.p97_5, // autocannon reports 97.5, not 95
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.average,
    },
    requests: ok + result.non2xx + result.errors,
    failures: result.non2xx + result.errors + result.timeouts,
  };
}

/** `connections` loops calling `call` for `seconds`: the baseline side of each pair. */
async function loops(
  connections: number,
  seconds: number,
  call: (i: number) => Promise<unknown>,
): Promise<LoadFigures> {
  const latencies: number[] = [];
  let failures = 0;
  let i = 0;
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          await call(i++);
          latencies.push(performance.now() - t);
        } catch {
          failures++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  return {
    perSecond: latencies.length / elapsed,
    latency: percentiles(latencies),
    requests: latencies.length + failures,
    failures,
  };
}

export async function measureApi(
  env: BenchEnvironment,
  options: {
    duration: number;
    connections: number;
    statusIds: string[];
    parkedIds: string[];
    log: (line: string) => void;
  },
): Promise<ApiResult> {
  const { duration, connections, log } = options;
  const queue = `bench-queued-${randomUUID()}`;
  const submissions = await env.startApi(queue);
  const applicantToken = await env.token('applicant');
  const operatorToken = await env.token('operator');
  const body = JSON.stringify(benchApplication());
  try {
    log(`api: POST /v1/applications, ${connections} connections, ${duration} s`);
    // A short warm-up: connections, JIT, the token verifier's caches.
    await cannon({
      url: `${submissions.url}/v1/applications`,
      method: 'POST',
      connections,
      duration: 1,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${applicantToken}` },
      body,
    });
    const post = await cannon({
      url: `${submissions.url}/v1/applications`,
      method: 'POST',
      connections,
      duration,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${applicantToken}` },
      body,
    });
    log(`api: POST baseline (bare client.workflow.start)`);
    const application = benchApplication();
    const postBaseline = await loops(connections, duration, () => startKaibanWith(env.bareClient, queue, application));

    // Status reads: finished applications (a query the server rejects, then the result) and parked ones (one query).
    const ids = [...options.statusIds.slice(0, 500), ...options.parkedIds.slice(0, 500)];
    if (ids.length === 0) throw new Error('the GET benchmark needs applications: run it with throughput or capacity');
    let next = 0;
    log(`api: GET /v1/applications/:id over ${ids.length} applications`);
    const get = await cannon({
      url: env.api.url,
      connections,
      duration,
      headers: { authorization: `Bearer ${operatorToken}` },
      requests: [
        { method: 'GET', setupRequest: (req) => ({ ...req, path: `/v1/applications/${ids[next++ % ids.length]}` }) },
      ],
    });
    log(`api: GET baseline (the same Temporal calls, no HTTP)`);
    const getBaseline = await loops(connections, duration, (i) => readStatus(env.kaibanClient, ids[i % ids.length]!));
    if (post.failures || get.failures) log(`api: failures: POST ${post.failures}, GET ${get.failures}`);
    return { connections, durationSeconds: duration, post, postBaseline, get, getBaseline };
  } finally {
    await submissions.process.stop();
  }
}
