/** Real Temporal servers for tests, from the project-local binaries (never a download, never a mock). */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { sqliteArgs } from '../../infra/dev-server';
import { searchAttributeArgs } from '../../infra/search-attributes';
import { temporalCliPath, temporalTestServerPath } from '../../infra/temporal-binaries';
import { FAILURE_CONVERTER_PATH } from '../../security/codec';
import { testDataConverter } from './auth';

/** The time-skipping test server: timers fire as soon as the workflow is idle. */
export function startTimeSkippingServer(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: temporalTestServerPath() } },
    // env.client encrypts like every Kaiban client, so tests exercise the codec.
    client: { dataConverter: testDataConverter() },
  });
}

/** The Temporal CLI dev server (real time, real visibility), optionally persisted to a SQLite file. */
export function startDevServer(options: { dbFilename?: string; port?: number } = {}): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCliPath() },
      ip: '127.0.0.1',
      ...(options.port ? { port: options.port } : {}),
      ...(options.dbFilename ? { dbFilename: options.dbFilename } : {}),
      log: { format: 'json', level: 'error' },
      extraArgs: [...searchAttributeArgs(), ...sqliteArgs()],
    },
    client: { dataConverter: testDataConverter() },
  });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflow bundle, built once per test file. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    // Failures leave the workflow sandbox with their messages encoded (security/failure-converter.ts).
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: quietBundlerLogger,
  });
  return bundle;
}

/**
 * The workflow code with test interceptors (`interceptorModules`: modules exporting `interceptors`) bundled in: what a
 * worker with a planted fault, or with an observer, runs. Built anew for every call.
 */
export function workflowBundleWith(interceptorModules: string[]): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    workflowInterceptorModules: interceptorModules,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: quietBundlerLogger,
  });
}

const quietBundlerLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error(message: string, meta?: Record<string, unknown>) {
    console.error(message, meta);
  },
};
