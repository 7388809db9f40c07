/**
 * The agency simulator as a standalone process: `npx tsx simulator/main.ts`
 * (environment variables in simulator/README.md).
 */
import { z } from 'zod';
import { readSimulatorEnv } from './env';
import { createSimulatorLogger } from './logger';
import { startSimulator } from './server';

async function main(): Promise<void> {
  const env = readSimulatorEnv();
  const logger = createSimulatorLogger(env.logLevel);
  if (env.agenciesOnDefaultSecret.length > 0) {
    logger.warn(
      { agencies: env.agenciesOnDefaultSecret },
      'callbacks are signed with the default development secret; set AGENCY_CALLBACK_SECRET outside development',
    );
  }
  const running = await startSimulator({ ...env.options, logger });
  const { seed } = running.simulator.config();
  logger.info({ url: running.url, seed }, 'agency simulator listening');

  const stop = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'stopping');
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  // The logger may not exist yet (bad environment); stderr always does.
  // A bad variable is listed by name, not as a raw ZodError.
  console.error('agency simulator failed to start:', error instanceof z.ZodError ? z.prettifyError(error) : error);
  process.exit(1);
});
