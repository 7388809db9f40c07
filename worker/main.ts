/** Standalone worker process: `npm run start:worker` (TEMPORAL_ADDRESS required). */
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../config';
import { createLogger } from '../observability/logger';
import { dataConverter } from '../security/codec';
import { activityDepsFromConfig, createKaibanWorker, installTemporalRuntime, workerTuningFromConfig } from './worker';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.env.LOG_LEVEL, name: 'kaiban-worker' });
  const address = config.env.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.env.TEMPORAL_PORT}`;
  installTemporalRuntime(logger);
  const connection = await NativeConnection.connect({ address });
  const worker = await createKaibanWorker({
    connection,
    namespace: config.env.TEMPORAL_NAMESPACE,
    taskQueue: config.env.TEMPORAL_TASK_QUEUE,
    activityDeps: activityDepsFromConfig(config, logger),
    dataConverter: dataConverter(config),
    tuning: workerTuningFromConfig(config),
  });
  logger.info({ address, taskQueue: config.env.TEMPORAL_TASK_QUEUE }, 'worker running');
  // The SDK shuts the worker down gracefully on SIGINT/SIGTERM.
  await worker.run();
  await connection.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
