/**
 * The baseline's worker process (bench/run.ts starts it): the same connection, runtime and tuning
 * knobs (WORKER_* in config) as the Kaiban worker of worker/main.ts, with the baseline workflow and
 * its no-op activities, on TEMPORAL_TASK_QUEUE.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../config';
import { createLogger } from '../observability/logger';
import { installTemporalRuntime, applyWorkerTuning, workerTuningFromConfig } from '../worker/worker';
import { createBaselineActivities } from './baseline-activities';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.env.LOG_LEVEL, name: 'baseline-worker' });
  installTemporalRuntime(logger);
  const connection = await NativeConnection.connect({
    address: config.env.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.env.TEMPORAL_PORT}`,
  });
  const worker = await Worker.create({
    connection,
    namespace: config.env.TEMPORAL_NAMESPACE,
    taskQueue: config.env.TEMPORAL_TASK_QUEUE,
    workflowsPath: require.resolve('./baseline-workflow'),
    activities: createBaselineActivities(),
    ...applyWorkerTuning(workerTuningFromConfig(config)),
  });
  await worker.run();
  await connection.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
