/**
 * Workflow code's own cost: one completed history of each kind (agencies deciding in their answer, no callbacks),
 * replayed many times by a replay worker in this process — the workflow sandbox, the payload codec and the SDK's
 * activation handling, with no server, no network and no activities. The throughput rounds measure the same work
 * amid everything else a shared machine does; replaying a fixed history measures it alone and repeatably.
 */
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { FAILURE_CONVERTER_PATH, dataConverter } from '../security/codec';
import { limitWorkflowStackTraces, replaySinks, workerTuningFromConfig } from '../worker/worker';
import { configureAgencies, type BenchEnvironment } from './environment';
import { mean } from './stats';
import { benchApplication, startBaseline, startKaiban, type Kind } from './workloads';

type History = temporal.api.history.v1.IHistory;

export interface ReplayRound {
  kind: Kind;
  replays: number;
  /** CPU milliseconds of this process (every thread: the replay worker's workflow threads too) per replay. */
  cpuMsPerReplay: number;
}

export interface ReplayResult {
  replays: number;
  rounds: ReplayRound[];
  kaibanCpuMs: number;
  baselineCpuMs: number;
  ratio: number;
  /** The replayed histories: events, and bytes as the server stores them (protobuf; Kaiban's payloads encrypted). */
  history: Record<Kind, { events: number; bytes: number }>;
}

export async function measureReplay(
  env: BenchEnvironment,
  options: { replays: number; rounds: number; log: (line: string) => void },
): Promise<ReplayResult> {
  quietRuntime();
  await configureAgencies(env.simulator, { callbacks: false });
  const [kaibanHandle, baselineHandle] = await Promise.all([
    startKaiban(env, benchApplication()),
    startBaseline(env, benchApplication()),
  ]);
  await Promise.all([kaibanHandle.result(), baselineHandle.result()]);
  await configureAgencies(env.simulator, { callbacks: true });
  const histories: Record<Kind, History> = {
    kaiban: await kaibanHandle.fetchHistory(),
    baseline: await baselineHandle.fetchHistory(),
  };

  const logger = new DefaultLogger('ERROR');
  const { reuseV8Context, workflowStackTraceLimit } = workerTuningFromConfig(env.config);
  // As the workers run their workflows (the replay workers' threads are created after this).
  limitWorkflowStackTraces(workflowStackTraceLimit);
  // Each side as its worker runs it: Kaiban's bundle with the production failure converter and the encrypting codec.
  const workers: Record<Kind, ReplayWorkerOptions> = {
    kaiban: {
      workflowBundle: await bundleWorkflowCode({
        workflowsPath: require.resolve('../workflows'),
        failureConverterPath: FAILURE_CONVERTER_PATH,
        logger,
      }),
      dataConverter: dataConverter(env.config),
      sinks: replaySinks(),
      reuseV8Context,
    },
    baseline: {
      workflowBundle: await bundleWorkflowCode({ workflowsPath: require.resolve('./baseline-workflow'), logger }),
      reuseV8Context,
    },
  };

  const replay = async (kind: Kind, replays: number, label: string): Promise<number> => {
    const copies = Array.from({ length: replays }, (_, i) => ({
      workflowId: `${label}-${i}`,
      history: histories[kind],
    }));
    const before = process.cpuUsage();
    for await (const result of Worker.runReplayHistories(workers[kind], copies)) {
      if (result.error) throw result.error;
    }
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000 / replays;
  };

  const rounds = `${options.rounds} round${options.rounds === 1 ? '' : 's'}`;
  options.log(`replay: warm-up, then ${rounds} of ${options.replays} replays of each history`);
  await replay('baseline', Math.min(20, options.replays), 'warm-up-baseline');
  await replay('kaiban', Math.min(20, options.replays), 'warm-up-kaiban');
  const measured: ReplayRound[] = [];
  for (let r = 0; r < options.rounds; r++) {
    // Alternated, the order reversed every other round, as the throughput rounds.
    for (const kind of r % 2 === 0 ? (['baseline', 'kaiban'] as const) : (['kaiban', 'baseline'] as const)) {
      const cpuMsPerReplay = await replay(kind, options.replays, `${kind}-${r}`);
      measured.push({ kind, replays: options.replays, cpuMsPerReplay });
      options.log(`replay: ${kind} round ${r + 1}: ${cpuMsPerReplay.toFixed(2)} CPU ms per replay`);
    }
  }
  const cpuOf = (kind: Kind) => mean(measured.filter((r) => r.kind === kind).map((r) => r.cpuMsPerReplay));
  const size = (history: History) => ({
    events: history.events?.length ?? 0,
    bytes: temporal.api.history.v1.History.encode(history).finish().length,
  });
  return {
    replays: options.replays,
    rounds: measured,
    kaibanCpuMs: cpuOf('kaiban'),
    baselineCpuMs: cpuOf('baseline'),
    ratio: cpuOf('kaiban') / cpuOf('baseline'),
    history: { kaiban: size(histories.kaiban), baseline: size(histories.baseline) },
  };
}

/** A replay worker needs the SDK's runtime; the benchmark's own log stays readable (replay logs nothing worth it). */
function quietRuntime(): void {
  try {
    Runtime.install({
      logger: new DefaultLogger('ERROR'),
      telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } },
    });
  } catch {
    // Already installed.
  }
}
