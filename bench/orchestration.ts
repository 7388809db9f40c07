/**
 * Orchestration figures: throughput (N applications at once, completed per second) and end-to-end
 * latency of one application at a time, Kaiban against the baseline on the same server and settings.
 */
import { performance } from 'node:perf_hooks';
import { configureAgencies, type BenchEnvironment } from './environment';
import { callbackCounters, outcomesBetween, type CallbackCounters } from '../test/helpers/metrics';
import { cpuTimeOf } from '../test/helpers/processes';
import {
  serverCounters,
  serverWorkPerApplication,
  type ServerCounters,
  type ServerWorkPerApplication,
} from './server-metrics';
import { mean, percentiles, pool, sleep, type Percentiles } from './stats';
import { finalStatus, startOne, type Kind } from './workloads';

/**
 * `kaiban-no-callbacks`: the agencies decide in their answer to the filing and do not call back, so
 * the workflow gets no redundant callback signals: how much of the gap those signals explain.
 */
export type Variant = Kind | 'kaiban-no-callbacks';

export interface ThroughputRound {
  kind: Variant;
  n: number;
  seconds: number;
  /** Completed runs per second (a round with a run that did not complete fails the benchmark). */
  perSecond: number;
  /** Applications that did not end `completed`: always 0 in a result, since the round throws otherwise. */
  notCompleted: number;
  /** Each application's submit-to-result time under this load. */
  latency: Percentiles;
  /**
   * CPU milliseconds per application, by process, from the round's start to its trailing work (callbacks in flight,
   * closed visibility records): the same span as `server`.
   */
  cpuMsPerApplication: Record<string, number>;
  /** What the API did with the agencies' callbacks during the round, from its /metrics (outcome → count, queries). */
  callbacks: CallbackCounters;
  /** The server's requests and persistence operations per application during the round (bench/server-metrics.ts). */
  server: ServerWorkPerApplication;
}

export type ServerWorkMeans = Pick<ServerWorkPerApplication, 'requests' | 'writes' | 'reads'>;

export interface CpuPerApplication {
  server: number;
  worker: number;
  api: number;
  simulatorAndLoad: number;
}

export interface ThroughputResult {
  n: number;
  rounds: ThroughputRound[];
  kaibanPerSecond: number;
  baselinePerSecond: number;
  ratio: number;
  noCallbacksPerSecond?: number;
  noCallbacksRatio?: number;
  /**
   * Each round's own ratio (its Kaiban rounds against the baseline round of the same repetition, run before or after
   * them in that repetition): how far the machine moved the figure within the run. `noCallbacks` with `withoutCallbacks`.
   */
  roundRatios: { kaiban: number[]; noCallbacks?: number[] };
  /**
   * Mean CPU ms per application by process (steadier than wall time on a shared machine): the dev server, each side's
   * own worker, the API (it takes the agencies' callbacks) and this process (the agency simulator and the load
   * generator). `kaibanNoCallbacks` with `withoutCallbacks`.
   */
  cpuMsPerApplication: {
    kaiban: CpuPerApplication;
    baseline: CpuPerApplication;
    kaibanNoCallbacks?: CpuPerApplication;
  };
  /** The API's callback counters over the Kaiban rounds (agencies calling back). */
  callbacks: CallbackCounters;
  /** Mean server requests and persistence operations per application (`kaibanNoCallbacks` with `withoutCallbacks`). */
  server: {
    kaiban: ServerWorkMeans;
    baseline: ServerWorkMeans;
    kaibanNoCallbacks?: ServerWorkMeans;
  };
  /** Ids of Kaiban applications that completed, for the API's GET benchmark. */
  completedIds: string[];
}

/** Starts `n` runs (at most `concurrency` start calls in flight), then waits for every result. */
async function throughputRound(
  env: BenchEnvironment,
  variant: Variant,
  n: number,
  concurrency: number,
): Promise<ThroughputRound & { ids: string[] }> {
  const kind: Kind = variant === 'baseline' ? 'baseline' : 'kaiban';
  if (variant === 'kaiban-no-callbacks') await configureAgencies(env.simulator, { callbacks: false });
  const callbacksBefore = await callbackCountersOf(env);
  const serverBefore = await serverCounters(metricsUrlOf(env));
  const cpuBefore = cpuSnapshot(env);
  const t0 = performance.now();
  const finishTimes: number[] = [];
  const startTimes: number[] = [];
  const statuses = await pool(Array.from({ length: n }), concurrency, async (_, i) => {
    startTimes[i] = performance.now();
    const handle = await startOne(env, kind);
    return { handle, result: finalStatus(handle).then((s) => ((finishTimes[i] = performance.now()), s)) };
  });
  const results = await Promise.all(statuses.map((s) => s.result));
  const seconds = (Math.max(...finishTimes) - t0) / 1000;
  await env.simulator.simulator.settled(); // callbacks still in flight belong to this round
  const serverAfter = await roundCounters(metricsUrlOf(env), serverBefore, n);
  // CPU read once the round's trailing work is done, as the server's counters are: both cover the same work.
  const cpuAfter = cpuSnapshot(env);
  const cpuMsPerApplication = Object.fromEntries(
    Object.entries(cpuAfter).map(([k, v]) => [k, (v - cpuBefore[k]!) / n]),
  );
  const callbacksAfter = await callbackCountersOf(env);
  const callbacks: CallbackCounters = {
    outcomes: outcomesBetween(callbacksBefore, callbacksAfter),
    queries: callbacksAfter.queries - callbacksBefore.queries,
  };
  const server = serverWorkPerApplication(serverBefore, serverAfter, n);
  // Every run is started and writes its execution: nothing counted means the metrics changed, not that nothing ran.
  if (server.writes === 0 || server.requests === 0) {
    throw new Error(`no request or persistence operation counted in ${metricsUrlOf(env)}`);
  }
  if (variant === 'kaiban-no-callbacks') await configureAgencies(env.simulator, { callbacks: true });
  // A run that did not complete is a failure of the benchmark (bench/README.md), not a slower figure.
  const notCompleted = results.filter((r) => r !== 'completed');
  if (notCompleted.length > 0) {
    const byStatus = Object.entries(
      notCompleted.reduce<Record<string, number>>((counts, s) => ({ ...counts, [s]: (counts[s] ?? 0) + 1 }), {}),
    ).map(([s, count]) => `${count} ${s}`);
    throw new Error(
      `throughput: ${notCompleted.length} of ${n} ${variant} runs did not complete (${byStatus.join(', ')})`,
    );
  }
  return {
    kind: variant,
    n,
    seconds,
    perSecond: (n - notCompleted.length) / seconds,
    notCompleted: notCompleted.length,
    latency: percentiles(finishTimes.map((t, i) => t - startTimes[i]!)),
    cpuMsPerApplication,
    callbacks,
    server,
    ids: statuses.filter((_, i) => results[i] === 'completed').map((s) => s.handle.workflowId),
  };
}

function metricsUrlOf(env: BenchEnvironment): string {
  if (!env.temporal.metricsUrl) throw new Error('the benchmark starts the dev server with a metrics port');
  return env.temporal.metricsUrl;
}

/**
 * The server's counters once the round's trailing work is in them: closed workflows' visibility records are written
 * by a queue after the result is out, and the server publishes its metrics every second or so — later on a loaded
 * machine just after it started (a fresh clone's first warm-up round found nothing counted after 10 s). Waits until
 * the round's `applications` closed records are counted (at most 60 s).
 */
async function roundCounters(
  metricsUrl: string,
  before: ServerCounters,
  applications: number,
): Promise<ServerCounters> {
  const closed = (counters: ServerCounters) => counters.persistence.get('RecordWorkflowExecutionClosed') ?? 0;
  let now = await serverCounters(metricsUrl);
  for (const deadline = Date.now() + 60_000; closed(now) - closed(before) < applications && Date.now() < deadline;) {
    await sleep(250);
    now = await serverCounters(metricsUrl);
  }
  return now;
}

/** The API's callback counters (test/helpers/metrics.ts), read as a supervisor. */
async function callbackCountersOf(env: BenchEnvironment): Promise<CallbackCounters> {
  return callbackCounters(env.api.url, `Bearer ${await env.token('supervisor')}`);
}

/** CPU used so far by each process of the benchmark (this one hosts the simulator and the clients). */
function cpuSnapshot(env: BenchEnvironment): Record<string, number> {
  const self = process.cpuUsage();
  return {
    temporal: cpuTimeOf(env.temporal.pid),
    kaibanWorker: cpuTimeOf(env.kaibanWorker.pid),
    baselineWorker: cpuTimeOf(env.baselineWorker.pid),
    api: cpuTimeOf(env.api.process.pid),
    benchAndSimulator: (self.user + self.system) / 1000,
  };
}

export async function measureThroughput(
  env: BenchEnvironment,
  options: {
    n: number;
    rounds: number;
    warmup: number;
    concurrency?: number;
    withoutCallbacks?: boolean;
    log: (line: string) => void;
  },
): Promise<ThroughputResult> {
  const concurrency = options.concurrency ?? 50;
  options.log(`throughput: warm-up (${options.warmup} of each)`);
  await throughputRound(env, 'baseline', options.warmup, concurrency);
  await throughputRound(env, 'kaiban', options.warmup, concurrency);
  const rounds: ThroughputRound[] = [];
  const completedIds: string[] = [];
  // Alternate, and reverse the order every other repetition (baseline first, then last): a machine or a database that
  // slows down steadily over the run then costs each side as much over an even number of rounds. Always baseline
  // first would leave Kaiban every slowdown of the time between its rounds and the baseline's.
  const order: Variant[] = options.withoutCallbacks
    ? ['baseline', 'kaiban', 'kaiban-no-callbacks']
    : ['baseline', 'kaiban'];
  for (let r = 0; r < options.rounds; r++) {
    for (const variant of r % 2 === 0 ? order : [...order].reverse()) {
      const { ids, ...round } = await throughputRound(env, variant, options.n, concurrency);
      if (variant === 'kaiban') completedIds.push(...ids);
      rounds.push(round);
      const cpu = Object.entries(round.cpuMsPerApplication)
        .map(([k, v]) => `${k} ${v.toFixed(0)}`)
        .join(', ');
      const taken = Object.entries(round.callbacks.outcomes)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ');
      options.log(
        `throughput: ${variant} round ${r + 1}: ${round.n} in ${round.seconds.toFixed(1)} s = ${round.perSecond.toFixed(1)}/s; CPU ms per app: ${cpu}` +
          `; server per app: ${round.server.requests.toFixed(1)} requests, ${round.server.writes.toFixed(1)} writes, ${round.server.reads.toFixed(1)} reads` +
          (taken ? `; callbacks: ${taken}, ${round.callbacks.queries} queries` : ''),
      );
    }
  }
  const roundsOf = (variant: Variant) => rounds.filter((r) => r.kind === variant);
  const perSecond = (variant: Variant) => mean(roundsOf(variant).map((r) => r.perSecond));
  const kaibanPerSecond = perSecond('kaiban');
  const baselinePerSecond = perSecond('baseline');
  const noCallbacksPerSecond = options.withoutCallbacks ? perSecond('kaiban-no-callbacks') : undefined;
  const cpu = (variant: Variant): CpuPerApplication => {
    const of = (process: string) => mean(roundsOf(variant).map((r) => r.cpuMsPerApplication[process]!));
    return {
      server: of('temporal'),
      worker: of(variant === 'baseline' ? 'baselineWorker' : 'kaibanWorker'),
      api: of('api'),
      simulatorAndLoad: of('benchAndSimulator'),
    };
  };
  const server = (variant: Variant): ServerWorkMeans => {
    const of = (key: keyof ServerWorkMeans) => mean(roundsOf(variant).map((r) => r.server[key]));
    return { requests: of('requests'), writes: of('writes'), reads: of('reads') };
  };
  const roundRatios = (variant: Variant) =>
    roundsOf(variant).map((round, i) => round.perSecond / roundsOf('baseline')[i]!.perSecond);
  const callbacks: CallbackCounters = { outcomes: {}, queries: 0 };
  for (const round of roundsOf('kaiban')) {
    callbacks.queries += round.callbacks.queries;
    for (const [k, v] of Object.entries(round.callbacks.outcomes))
      callbacks.outcomes[k] = (callbacks.outcomes[k] ?? 0) + v;
  }
  return {
    n: options.n,
    rounds,
    callbacks,
    server: {
      kaiban: server('kaiban'),
      baseline: server('baseline'),
      ...(options.withoutCallbacks ? { kaibanNoCallbacks: server('kaiban-no-callbacks') } : {}),
    },
    cpuMsPerApplication: {
      kaiban: cpu('kaiban'),
      baseline: cpu('baseline'),
      ...(options.withoutCallbacks ? { kaibanNoCallbacks: cpu('kaiban-no-callbacks') } : {}),
    },
    kaibanPerSecond,
    baselinePerSecond,
    ratio: kaibanPerSecond / baselinePerSecond,
    ...(noCallbacksPerSecond === undefined
      ? {}
      : { noCallbacksPerSecond, noCallbacksRatio: noCallbacksPerSecond / baselinePerSecond }),
    roundRatios: {
      kaiban: roundRatios('kaiban'),
      ...(options.withoutCallbacks ? { noCallbacks: roundRatios('kaiban-no-callbacks') } : {}),
    },
    completedIds,
  };
}

export interface LatencyResult {
  samples: number;
  kaiban: Percentiles;
  baseline: Percentiles;
}

/** One application at a time, Kaiban and baseline alternating: submit-to-result in milliseconds. */
export async function measureLatency(
  env: BenchEnvironment,
  options: { samples: number; log: (line: string) => void },
): Promise<LatencyResult> {
  const times: Record<Kind, number[]> = { kaiban: [], baseline: [] };
  for (let i = -2; i < options.samples; i++) {
    for (const kind of ['baseline', 'kaiban'] as const) {
      const t0 = performance.now();
      const status = await finalStatus(await startOne(env, kind));
      if (status !== 'completed') throw new Error(`${kind} run ended ${status}`);
      if (i >= 0) times[kind].push(performance.now() - t0); // the first two of each warm up
    }
  }
  options.log(`latency: ${options.samples} of each`);
  return { samples: options.samples, kaiban: percentiles(times.kaiban), baseline: percentiles(times.baseline) };
}
