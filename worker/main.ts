/** Standalone worker process: `npm run start:worker` (TEMPORAL_ADDRESS required). */
import { NativeConnection } from '@temporalio/worker';
import { ConfigError, loadConfig } from '../config';
import { createLogger } from '../observability/logger';
import { processMetrics, startMetricsServer } from '../observability/metrics';
import { dataConverter } from '../security/codec';
import {
  activityDepsFromConfig,
  createKaibanWorker,
  installTemporalRuntime,
  runUntilStopped,
  workerTuningFromConfig,
} from './worker';

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
  const metrics =
    config.env.WORKER_METRICS_PORT === undefined
      ? undefined
      : await startMetricsServer(processMetrics(), { port: config.env.WORKER_METRICS_PORT, host: config.env.HOST });
  if (metrics) logger.info({ url: metrics.url }, 'worker metrics');
  // The SDK shuts the worker down gracefully on SIGINT/SIGTERM.
  await runUntilStopped(worker, logger);
  await metrics?.close();
  await connection.close();
}

main().catch((err) => {
  // A bad setting in one line, naming the variable; anything else with its stack.
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
