/** Builds the app from config and listens; used by api/main.ts, `npm start` and the tests. */
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import type { Express } from 'express';
import type { Logger } from 'pino';
import { urlHost, type Config } from '../config';
import { apiSecurityFromConfig, type ApiSecurity } from '../security';
import { loadSlaConfig, type SlaConfig } from '../config/sla';
import { createApp, settleAgencyCallbacks } from './app';
import { devTokenMinter } from './routes/console';

export interface RunningApi {
  url: string;
  server: Server;
  /** The express app (test/security enumerates its routes against the authorization table). */
  app: Express;
  /**
   * Stops taking connections and lets the requests in flight finish (idle keep-alive connections close at once); what
   * is still open after `graceMs` (default 10 s) is cut. Then callbacks already taken reach their workflows.
   */
  close(graceMs?: number): Promise<void>;
}

export async function startApi(options: {
  config: Config;
  client: Client;
  logger: Logger;
  port?: number;
  /** What `config` gives, when the caller has read it already (`npm start` checks every setting first). */
  sla?: SlaConfig;
  security?: ApiSecurity;
}): Promise<RunningApi> {
  const { config, client, logger } = options;
  const sla = options.sla ?? loadSlaConfig(config);
  const app = createApp({
    client,
    taskQueue: config.env.TEMPORAL_TASK_QUEUE,
    logger,
    agencyCallbackSecrets: config.agencyCallbackSecrets,
    security: options.security ?? apiSecurityFromConfig(config),
    console: { devToken: devTokenMinter(config), roleClaim: config.env.AUTH_ROLE_CLAIM },
    searchAttributes: config.env.TEMPORAL_SEARCH_ATTRIBUTES,
    calendar: sla.calendar,
    sla: sla.settings,
  });
  const server = await new Promise<Server>((resolve, reject) => {
    // Express 5 also calls this callback on a listen error (EADDRINUSE…), with the error.
    const s = app.listen(options.port ?? config.env.PORT, config.env.HOST, (err?: Error) =>
      err ? reject(err) : resolve(s),
    );
  });
  // Once closing, every answer closes its connection: a keep-alive connection reused for a new request during the
  // grace period would be cut at its end. Answers under way when the close begins are told too.
  let closing = false;
  const answering = new Set<ServerResponse>();
  server.prependListener('request', (_req, res: ServerResponse) => {
    if (closing) return res.setHeader('connection', 'close');
    answering.add(res);
    res.once('close', () => answering.delete(res));
  });
  const { port } = server.address() as AddressInfo;
  return {
    // Where it listens (HOST), as a URL writes it: a wildcard address as this machine's loopback.
    url: `http://${urlHost(config.env.HOST)}:${port}`,
    server,
    app,
    close: async (graceMs = 10_000) => {
      closing = true;
      for (const res of answering) if (!res.headersSent) res.setHeader('connection', 'close');
      await new Promise<void>((resolve) => {
        // Cutting every connection at once reset a submission in flight: its client, not knowing whether it was
        // started, could send it again without a key and start a second application.
        const cut = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      });
      // Callbacks already taken still reach their workflows before the caller closes the Temporal connection.
      await settleAgencyCallbacks(app);
    },
  };
}
