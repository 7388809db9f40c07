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
import { nearestRank, percentiles } from './stats';
import { benchApplication, startKaibanWith } from './workloads';

/**
 * Latency in milliseconds. autocannon reports p97.5, not p95, so both sides give p97.5 (the loops' by nearest rank);
 * `count` is the number of answers measured.
 */
export interface LoadLatency {
  count: number;
  p50: number;
  p97_5: number;
  p99: number;
  max: number;
  mean: number;
}

export interface LoadFigures {
  /** Successful (2xx) requests per second. */
  perSecond: number;
  latency: LoadLatency;
  requests: number;
  /** Requests that failed: `non2xx` answers plus `errors` (connection errors, timeouts included). */
  failures: number;
  /** Answers other than 2xx (autocannon only; a bare call fails with an error instead). */
  non2xx: number;
  /** Calls that threw (the loops) or connection errors, timeouts included (autocannon). */
  errors: number;
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
      p97_5: result.latency.p97_5,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.average,
    },
    requests: ok + result.non2xx + result.errors,
    // autocannon's `errors` already count its `timeouts`.
    failures: result.non2xx + result.errors,
    non2xx: result.non2xx,
    errors: result.errors,
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
  const { count, p50, p99, max, mean } = percentiles(latencies);
  return {
    perSecond: latencies.length / elapsed,
    latency: { count, p50, p97_5: nearestRank(latencies, 97.5), p99, max, mean },
    requests: latencies.length + failures,
    failures,
    non2xx: 0,
    errors: failures,
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
    // Failed requests do not fail the run (bench/README.md): the table prints them in a row of their own.
    for (const [label, figures] of [
      ['POST', post],
      ['POST baseline', postBaseline],
      ['GET', get],
      ['GET baseline', getBaseline],
    ] as const) {
      if (figures.failures) {
        log(
          `api: ${label}: ${figures.failures} of ${figures.requests} requests failed (${figures.non2xx} non-2xx, ${figures.errors} errors)`,
        );
      }
    }
    return { connections, durationSeconds: duration, post, postBaseline, get, getBaseline };
  } finally {
    await submissions.process.stop();
  }
}
