import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createSimulator, type Simulator } from './app';
import type { SimulatorConfigInput } from './config';

/** The simulator config (`publicUrl` defaults to http://<host>:<actual port>) plus where to listen. */
export type StartSimulatorOptions = SimulatorConfigInput & {
  /** 0 picks a free port. Default 4000. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  logger?: Logger;
  /** Where the records are kept across restarts (SimulatorOptions). */
  recordsFile?: string;
};

export interface RunningSimulator {
  url: string;
  port: number;
  simulator: Simulator;
  close(): Promise<void>;
}

/** Listens first, so that the e-license links can carry the actual port, then serves the simulator. */
export async function startSimulator(options: StartSimulatorOptions): Promise<RunningSimulator> {
  const { port: requestedPort = 4000, host = '127.0.0.1', logger, recordsFile, ...config } = options;
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(requestedPort, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const reachableHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${reachableHost}:${port}`;
  const simulator = createSimulator({ ...config, publicUrl: config.publicUrl ?? url }, { logger, recordsFile });
  server.on('request', simulator.app);

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    simulator,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await simulator.close();
        await stopped;
      })();
      return closing;
    },
  };
}
