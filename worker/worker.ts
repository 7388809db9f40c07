/**
 * Worker bootstrap: connection, task queue, workflow bundle, activities, tuning, shutdown.
 */
import { CURRENT_REVIEW_RULES } from '../domain/review-rules';
import {
  DefaultLogger,
  GracefulShutdownPeriodExpiredError,
  makeTelemetryFilterString,
  NativeConnection,
  Runtime,
  Worker,
  type WorkflowBundleOption,
  type LogLevel,
} from '@temporalio/worker';
import v8 from 'node:v8';
import type { DataConverter } from '@temporalio/common';
import type { InjectedSinks } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities, type ActivityDeps } from '../activities';
import { recordSlaOutcome } from '../activities/sla';
import { createAgencyClient } from '../adapters/agency-client';
import { createNotificationClient } from '../adapters/notification-client';
import type { Config } from '../config';
import { criticalPathWarning, loadSlaConfig } from '../config/sla';
import { topologicalOrder } from '../domain/steps';
import { processMetrics } from '../observability/metrics';
import type { SlaSinks } from '../workflows/sla';

let runtimeInstalled = false;

/**
 * Routes the Temporal Core SDK's logs into pino (once per process). `shutdownSignals`: the signals on which the SDK
 * shuts the worker down by itself (its default: SIGINT, SIGTERM, SIGQUIT, SIGUSR2). A process that stops its parts
 * itself (`npm start`) passes none, so that the worker is not stopped behind its back while the API goes on taking
 * applications.
 */
export function installTemporalRuntime(logger: Logger, options: { shutdownSignals?: NodeJS.Signals[] } = {}): void {
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
    // Core's native logs (connection, polling, activation errors) through the same logger instead of straight to
    // stderr; they arrive with `sdkComponent: 'core'` and `target` in their metadata.
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: level }) } },
    ...(options.shutdownSignals ? { shutdownSignals: options.shutdownSignals } : {}),
  });
}

export function activityDepsFromConfig(config: Config, logger: Logger): ActivityDeps {
  if (!config.applicantNotifyUrl && config.env.APPLICANT_NOTIFY_URL !== 'off') {
    logger.warn(
      'applicants are not notified when their business is started: set APPLICANT_NOTIFY_URL to the message platform (or to off)',
    );
  }
  return {
    agencies: createAgencyClient({ urls: config.agencyUrls, timeoutMs: config.env.AGENCY_TIMEOUT_MS }),
    settings: {
      pollInitialMs: config.env.AGENCY_POLL_INITIAL_SECONDS * 1000,
      pollMaxMs: config.env.AGENCY_POLL_MAX_SECONDS * 1000,
      agencyMaxAttempts: config.env.AGENCY_MAX_ATTEMPTS,
      agencyRetryMaxIntervalMs: config.env.AGENCY_RETRY_MAX_INTERVAL_MS,
      pollFailuresBeforeIncident: config.env.AGENCY_POLL_FAILURES_BEFORE_INCIDENT,
      undoAttemptsBeforeIncident: config.env.AGENCY_UNDO_ATTEMPTS_BEFORE_INCIDENT,
      agencySilenceMs: config.agencySilenceMs,
      historyEventBudget: config.env.WORKFLOW_HISTORY_EVENT_BUDGET,
      agencyCallTimeoutMs: config.env.AGENCY_TIMEOUT_MS,
      searchAttributes: config.env.TEMPORAL_SEARCH_ATTRIBUTES,
      reviewRules: CURRENT_REVIEW_RULES,
    },
    callbackBaseUrl: config.publicUrl,
    ...(config.applicantNotifyUrl
      ? {
          notifications: createNotificationClient({
            url: config.applicantNotifyUrl,
            timeoutMs: config.env.AGENCY_TIMEOUT_MS,
          }),
        }
      : {}),
    logger: logger.child({ component: 'activities' }),
    sla: slaActivityDepsFromConfig(config, logger),
  };
}

function slaActivityDepsFromConfig(config: Config, logger: Logger): NonNullable<ActivityDeps['sla']> {
  const sla = loadSlaConfig(config);
  const warning = criticalPathWarning(sla.settings);
  if (warning) logger.warn(warning);
  return {
    settings: sla.settings,
    webhooks: sla.webhooks,
    ...(sla.webhookSecret ? { webhookSecret: sla.webhookSecret } : {}),
    webhookTimeoutMs: sla.webhookTimeoutMs,
    logger: logger.child({ component: 'sla' }),
    metrics: processMetrics(),
  };
}

export interface KaibanWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activityDeps: ActivityDeps;
  /**
   * The encrypting data converter, `dataConverter(config)` from security/codec.ts: the same keys as
   * the clients'. A prebuilt bundle must be built with its `failureConverterPath`.
   */
  dataConverter: DataConverter;
  /** A prebuilt bundle (tests build one per file); otherwise the workflows folder is bundled. */
  workflowBundle?: WorkflowBundleOption;
  /**
   * Cache size, slots, sandbox model and workflow stack frames: `workerTuningFromConfig(config)`; the SDK's defaults
   * (and Node's 10 stack frames) when absent.
   */
  tuning?: WorkerTuning;
}

/** The worker's tuning knobs (WORKER_* in config). The defaults come from bench/ measurements; see README, Benchmarks. */
export interface WorkerTuning {
  maxCachedWorkflows: number;
  maxConcurrentWorkflowTaskExecutions: number;
  maxConcurrentActivityTaskExecutions: number;
  reuseV8Context: boolean;
  /** Frames of each stack a workflow records (see limitWorkflowStackTraces). */
  workflowStackTraceLimit: number;
}

export function workerTuningFromConfig(config: Config): WorkerTuning {
  return {
    maxCachedWorkflows: config.env.WORKER_MAX_CACHED_WORKFLOWS,
    maxConcurrentWorkflowTaskExecutions: config.env.WORKER_MAX_CONCURRENT_WORKFLOW_TASK_EXECUTIONS,
    maxConcurrentActivityTaskExecutions: config.env.WORKER_MAX_CONCURRENT_ACTIVITY_TASK_EXECUTIONS,
    reuseV8Context: config.env.WORKER_REUSE_V8_CONTEXT,
    workflowStackTraceLimit: config.env.WORKER_WORKFLOW_STACK_TRACE_LIMIT,
  };
}

/**
 * Applies a tuning: limits the stack traces of workflows created from now on in this process (a side effect, see
 * limitWorkflowStackTraces) and returns the SDK's worker options. Call it just before `Worker.create`.
 */
export function applyWorkerTuning({
  workflowStackTraceLimit,
  ...options
}: WorkerTuning): Omit<WorkerTuning, 'workflowStackTraceLimit'> {
  limitWorkflowStackTraces(workflowStackTraceLimit);
  return options;
}

/**
 * The SDK records the stack of every promise a workflow creates (for Temporal's stack-trace query, the Web UI's "Stack
 * Trace"), and formats each frame through the bundle's source map: a cost per promise that grows with the frames
 * captured, and a Kaiban application creates 174 promises in a replay (bench/README.md, "Where the workflow's
 * promises come from"). V8 gives each new context the process's `--stack-trace-limit` as its `Error.stackTraceLimit`,
 * and the SDK creates its workflow threads and their sandboxes when the worker is created: set just before, the
 * limit applies to workflow code only, while the contexts that exist already (this thread's, where activities run
 * and errors are logged) keep theirs. With 6 frames a recorded stack keeps 4 (the SDK's own hook takes 2): the
 * awaited call and three callers in Kaiban's code. So do the stacks of errors thrown in workflow code (a failed
 * workflow task, a failure's stack trace in the history). V8 flags are the process's: any context or thread created
 * later here gets the limit too (`npm start` creates none).
 */
export function limitWorkflowStackTraces(frames: number): void {
  v8.setFlagsFromString(`--stack-trace-limit=${frames}`);
}

/** What workflows report without writing history (workflows/sla.ts): called once, never on replay. */
export function kaibanSinks(deps: ActivityDeps): InjectedSinks<SlaSinks> {
  const sla = { logger: deps.sla?.logger ?? deps.logger, metrics: deps.sla?.metrics };
  return {
    sla: { outcome: { fn: (_info, input) => recordSlaOutcome(sla, input), callDuringReplay: false } },
  };
}

/** The same sinks for a replay worker (runReplayHistory): registered, so replay logs no error; never called. */
export function replaySinks(): InjectedSinks<SlaSinks> {
  return { sla: { outcome: { fn: () => undefined, callDuringReplay: false } } };
}

/**
 * Runs the worker until it stops. A stop that gave up waiting for its activities under way (WORKER_SHUTDOWN_FORCE_TIME)
 * is a stop all the same, not a failure: those attempts are retried by Temporal.
 */
export async function runUntilStopped(worker: Worker, logger: Logger): Promise<void> {
  try {
    await worker.run();
  } catch (err) {
    if (!(err instanceof GracefulShutdownPeriodExpiredError)) throw err;
    logger.warn(
      `the worker stopped without waiting longer than ${WORKER_SHUTDOWN_FORCE_TIME} for its activities under way: Temporal retries them`,
    );
  }
}

/** The longest a worker's stop waits for its activities under way (docker-compose.yml gives 30 s before SIGKILL). */
export const WORKER_SHUTDOWN_FORCE_TIME = '25s';

export async function createKaibanWorker(options: KaibanWorkerOptions): Promise<Worker> {
  topologicalOrder(); // a bad edit to the step table fails here, not mid-application
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    dataConverter: options.dataConverter,
    ...(options.workflowBundle
      ? { workflowBundle: options.workflowBundle }
      : { workflowsPath: require.resolve('../workflows') }),
    activities: createActivities(options.activityDeps),
    sinks: kaibanSinks(options.activityDeps),
    // A stop waits for the activities under way (an agency call, an alert's delivery: they finish, they do not watch
    // for cancellation), up to 25 s, inside Docker's 30 s before SIGKILL; an attempt cut off then is retried.
    shutdownForceTime: WORKER_SHUTDOWN_FORCE_TIME,
    ...(options.tuning ? applyWorkerTuning(options.tuning) : {}),
  });
}
