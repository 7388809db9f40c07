/**
 * Worker bootstrap: connection, task queue, workflow bundle, activities, tuning, shutdown.
 */
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkflowBundleOption, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities, type ActivityDeps } from '../activities';
import { createAgencyClient } from '../adapters/agency-client';
import type { Config } from '../config';
import { topologicalOrder } from '../domain/steps';

let runtimeInstalled = false;

/** Routes the Temporal Core SDK's logs into pino (once per process). */
export function installTemporalRuntime(logger: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const temporalLogger = logger.child({ component: 'temporal' });
  const level: LogLevel = logger.isLevelEnabled('debug') ? 'DEBUG' : 'WARN';
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      const meta = { ...entry.meta };
      const message = entry.message;
      switch (entry.level) {
        case 'ERROR':
          temporalLogger.error(meta, message);
          break;
        case 'WARN':
          temporalLogger.warn(meta, message);
          break;
        case 'INFO':
          temporalLogger.info(meta, message);
          break;
        default:
          temporalLogger.debug(meta, message);
      }
    }),
  });
}

export function activityDepsFromConfig(config: Config, logger: Logger): ActivityDeps {
  return {
    agencies: createAgencyClient({ urls: config.agencyUrls, timeoutMs: config.env.AGENCY_TIMEOUT_MS }),
    settings: {
      pollInitialMs: config.env.AGENCY_POLL_INITIAL_SECONDS * 1000,
      pollMaxMs: config.env.AGENCY_POLL_MAX_SECONDS * 1000,
      agencyMaxAttempts: config.env.AGENCY_MAX_ATTEMPTS,
      searchAttributes: config.env.TEMPORAL_SEARCH_ATTRIBUTES,
    },
    callbackBaseUrl: config.publicUrl,
    logger: logger.child({ component: 'activities' }),
  };
}

export interface KaibanWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activityDeps: ActivityDeps;
  /** A prebuilt bundle (tests build one per file); otherwise the workflows folder is bundled. */
  workflowBundle?: WorkflowBundleOption;
}

export async function createKaibanWorker(options: KaibanWorkerOptions): Promise<Worker> {
  topologicalOrder(); // a bad edit to the step table fails here, not mid-application
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    activities: createActivities(options.activityDeps),
  });
}
