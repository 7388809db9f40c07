import express, { type ErrorRequestHandler, type Express, type Request, type Response } from 'express';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { z } from 'zod';
import { CallbackSender } from './callbacks';
import {
  AGENCY_IDS,
  type AgencyId,
  applyConfigPatch,
  configPatchSchema,
  isAgencyId,
  offersProcedure,
  parseSimulatorConfig,
  publicConfigView,
  type SimulatorConfig,
  type SimulatorConfigInput,
} from './config';
import { MOBILE_NUMBER } from '../domain/application';
import { maskPersonalData } from '../observability/logger';
import { createSimulatorLogger } from './logger';
import {
  COMPENSATIONS,
  type Decision,
  type DecisionInput,
  decideFiling,
  forcedRejection,
  prepareFiling,
} from './procedures';
import { SeededRandom } from './random';
import { type AgencyRecord, isLive, RecordStore, RecordsUnavailableError, recordView } from './store';

export interface SimulatorOptions {
  logger?: Logger;
  /**
   * Where the records are kept (store.ts): a simulator started again on the same file knows every record it issued
   * and decides the filings still pending. Without it, records live in memory only.
   */
  recordsFile?: string;
}

export interface Simulator {
  /** The express app; not listening (see `startSimulator`). */
  app: Express;
  store: RecordStore;
  callbacks: CallbackSender;
  /** The current config, including run-time changes from `PATCH /admin/config`. */
  config(): SimulatorConfig;
  /** Resolves when no callback is in flight. */
  settled(): Promise<void>;
  /**
   * Stops pending decisions (a records file keeps them for the next start), callbacks and latency spikes. Idempotent.
   */
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues?: { path: string; code: string; message: string }[],
  ) {
    super(message);
  }
}

const IDEMPOTENCY_KEY_MAX = 200;
/** How long a decision that could not be kept (records file not writable) waits before it is taken again. */
const DECISION_RETRY_MS = 1_000;
const TICKET_CHARSET = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZ';

const referenceSchema = z.object({ applicationId: z.string().min(1).max(200), step: z.string().min(1).max(100) });
const filingSchema = z.object({
  procedure: z.string().min(1),
  reference: referenceSchema,
  callbackUrl: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .optional(),
  payload: z.record(z.string(), z.unknown()),
});
const cancelSchema = z.object({ reason: z.string().max(500).optional() }).default({});
const recordsQuerySchema = z.object({
  applicationId: z.string().min(1).optional(),
  agency: z.enum(AGENCY_IDS).optional(),
  live: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional(),
});

/** What the city's message platform takes (adapters/notification-client.ts): one message to one applicant. */
const notificationSchema = z.object({
  notificationId: z.string().min(1).max(200),
  applicationId: z.string().min(1),
  event: z.string().min(1),
  to: z.object({ name: z.string().min(1), phone: z.string().regex(MOBILE_NUMBER), email: z.string().optional() }),
  message: z.object({ zh: z.string().min(1), en: z.string().min(1) }),
  results: z.record(z.string(), z.unknown()).optional(),
  dossier: z.object({ dossierId: z.string() }).optional(),
});

function toIssues(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[] = []) {
  return issues.map((issue) => ({
    path: [...prefix, ...issue.path].map(String).join('.'),
    code: issue.code,
    message: issue.message,
  }));
}

function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new HttpError(400, 'INVALID_REQUEST', `invalid ${what}`, toIssues(parsed.error.issues));
  return parsed.data;
}

function agencyOf(req: Request): AgencyId {
  const agency = String(req.params.agency);
  if (!isAgencyId(agency)) throw new HttpError(404, 'UNKNOWN_AGENCY', `no agency '${agency}'`);
  return agency;
}

export function createSimulator(input: SimulatorConfigInput, options: SimulatorOptions = {}): Simulator {
  let config = parseSimulatorConfig(input);
  const logger = options.logger ?? createSimulatorLogger();
  const random = new SeededRandom(config.seed);
  const store = new RecordStore(options.recordsFile, {
    compactionFailed: (err) =>
      logger.warn(
        { err, file: options.recordsFile },
        'records file not compacted; it keeps growing until the next try',
      ),
  });
  const callbacks = new CallbackSender(logger.child({ component: 'callbacks' }));
  const decisionTimers = new Map<string, NodeJS.Timeout>();
  const attemptCounters = new Map<string, number>();
  /**
   * What the faults did since the start (GET /admin/faults): a test of Kaiban under faults shows with them that the
   * faults it claims happened — a spike, a 503, a filing sent again under its key and answered with its first record.
   */
  const faultCounts = { latencySpikes: 0, transientFailures: 0, repeatedFilings: 0 };
  const shutdown = new AbortController();

  /**
   * Latency spike and transient failure of one call to an agency. The rolls hash the seed, the key
   * the call is about (idempotency key or ticket), how many times that key was seen on that route,
   * and the route — so a retry rolls again, deterministically. Returns false after answering 503.
   */
  async function passesAgencyGate(agency: AgencyId, route: string, key: string, res: Response): Promise<boolean> {
    const faults = config.agencies[agency];
    // No fault configured: nothing to roll, and nothing to count (the counts would only grow in a long run).
    if (faults.transientFailureRate === 0 && (faults.latencySpikeRate === 0 || faults.latencySpikeMs === 0))
      return true;
    const counterKey = `${agency}|${route}|${key}`;
    const attempt = (attemptCounters.get(counterKey) ?? 0) + 1;
    attemptCounters.set(counterKey, attempt);
    const spike = config.agencies[agency];
    if (spike.latencySpikeMs > 0 && random.roll(agency, key, attempt, route, 'latency') < spike.latencySpikeRate) {
      faultCounts.latencySpikes += 1;
      await sleep(spike.latencySpikeMs, undefined, { signal: shutdown.signal });
    }
    if (random.roll(agency, key, attempt, route, 'unavailable') < config.agencies[agency].transientFailureRate) {
      logger.info({ agency, route, attempt }, 'transient failure injected');
      faultCounts.transientFailures += 1;
      res.status(503).json({
        error: { code: 'AGENCY_UNAVAILABLE', message: `agency '${agency}' is temporarily unavailable; retry later` },
      });
      return false;
    }
    return true;
  }

  function decide(record: AgencyRecord, input: DecisionInput): void {
    decisionTimers.delete(record.ticket);
    if (record.status !== 'pending') return;
    /** The records file could not take what the decision wrote: it is taken again a little later. */
    const decideLater = (error: RecordsUnavailableError) => {
      logger.error({ err: error, agency: record.agency, ticket: record.ticket }, 'decision not kept; deciding again');
      scheduleDecision(record, input, DECISION_RETRY_MS);
    };
    const settings = config.agencies[record.agency];
    const decidedAt = new Date();
    let decision: Decision;
    if (
      settings.rejectAll ||
      settings.rejectProcedures.includes(record.procedure) ||
      (settings.rejectionRate > 0 &&
        random.roll(record.agency, record.idempotencyKey, 'reject') < settings.rejectionRate)
    ) {
      decision = forcedRejection();
    } else {
      try {
        decision = decideFiling(input, {
          config,
          random,
          drawParts: [record.agency, record.idempotencyKey],
          applicationId: record.reference.applicationId,
          decidedAt,
          unique: (space, draw) => store.unique(space, draw),
          nameHeldByOtherApplication: (name, applicationId) =>
            [...store.nameReservations(name)].some(
              (other) => other.status === 'approved' && other.reference.applicationId !== applicationId,
            ),
          issued: {
            reservation: (reservationId) => store.findReservation(reservationId),
            registration: (uscc) => store.findRegistration(uscc),
            sealFiling: (recordId) => store.findSealFiling(recordId),
          },
        });
      } catch (error) {
        // An id it drew could not be kept: not a decision of the agency's.
        if (error instanceof RecordsUnavailableError) return decideLater(error);
        logger.error({ err: error, agency: record.agency, ticket: record.ticket }, 'decision failed');
        decision = {
          status: 'rejected',
          reason: { code: 'AGENCY_INTERNAL_ERROR', message_zh: '经办机构系统错误', message_en: 'Agency system error' },
        };
      }
    }
    const change: Partial<AgencyRecord> = {
      status: decision.status,
      decidedAt: decidedAt.toISOString(),
      ...(decision.status === 'approved'
        ? { result: decision.result, ...(decision.eLicense ? { eLicense: decision.eLicense } : {}) }
        : { reason: decision.reason }),
    };
    try {
      store.update(record, change);
    } catch (error) {
      if (!(error instanceof RecordsUnavailableError)) throw error;
      return decideLater(error); // not kept, so not taken: the filing stays pending, in the file too
    }
    logger.info(
      {
        agency: record.agency,
        procedure: record.procedure,
        ticket: record.ticket,
        applicationId: record.reference.applicationId,
        status: record.status,
        code: record.reason?.code,
      },
      'decided',
    );
    sendCallback(record);
  }

  function scheduleDecision(record: AgencyRecord, input: DecisionInput, delayMs: number): void {
    decisionTimers.set(
      record.ticket,
      setTimeout(() => decide(record, input), delayMs),
    );
  }

  function sendCallback(record: AgencyRecord): void {
    const { agency, ticket, callbackUrl } = record;
    const settings = config.agencies[agency];
    if (!callbackUrl || !settings.callbacks) return;
    if (random.roll(agency, record.idempotencyKey, 'drop-callback') < settings.dropCallbackRate) {
      logger.info({ agency, ticket }, 'callback dropped on purpose');
      return;
    }
    callbacks.send(agency, ticket, callbackUrl, config.callbackSecrets[agency], {
      agency,
      ticket,
      idempotencyKey: record.idempotencyKey,
      reference: record.reference,
      procedure: record.procedure,
      status: record.status,
      result: record.result,
      reason: record.reason,
      decidedAt: record.decidedAt,
    });
  }

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(express.json({ limit: '1mb' }));
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.debug({ method: req.method, path: req.path, status: res.statusCode, ms }, 'request');
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });

  app.post('/agencies/:agency/requests', async (req, res) => {
    const agency = agencyOf(req);
    const idempotencyKey = req.get('idempotency-key') ?? '';
    if (idempotencyKey.length < 1 || idempotencyKey.length > IDEMPOTENCY_KEY_MAX) {
      throw new HttpError(
        400,
        'IDEMPOTENCY_KEY_REQUIRED',
        `the Idempotency-Key header is required, 1 to ${IDEMPOTENCY_KEY_MAX} characters`,
      );
    }
    if (!(await passesAgencyGate(agency, 'submit', idempotencyKey, res))) return;

    // From here to store.add nothing awaits, so two filings with one key cannot both create a record.
    const existing = store.findByIdempotencyKey(agency, idempotencyKey);
    if (existing) {
      faultCounts.repeatedFilings += 1;
      res.status(200).json(recordView(existing));
      return;
    }
    const filing = parseOrThrow(filingSchema, req.body, 'filing');
    const { procedure } = filing;
    if (!offersProcedure(agency, procedure)) {
      throw new HttpError(400, 'UNKNOWN_PROCEDURE', `agency '${agency}' has no procedure '${procedure}'`, [
        { path: 'procedure', code: 'invalid_value', message: `expected one of the procedures of '${agency}'` },
      ]);
    }
    const prepared = prepareFiling(procedure, filing.payload);
    if (!prepared.ok) {
      throw new HttpError(
        400,
        'INVALID_REQUEST',
        `invalid payload for ${procedure}`,
        toIssues(prepared.issues, ['payload']),
      );
    }
    const ticket = store.unique(
      'ticket',
      (n) => `${agency.toUpperCase()}-${random.chars(TICKET_CHARSET, 12, agency, idempotencyKey, 'ticket', n)}`,
    );
    const record: AgencyRecord = {
      agency,
      procedure,
      ticket,
      idempotencyKey,
      reference: filing.reference,
      callbackUrl: filing.callbackUrl,
      status: 'pending',
      createdAt: new Date().toISOString(),
    };
    store.add(record, prepared.input);
    logger.info({ agency, procedure, ticket, applicationId: record.reference.applicationId }, 'filed');

    const { processingMs, answerDelayMs } = config.agencies[agency];
    if (processingMs === 0) decide(record, prepared.input);
    else scheduleDecision(record, prepared.input, processingMs);
    const answer = recordView(record);
    if (answerDelayMs > 0) await sleep(answerDelayMs, undefined, { signal: shutdown.signal });
    res.status(202).json(answer);
  });

  app.get('/agencies/:agency/requests/:ticket', async (req, res) => {
    const agency = agencyOf(req);
    const ticket = String(req.params.ticket);
    if (!(await passesAgencyGate(agency, 'get', ticket, res))) return;
    const record = store.findByTicket(agency, ticket);
    if (!record) throw new HttpError(404, 'UNKNOWN_TICKET', `agency '${agency}' has no ticket '${ticket}'`);
    res.json(recordView(record));
  });

  app.post('/agencies/:agency/requests/:ticket/cancel', async (req, res) => {
    const agency = agencyOf(req);
    const ticket = String(req.params.ticket);
    const { reason } = parseOrThrow(cancelSchema, req.body, 'cancellation');
    if (!(await passesAgencyGate(agency, 'cancel', ticket, res))) return;
    const record = store.findByTicket(agency, ticket);
    if (!record) throw new HttpError(404, 'UNKNOWN_TICKET', `agency '${agency}' has no ticket '${ticket}'`);
    if (config.agencies[agency].refuseUndo) {
      throw new HttpError(409, 'UNDO_REFUSED', `agency '${agency}' refuses to undo ticket '${ticket}'`);
    }
    if (isLive(record)) {
      // Kept first (a failure answers 503 and leaves the record, and a pending one's decision, as they were).
      store.update(record, {
        ...(record.status === 'approved' ? { compensation: COMPENSATIONS[record.procedure] } : {}),
        status: record.status === 'pending' ? 'cancelled' : 'revoked',
        cancelledAt: new Date().toISOString(),
        ...(reason !== undefined ? { cancelReason: reason } : {}),
      });
      const timer = decisionTimers.get(ticket);
      if (timer) clearTimeout(timer);
      decisionTimers.delete(ticket);
      logger.info({ agency, ticket, status: record.status, compensation: record.compensation }, 'undone');
    }
    res.json(recordView(record));
  });

  // The city's message platform, standing in as the agencies do: it takes a notification once per Idempotency-Key (a
  // repeat is answered as the first, also after a restart with a records file, which keeps each one's receipt), and
  // lists what it took — with the mobile number and e-mail masked and the message scrubbed, in memory only: the
  // stand-in sends nothing, and its file keeps no personal data. An outage is a setting (`messagePlatform.available`).
  app.post('/notifications', (req, res) => {
    if (!config.messagePlatform.available) {
      throw new HttpError(503, 'PLATFORM_UNAVAILABLE', 'the message platform is down (simulated outage)');
    }
    const key = req.get('idempotency-key') ?? '';
    if (key.length < 1 || key.length > IDEMPOTENCY_KEY_MAX) {
      throw new HttpError(400, 'IDEMPOTENCY_KEY_REQUIRED', 'the Idempotency-Key header is required');
    }
    const earlier = store.notification(key);
    if (earlier) {
      res.status(200).json({ notificationId: earlier.notificationId, acceptedAt: earlier.acceptedAt });
      return;
    }
    const taken = parseOrThrow(notificationSchema, req.body, 'notification');
    const notification = {
      key,
      ...taken,
      to: {
        ...taken.to,
        phone: maskPersonalData(taken.to.phone),
        ...(taken.to.email ? { email: maskPersonalData(taken.to.email) } : {}),
      },
      message: { zh: maskPersonalData(taken.message.zh), en: maskPersonalData(taken.message.en) },
      acceptedAt: new Date().toISOString(),
    };
    store.takeNotification(notification);
    logger.info(
      { notificationId: notification.notificationId, applicationId: notification.applicationId },
      'notification sent to the applicant',
    );
    res.status(201).json({ notificationId: notification.notificationId, acceptedAt: notification.acceptedAt });
  });
  app.get('/notifications', (req, res) => {
    const { applicationId } = parseOrThrow(
      z.object({ applicationId: z.string().min(1).optional() }),
      req.query,
      'query',
    );
    res.json({ notifications: store.listNotifications(applicationId).map(({ key: _key, ...shown }) => shown) });
  });

  app.get('/records', (req, res) => {
    const filter = parseOrThrow(recordsQuerySchema, req.query, 'query');
    res.json({ records: store.list(filter).map(recordView) });
  });

  app.get('/e-license/:uscc', (req, res) => {
    const record = store.findRegistration(String(req.params.uscc));
    if (!record?.eLicense) throw new HttpError(404, 'UNKNOWN_LICENSE', 'no business license with this code');
    res.json({
      ...record.eLicense,
      issuer: '南昌市市场监督管理局（模拟）',
      status: record.status === 'approved' ? 'valid' : 'revoked',
    });
  });

  app.get('/admin/config', (_req, res) => {
    res.json(publicConfigView(config));
  });

  app.get('/admin/faults', (_req, res) => {
    res.json(faultCounts);
  });

  app.patch('/admin/config', (req, res) => {
    const patch = parseOrThrow(configPatchSchema, req.body ?? {}, 'config patch');
    config = applyConfigPatch(config, patch);
    logger.info({ patch }, 'config changed');
    res.json(publicConfigView(config));
  });

  app.use((req, _res, next) => {
    next(new HttpError(404, 'NOT_FOUND', `no route ${req.method} ${req.path}`));
  });

  const handleError: ErrorRequestHandler = (error: unknown, _req, res, _next) => {
    if (res.headersSent) return;
    if (error instanceof HttpError) {
      const { code, message, issues } = error;
      res.status(error.status).json({ error: issues ? { code, message, issues } : { code, message } });
      return;
    }
    const bodyError = error as { type?: string; status?: number };
    if (bodyError.type === 'entity.parse.failed') {
      res.status(400).json({ error: { code: 'INVALID_JSON', message: 'the body is not valid JSON' } });
      return;
    }
    if (bodyError.type === 'entity.too.large') {
      res.status(413).json({ error: { code: 'BODY_TOO_LARGE', message: 'the body is too large' } });
      return;
    }
    if (shutdown.signal.aborted) {
      res.status(503).json({ error: { code: 'SHUTTING_DOWN', message: 'the simulator is shutting down' } });
      return;
    }
    if (error instanceof RecordsUnavailableError) {
      logger.error({ err: error }, 'records file not writable');
      res.status(503).json({
        error: {
          code: 'RECORDS_UNAVAILABLE',
          message: 'the agency could not keep the request on its records; nothing was done: retry later',
        },
      });
      return;
    }
    logger.error({ err: error }, 'unexpected error');
    res.status(500).json({ error: { code: 'INTERNAL', message: 'internal error' } });
  };
  app.use(handleError);

  // Filings a previous run left pending are decided as if filed now.
  if (store.readBack) {
    const { file, records, pending, notifications, truncatedLastLine } = store.readBack;
    if (truncatedLastLine)
      logger.warn({ file }, 'the last line of the records file was cut short; its change is dropped');
    logger.info(
      { file, records, pending, notifications },
      records + notifications > 0 ? 'records read back' : 'records kept in a file',
    );
  }
  for (const { record, input } of store.pending()) {
    scheduleDecision(record, input, config.agencies[record.agency].processingMs);
  }

  return {
    app,
    store,
    callbacks,
    config: () => config,
    settled: () => callbacks.settled(),
    async close() {
      shutdown.abort();
      for (const timer of decisionTimers.values()) clearTimeout(timer);
      decisionTimers.clear();
      callbacks.close();
      await callbacks.settled();
      store.close();
    },
  };
}
