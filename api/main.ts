/** Standalone API process: `npm run start:api` (TEMPORAL_ADDRESS required). */
import { Client, Connection } from '@temporalio/client';
import { ConfigError, loadConfig } from '../config';
import { createLogger } from '../observability/logger';
import { processMetrics, withoutWorkerSeries } from '../observability/metrics';
import { dataConverter } from '../security/codec';
import { startApi } from './server';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.env.LOG_LEVEL, name: 'kaiban-api' });
  const address = config.env.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.env.TEMPORAL_PORT}`;
  const connection = await Connection.connect({ address });
  const client = new Client({
    connection,
    namespace: config.env.TEMPORAL_NAMESPACE,
    dataConverter: dataConverter(config),
  });
  // The workers count the SLA series; here they would read 0 for ever.
  withoutWorkerSeries(processMetrics());
  const api = await startApi({ config, client, logger });
  logger.info({ url: api.url }, 'API listening');
  const shutdown = async () => {
    await api.close();
    await connection.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

main().catch((err) => {
  // A bad setting in one line, naming the variable; anything else with its stack.
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
