/**
 * `npm start`: the embedded default. Starts a real Temporal dev server (SQLite on disk under
 * KAIBAN_DATA_DIR), the agency simulator, the Kaiban worker and the HTTP API in one command, and
 * stops all of them on Ctrl-C. With TEMPORAL_ADDRESS set it connects to that cluster instead.
 */
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ConfigError, loadConfig, type Config } from '../config';
import { portFree, PortInUseError, startDevServer, type DevServer } from '../infra/dev-server';
import { createLogger } from '../observability/logger';
import { startApi } from '../api/server';
import { apiSecurityFromConfig, type ApiSecurity } from '../security';
import { dataConverter } from '../security/codec';
import { startSimulator } from '../simulator/server';
import { loadSlaConfig, type SlaConfig } from '../config/sla';
import {
  activityDepsFromConfig,
  createKaibanWorker,
  installTemporalRuntime,
  runUntilStopped,
  workerTuningFromConfig,
} from '../worker/worker';
import type { ActivityDeps } from '../activities';
import type { DataConverter } from '@temporalio/common';

/** A setting that cannot work, told in one line before anything starts (not a stack trace once half of it runs). */
function refuse(err: unknown): never {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n(README.md, Configuration, lists every variable)\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    refuse(err);
  }
  const { env } = config;
  const logger = createLogger({ level: env.LOG_LEVEL });
  // Everything else the configuration decides, checked before anything starts.
  let activityDeps: ActivityDeps;
  let converter: DataConverter;
  let sla: SlaConfig;
  let security: ApiSecurity;
  try {
    sla = loadSlaConfig(config);
    security = apiSecurityFromConfig(config);
    activityDeps = activityDepsFromConfig(config, logger);
    converter = dataConverter(config);
  } catch (err) {
    refuse(err);
  }
  const stops: Array<() => Promise<void>> = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping…');
    for (const stop of stops.reverse()) {
      await stop().catch((err) => logger.error({ err }, 'error while stopping'));
    }
    process.exit(code);
  };
  // A second signal while stopping (a second Ctrl-C, the terminal closing) exits at once; the dev server, in its own
  // process group, is killed on the way out (infra/dev-server.ts), not left running.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR2'] as const) {
    process.on(signal, () => (stopping ? process.exit(1) : void stopAll(0)));
  }

  try {
    const dataDir = path.resolve(env.KAIBAN_DATA_DIR);
    let devServer: DevServer | undefined;
    let address = env.TEMPORAL_ADDRESS;
    if (!address) {
      devServer = await startDevServer({
        dataDir,
        port: env.TEMPORAL_PORT,
        uiPort: env.TEMPORAL_UI_PORT,
        namespace: env.TEMPORAL_NAMESPACE,
        retentionDays: env.TEMPORAL_RETENTION_DAYS,
        logger,
        onUnexpectedExit: (detail) => {
          logger.fatal(`the embedded Temporal server stopped (${detail}): stopping Kaiban, start it again`);
          void stopAll(1);
        },
      });
      stops.push(devServer.stop);
      address = devServer.address;
    }
    // The ports this process listens on, before it starts anything on them (the dev server first: a second start on
    // the same data folder is told so, not that the API's port is taken).
    await portFree(env.PORT, 'PORT', 'the API', env.HOST);
    if (env.EMBEDDED_SIMULATOR) await portFree(env.SIMULATOR_PORT, 'SIMULATOR_PORT', 'the agency simulator');

    if (env.EMBEDDED_SIMULATOR) {
      const simulator = await startSimulator({
        port: env.SIMULATOR_PORT,
        seed: env.SIMULATOR_SEED,
        callbackSecrets: config.agencyCallbackSecrets,
        logger: logger.child({ component: 'simulator' }),
        // Beside Temporal's database: an application that outlives a restart finds its agency records again.
        recordsFile: path.join(dataDir, 'simulator-records.jsonl'),
      });
      stops.push(simulator.close);
    }

    // This process stops its parts itself (above): the SDK is not to stop the worker on a signal of its own choosing
    // (SIGQUIT, SIGUSR2), which would leave the API taking applications that nothing works on.
    installTemporalRuntime(logger, { shutdownSignals: [] });
    // One encrypting converter (keys from KAIBAN_CODEC_KEYS or the data folder) for worker and client.
    const workerConnection = await NativeConnection.connect({ address });
    const worker = await createKaibanWorker({
      connection: workerConnection,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      activityDeps,
      dataConverter: converter,
      tuning: workerTuningFromConfig(config),
    });
    const workerRun = runUntilStopped(worker, logger);
    stops.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await workerRun;
      await workerConnection.close();
    });
    workerRun.then(
      () => {
        if (stopping) return;
        logger.fatal('the worker stopped: stopping Kaiban, start it again');
        void stopAll(1);
      },
      (err) => {
        logger.fatal({ err }, 'worker failed');
        void stopAll(1);
      },
    );

    const connection = await Connection.connect({ address });
    stops.push(() => connection.close());
    const client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE, dataConverter: converter });
    const api = await startApi({ config, client, logger, sla, security });
    stops.push(api.close);

    const lines = [
      '',
      'Kaiban is running (Ctrl-C stops everything)',
      `  API                 ${api.url}   (OpenAPI: ${api.url}/openapi.json)`,
      `  Operator console    ${api.url}/console`,
      devServer ? `  Temporal Web UI     ${devServer.uiUrl}` : `  Temporal cluster    ${address}`,
      env.EMBEDDED_SIMULATOR
        ? `  Agency simulator    http://127.0.0.1:${env.SIMULATOR_PORT}/records`
        : `  Agencies            ${agencyUrlList(config.agencyUrls)}`,
      `  Data                ${dataDir}`,
      '',
      'Calls about applications need a bearer token; print one (role applicant, operator or supervisor) with',
      '  npm run -s token -- --role applicant --sub alice',
      `Try: curl -X POST ${api.url}/v1/applications -H "authorization: Bearer $(npm run -s token -- --role applicant --sub alice)" -H 'content-type: application/json' -d @../shared/fixtures/application.sample.json`,
      '',
    ];
    process.stdout.write(lines.filter((l) => l !== undefined).join('\n') + '\n');
  } catch (err) {
    if (err instanceof PortInUseError) logger.fatal(err.message);
    else logger.fatal({ err }, 'start-up failed');
    await stopAll(1);
  }
}

void main();

/** The agencies' URLs for the banner: their common base once when they share one, else each. */
function agencyUrlList(urls: Record<string, string>): string {
  const entries = Object.entries(urls);
  const base = entries[0]?.[1].replace(/\/agencies\/[^/]+$/, '');
  return entries.every(([agency, url]) => url === `${base}/agencies/${agency}`)
    ? `${base}/agencies/…`
    : entries.map(([agency, url]) => `${agency} ${url}`).join(', ');
}
