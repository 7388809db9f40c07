/**
 * The Kaiban HTTP API, built here and started in ./main.ts, so tests get the app without a port.
 * Routes stay thin: validate at the edge with zod, then talk to Temporal.
 */
import { randomUUID } from 'node:crypto';
import {
  Client,
  isGrpcServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
} from '@temporalio/client';
import express, { type Request, type Response } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { z } from 'zod';
import { inputProblems, parseApplication } from '../domain/application';
import { languageFrom, problemsFromZodError } from '../domain/problems';
import { AGENCY_IDS, stepDefinition, type AgencyId } from '../domain/steps';
import type { BusinessStartupInput } from '../workflows/businessStartup';
import { agencyCallbackSchema } from './agency-callback';
import { approvedResultProblems, describeProblems } from '../domain/agency-answers';
import { CallbackPlacer } from './callback-placement';
import { errorHandler, HttpError, sendError } from './errors';
import { API_MESSAGES } from './messages';
import { applicationIdForKey, isApplicationId, newApplicationId, requestHash } from './ids';
import { buildOpenApiDocument } from './openapi';
import { applicationCounter, openByLevel, openByTask } from './visibility';
import { actionsRouter } from './routes/actions';
import { readApplication, readStatus } from './read-status';
import { operatorRouter } from './routes/operator';
import { calendarRouter } from './routes/calendar';
import { calendarReadiness, type WorkingCalendar } from '../domain/calendar';
import { createOfficialCalendar } from '../domain/calendar/official';
import { DEFAULT_SLA_TERMS, provisionalDueAt, refreshSla, type SlaSettings } from '../domain/sla';
import { metricsRouter, processMetrics, type KaibanMetrics } from '../observability/metrics';
import { consoleRouter, type ConsoleOptions } from './routes/console';
import { SEARCH_ATTRIBUTES, submissionSearchAttributes } from '../infra/search-attributes';
import { maskPersonalData } from '../observability/logger';
import type { ApiSecurity } from '../security';
import { authorize, identityOf, ownerFromMemo } from '../security/authorize';
import { CALLBACK_TOLERANCE_S, checkCallbackSignature, SeenSignatures } from '../security/callback-signature';
import { codecCors, codecRouter } from '../security/codec-server';
import { refuseDeepBodies, requireJsonBodies } from '../security/input';
import { maskPersonalFields, revealRequested } from '../security/masking';
import { identityRateLimit, submissionRateLimit } from '../security/rate-limit';

export const BODY_LIMIT = '64kb';
export const IDEMPOTENCY_KEY_MAX = 200;

export interface AppDeps {
  client: Client;
  taskQueue: string;
  logger: Logger;
  agencyCallbackSecrets: Record<AgencyId, string>;
  /** Token verification, the payload codec (for the codec endpoint), rate limits: security/index.ts. */
  security: ApiSecurity;
  /** Whether the namespace has Kaiban's custom search attributes (set at start for operators' lists). */
  searchAttributes?: boolean;
  /** The operator console at /console (static files; dev sign-in only in the embedded default). */
  console?: ConsoleOptions;
  /** Extra routers mounted before the 404 handler (the calendar calculator, metrics, …). */
  routers?: express.Router[];
  /** The SLA calendar (config/sla.ts): /v1/calendar/due, /readyz, live SLA figures. Default: shipped data, default hours. */
  calendar?: WorkingCalendar;
  /** The SLA budgets and counting rule (config/sla.ts), for the provisional deadline set at submission. Default: PRODUCT.md's. */
  sla?: Pick<SlaSettings, 'countingRule' | 'budgets'>;
  /** The Prometheus registry served at /metrics (default: this process's, shared with the activities). */
  metrics?: KaibanMetrics;
  now?: () => Date;
}

type RawBodyRequest = Request & { rawBody?: Buffer };

/**
 * Temporal calls made on behalf of agency callbacks, until they settle. An agency does not wait for them the way an
 * applicant waits for an answer, so `settleAgencyCallbacks` lets a closing server finish them before the process
 * drops its Temporal connection.
 */
const callbacksInFlight = new WeakMap<express.Express, Set<Promise<unknown>>>();

/** Resolves when the Temporal calls of every callback taken so far have settled (used by api/server.ts close). */
export async function settleAgencyCallbacks(app: express.Express): Promise<void> {
  const inFlight = callbacksInFlight.get(app);
  while (inFlight && inFlight.size > 0) await Promise.allSettled([...inFlight]);
}

export function createApp(deps: AppDeps): express.Express {
  const { client, logger, security } = deps;
  const now = deps.now ?? (() => new Date());
  const calendar = deps.calendar ?? createOfficialCalendar();
  const slaSettings = deps.sla ?? DEFAULT_SLA_TERMS;
  // Told at start too, not only on /readyz and the dashboard: deadlines fail once the year without a schedule begins.
  for (const issue of calendarReadiness(calendar, now()).issues) {
    logger[issue.level === 'error' ? 'error' : 'warn']({ code: issue.code, year: issue.year }, issue.message);
  }
  const metrics = deps.metrics ?? processMetrics();
  const callbacks = new CallbackPlacer(client, metrics.agencyCallbackQueries);
  const seenSignatures = new SeenSignatures();
  if (deps.searchAttributes) {
    // The same counts as /v1/stats, for the gauges.
    const count = applicationCounter(client, deps.taskQueue);
    // Within a scrape's time (Prometheus gives up after 10 s by default; the client would retry for some 20 s).
    const within3s = <T>(counts: () => Promise<T>) => client.connection.withDeadline(Date.now() + 3000, counts);
    metrics.openApplicationsByLevel = () => within3s(() => openByLevel(count));
    metrics.openApplicationsByTask = () => within3s(() => openByTask(count));
    metrics.logger = logger.child({ component: 'metrics' });
  }
  const app = express();
  const inFlight = new Set<Promise<unknown>>();
  callbacksInFlight.set(app, inFlight);
  const tracked = <T>(work: Promise<T>): Promise<T> => {
    const forget = () => inFlight.delete(work);
    inFlight.add(work);
    void work.then(forget, forget);
    return work;
  };
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.set('trust proxy', security.trustProxy);
  app.use(helmet());

  app.use(
    pinoHttp({
      logger: logger.child({ component: 'api' }),
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      customProps: (req) => ({ requestId: req.id }),
      // Request logs are bound once per request, outside the logger's scrubbing: the URL's query
      // (`?q=…`, `&reason=…`) is masked here.
      serializers: {
        req: (req) => ({ method: req.method, url: maskPersonalData(req.url ?? '') }),
        res: (res) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  app.use((req, res, next) => {
    res.locals.requestId = req.id;
    next();
  });
  // Before any route and before any body is read: every route's authorization decision
  // (security/authorize.ts), submission rate limits, JSON only, the Web UI's codec endpoint.
  app.use(codecCors(security.codecCorsOrigins));
  app.use(
    authorize({
      verifier: security.verifier,
      ownerOf: ownerFromMemo(client),
      limit: identityRateLimit(security.rateLimits),
    }),
  );
  app.post('/v1/applications', ...submissionRateLimit(security.rateLimits));
  app.use(requireJsonBodies);
  app.use(codecRouter(security.codec));
  app.use(
    express.json({
      limit: BODY_LIMIT,
      // Any JSON value: a body of null, a number, a string or true is the wrong type, named as an array is by the
      // route's own validation (strict mode called it not JSON at all).
      strict: false,
      verify: (req, _res, buf) => {
        (req as RawBodyRequest).rawBody = buf;
      },
    }),
    refuseDeepBodies,
  );

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });

  app.get('/readyz', async (req, res) => {
    const { namespace } = client.options;
    // One deadline for all the checks (a health check gives up after a few seconds), through the connection: a second
    // argument to a service method would be taken as a callback.
    const deadline = Date.now() + 3000;
    const within3s = <T>(call: () => Promise<T>) => client.connection.withDeadline(deadline, call);
    // A missing schedule year is reported (deadlines wait for it) but does not take the API out of service.
    const reply = (ready: boolean, found: Record<string, unknown>) =>
      res.status(ready ? 200 : 503).json({ ready, ...found, namespace, calendar: calendarReadiness(calendar, now()) });
    try {
      await within3s(() => client.workflowService.describeNamespace({ namespace }));
    } catch (err) {
      // gRPC 5 NOT_FOUND: the server answers, but every submission would fail (a misspelt TEMPORAL_NAMESPACE).
      const missing = isGrpcServiceError(err) && err.code === 5;
      req.log.warn({ err, namespace }, missing ? 'Temporal namespace not found' : 'Temporal unreachable');
      return reply(false, { temporal: missing ? 'namespace-missing' : 'unreachable' });
    }
    if (deps.searchAttributes) {
      // Submissions set Kaiban's attributes: a namespace without them refuses every one. A listing the credentials may
      // not make (a managed cluster) proves nothing either way.
      const listed = await within3s(() => client.connection.operatorService.listSearchAttributes({ namespace })).catch(
        (err: unknown) => void req.log.warn({ err }, 'search attributes not listed'),
      );
      const registered = Object.keys(listed?.customAttributes ?? {});
      const absent = listed ? Object.keys(SEARCH_ATTRIBUTES).filter((name) => !registered.includes(name)) : [];
      if (absent.length > 0) return reply(false, { temporal: 'reachable', searchAttributesMissing: absent });
    }
    return reply(true, { temporal: 'reachable' });
  });

  const openApi = buildOpenApiDocument();
  app.get('/openapi.json', (_req, res) => {
    res.json(openApi);
  });

  app.post('/v1/applications', async (req: Request, res: Response) => {
    const lang = languageFrom(req.headers['accept-language']);
    if (!req.is('application/json')) {
      throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', API_MESSAGES.applicationNotJson);
    }
    const key = req.headers['idempotency-key'];
    if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX)) {
      throw new HttpError(400, 'IDEMPOTENCY_KEY_INVALID', API_MESSAGES.idempotencyKeyInvalid(IDEMPOTENCY_KEY_MAX));
    }
    const parsed = parseApplication(req.body, lang);
    const told = inputProblems(req.body, lang);
    const message = API_MESSAGES.applicationProblems;
    if (!parsed.ok) throw new HttpError(400, 'VALIDATION_FAILED', message, [...parsed.problems, ...told]);
    const hash = requestHash(parsed.value);
    // The owner is the token's subject: kept in the memo (encrypted by the codec), never in the id.
    const owner = identityOf(res)!.subject;
    const id = key ? applicationIdForKey(`applicant:${owner}`, key) : newApplicationId();
    const replayed = () => {
      res.setHeader('idempotent-replayed', 'true');
      res
        .status(202)
        .location(`/v1/applications/${id}`)
        .json({ id, status: 'accepted', links: { self: `/v1/applications/${id}` } });
    };
    if (told.length > 0) {
      // A repeat of a submission taken before (its bank date was today then) is answered as the first was.
      // Only "never started" means no earlier submission: Temporal out of reach is a 503 (the repeat is answered once it
      // is back), not a 400 that would have the applicant mend the date and submit the same company twice.
      const earlier = key
        ? await client.workflow
            .getHandle(id)
            .describe()
            .catch((err: unknown) => {
              if (err instanceof WorkflowNotFoundError) return undefined;
              throw err;
            })
        : undefined;
      if (earlier?.memo?.requestHash !== hash) throw new HttpError(400, 'VALIDATION_FAILED', message, told);
      return replayed();
    }
    const input: BusinessStartupInput = {
      applicationId: id,
      application: parsed.value,
      submittedAt: now().toISOString(),
    };
    try {
      await client.workflow.start('businessStartup', {
        taskQueue: deps.taskQueue,
        workflowId: id,
        args: [input],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        memo: { requestHash: hash, owner },
        ...(deps.searchAttributes
          ? {
              typedSearchAttributes: submissionSearchAttributes(
                parsed.value.company,
                provisionalDueAt(calendar, slaSettings, Date.parse(input.submittedAt)),
                security.ownerTag(owner),
              ),
            }
          : {}),
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      const existing = await client.workflow.getHandle(id).describe();
      if (existing.memo?.requestHash !== hash) {
        throw new HttpError(409, 'IDEMPOTENCY_KEY_REUSED', API_MESSAGES.idempotencyKeyReusedApplication);
      }
      return replayed();
    }
    req.log.info({ applicationId: id }, 'application submitted');
    res
      .status(202)
      .location(`/v1/applications/${id}`)
      .json({ id, status: 'accepted', links: { self: `/v1/applications/${id}` } });
  });

  app.get('/v1/applications/:id', async (req: Request<{ id: string }>, res: Response) => {
    const { id } = req.params;
    if (!isApplicationId(id)) throw new HttpError(404, 'NOT_FOUND', API_MESSAGES.applicationNotFound);
    // The workflow's SLA figures are as of its last activation; bring the running clocks to now.
    // Personal data is masked unless an operator asks for it with a reason (checked, and logged, first).
    const reveal = revealRequested(req, res, id);
    const status = refreshSla(await readStatus(client, id), calendar, now().getTime());
    reveal?.(); // logged once there is something to see
    res.json(reveal ? status : maskPersonalFields(status));
  });

  app.get('/v1/applications/:id/application', async (req: Request<{ id: string }>, res: Response) => {
    const { id } = req.params;
    if (!isApplicationId(id)) throw new HttpError(404, 'NOT_FOUND', API_MESSAGES.applicationNotFound);
    // What the applicant submitted, with the corrections they made since: what a reviewer checks the findings against.
    const reveal = revealRequested(req, res, id);
    const application = await readApplication(client, id);
    reveal?.();
    res.json({ id, application: reveal ? application : maskPersonalFields(application) });
  });

  app.post('/v1/agency-callbacks/:agency', async (req: Request<{ agency: string }>, res: Response) => {
    const agency = req.params.agency as AgencyId;
    if (!AGENCY_IDS.includes(agency)) throw new HttpError(404, 'NOT_FOUND', 'no such agency');
    const rawBody = (req as RawBodyRequest).rawBody ?? Buffer.alloc(0);
    const timestamp = req.header('x-agency-timestamp');
    const signature = req.header('x-agency-signature');
    const check = checkCallbackSignature(deps.agencyCallbackSecrets[agency], rawBody, timestamp, signature, Date.now());
    if (check === 'invalid') {
      throw new HttpError(
        401,
        'SIGNATURE_INVALID',
        'X-Agency-Signature does not match X-Agency-Timestamp and the body (HMAC-SHA256 of "<timestamp>.<body>")',
      );
    }
    if (check === 'stale') {
      throw new HttpError(
        401,
        'SIGNATURE_STALE',
        `X-Agency-Timestamp is more than ${CALLBACK_TOLERANCE_S} s from this server's clock: sign the callback anew`,
      );
    }
    // The same signed callback again (a replay, or the same bytes resent): taken once.
    if (seenSignatures.has(signature!, Date.now())) {
      metrics.agencyCallbacks.inc({ outcome: 'duplicate' });
      res.status(204).end();
      return;
    }
    // reportInput: a value of the wrong type is told apart from a missing one (problemsFromZodError).
    const parsed = agencyCallbackSchema.safeParse(req.body, { reportInput: true });
    if (!parsed.success) {
      // Issues by field and rule, as an application's; in English, as every answer to a callback.
      const issues = problemsFromZodError(parsed.error, 'en');
      throw new HttpError(400, 'CALLBACK_INVALID', z.prettifyError(parsed.error), issues);
    }
    const { reference, ticket, status, result, reason } = parsed.data;
    // A signature proves which agency sent the callback; it may speak only for that agency's own steps.
    if (stepDefinition(reference.step).agency !== agency) {
      throw new HttpError(403, 'AGENCY_MISMATCH', `reference.step "${reference.step}" is not a procedure of ${agency}`);
    }
    // Only an application's id can name a workflow here: a signed agency cannot signal anything else in the namespace.
    if (!isApplicationId(reference.applicationId)) {
      metrics.agencyCallbacks.inc({ outcome: 'not_found' });
      throw new HttpError(404, 'NOT_FOUND', 'no running application for this callback');
    }
    // An approval the next steps cannot build on (a license without a valid USCC) is no decision to signal.
    if (status === 'approved') {
      // Read by the agency's engineers, as every answer to a callback: English (api/errors.ts).
      const problems = approvedResultProblems(reference.step, result, 'en');
      if (problems.length > 0) {
        throw new HttpError(
          400,
          'CALLBACK_INVALID',
          `an approval of ${reference.step} without what the next steps need: ${describeProblems(problems)}`,
          problems,
        );
      }
    }
    // "Still pending" changes nothing in the workflow; it polls on its own timer.
    if (status === 'pending') {
      metrics.agencyCallbacks.inc({ outcome: 'pending' });
      res.status(204).end();
      return;
    }
    // Remembered while it is placed, so that copies arriving meanwhile are not placed too; forgotten if not taken.
    seenSignatures.add(signature!, timestamp!, Date.now());
    let taken = false;
    try {
      const outcome = await tracked(
        callbacks.place(reference.applicationId, { step: reference.step, ticket, status, result, reason }),
      );
      metrics.agencyCallbacks.inc({ outcome });
      if (outcome === 'foreign') {
        throw new HttpError(
          409,
          'TICKET_MISMATCH',
          `ticket "${ticket}" is another step's in this application, not ${reference.step}'s`,
        );
      }
      taken = true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        metrics.agencyCallbacks.inc({ outcome: 'not_found' });
        throw new HttpError(404, 'NOT_FOUND', 'no running application for this callback');
      }
      throw err;
    } finally {
      if (!taken) seenSignatures.delete(signature!);
    }
    res.status(204).end();
  });

  app.use(actionsRouter({ client, updateIdOf: deps.security.updateIdOf }));
  app.use(
    operatorRouter({
      client,
      taskQueue: deps.taskQueue,
      calendar,
      now,
      searchAttributes: deps.searchAttributes === true,
      ownerTag: security.ownerTag,
    }),
  );
  app.use(consoleRouter(deps.console));
  app.use(calendarRouter(calendar));
  app.use(metricsRouter(metrics));
  for (const router of deps.routers ?? []) app.use(router);

  app.use((_req, res) => {
    sendError(res, 404, 'NOT_FOUND', API_MESSAGES.routeNotFound);
  });
  app.use(errorHandler);
  return app;
}
