/**
 * The Kaiban HTTP API, built here and started in ./main.ts, so tests get the app without a port.
 * Routes stay thin: validate at the edge with zod, then talk to Temporal.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { z } from 'zod';
import { parseApplication } from '../domain/application';
import { languageFrom } from '../domain/problems';
import type { ApplicationStatus } from '../domain/status';
import { AGENCY_IDS, STEP_IDS, type AgencyId } from '../domain/steps';
import type { BusinessStartupInput } from '../workflows/businessStartup';
import { agencyDecisionSignal, statusQuery } from '../workflows/messages';
import { errorHandler, HttpError, sendError } from './errors';
import { applicationIdForKey, isApplicationId, newApplicationId, requestHash } from './ids';
import { buildOpenApiDocument } from './openapi';
import { actionsRouter } from './routes/actions';
import { operatorRouter } from './routes/operator';
import { companyNameKey, companySearchText, districtKey, statusKey } from '../infra/search-attributes';

export const BODY_LIMIT = '64kb';
export const IDEMPOTENCY_KEY_MAX = 200;

export interface AppDeps {
  client: Client;
  taskQueue: string;
  logger: Logger;
  agencyCallbackSecrets: Record<AgencyId, string>;
  /** Whether the namespace has Kaiban's custom search attributes (set at start for operators' lists). */
  searchAttributes?: boolean;
  /** Extra routers mounted before the 404 handler (the calendar calculator, metrics, …). */
  routers?: express.Router[];
  now?: () => Date;
}

const callbackSchema = z.object({
  ticket: z.string().min(1).max(200),
  status: z.enum(['pending', 'approved', 'rejected', 'cancelled', 'revoked']),
  reference: z.object({ applicationId: z.string().max(100), step: z.enum(STEP_IDS) }),
  result: z.record(z.string(), z.unknown()).optional(),
  reason: z.object({ code: z.string(), message_zh: z.string().optional(), message_en: z.string().optional() }).optional(),
});

type RawBodyRequest = Request & { rawBody?: Buffer };

function signatureMatches(secret: string, rawBody: Buffer, header: string | undefined): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(rawBody).digest('hex'));
  const given = Buffer.from(header.slice('sha256='.length));
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export function createApp(deps: AppDeps): express.Express {
  const { client, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

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
      serializers: { req: (req) => ({ method: req.method, url: req.url }), res: (res) => ({ statusCode: res.statusCode }) },
    }),
  );
  app.use((req, res, next) => {
    res.locals.requestId = req.id;
    next();
  });
  app.use(
    express.json({
      limit: BODY_LIMIT,
      strict: true,
      verify: (req, _res, buf) => {
        (req as RawBodyRequest).rawBody = buf;
      },
    }),
  );

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });

  app.get('/readyz', async (_req, res) => {
    try {
      // A deadline through the connection: a second argument to a service method would be taken as a callback.
      await client.connection.withDeadline(Date.now() + 3000, () => client.workflowService.getSystemInfo({}));
      res.json({ ready: true, temporal: 'reachable' });
    } catch (err) {
      res.status(503).json({ ready: false, temporal: `unreachable: ${(err as Error).message}` });
    }
  });

  const openApi = buildOpenApiDocument();
  app.get('/openapi.json', (_req, res) => {
    res.json(openApi);
  });

  app.post('/v1/applications', async (req: Request, res: Response) => {
    const lang = languageFrom(req.headers['accept-language']);
    if (!req.is('application/json')) {
      throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the application as application/json');
    }
    const key = req.headers['idempotency-key'];
    if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX)) {
      throw new HttpError(400, 'IDEMPOTENCY_KEY_INVALID', `Idempotency-Key must be 1 to ${IDEMPOTENCY_KEY_MAX} characters`);
    }
    const parsed = parseApplication(req.body, lang);
    if (!parsed.ok) {
      const message = lang === 'en' ? 'the application has problems; see issues' : '申请材料有误，详见 issues';
      throw new HttpError(400, 'VALIDATION_FAILED', message, parsed.problems);
    }
    const hash = requestHash(parsed.value);
    const id = key ? applicationIdForKey('public', key) : newApplicationId();
    const input: BusinessStartupInput = { applicationId: id, application: parsed.value, submittedAt: now().toISOString() };
    try {
      await client.workflow.start('businessStartup', {
        taskQueue: deps.taskQueue,
        workflowId: id,
        args: [input],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        memo: { requestHash: hash },
        ...(deps.searchAttributes
          ? {
              typedSearchAttributes: [
                { key: statusKey, value: 'running' },
                { key: districtKey, value: parsed.value.company.district },
                { key: companyNameKey, value: companySearchText(parsed.value.company.name) },
              ],
            }
          : {}),
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      const existing = await client.workflow.getHandle(id).describe();
      if (existing.memo?.requestHash !== hash) {
        throw new HttpError(409, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different application');
      }
      res.setHeader('idempotent-replayed', 'true');
      res.status(202).json({ id, status: 'accepted', links: { self: `/v1/applications/${id}` } });
      return;
    }
    req.log.info({ applicationId: id }, 'application submitted');
    res.status(202).location(`/v1/applications/${id}`).json({ id, status: 'accepted', links: { self: `/v1/applications/${id}` } });
  });

  app.get('/v1/applications/:id', async (req: Request<{ id: string }>, res: Response) => {
    const { id } = req.params;
    if (!isApplicationId(id)) throw new HttpError(404, 'NOT_FOUND', 'no such application');
    res.json(await readStatus(client, id));
  });

  app.post('/v1/agency-callbacks/:agency', async (req: Request<{ agency: string }>, res: Response) => {
    const agency = req.params.agency as AgencyId;
    if (!AGENCY_IDS.includes(agency)) throw new HttpError(404, 'NOT_FOUND', 'no such agency');
    const rawBody = (req as RawBodyRequest).rawBody ?? Buffer.alloc(0);
    if (!signatureMatches(deps.agencyCallbackSecrets[agency], rawBody, req.header('x-agency-signature'))) {
      throw new HttpError(401, 'SIGNATURE_INVALID', 'X-Agency-Signature does not match the body');
    }
    const parsed = callbackSchema.safeParse(req.body);
    if (!parsed.success) throw new HttpError(400, 'CALLBACK_INVALID', z.prettifyError(parsed.error));
    const { reference, ticket, status, result, reason } = parsed.data;
    try {
      await client.workflow
        .getHandle(reference.applicationId)
        .signal(agencyDecisionSignal, { step: reference.step, ticket, status, result, reason });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new HttpError(404, 'NOT_FOUND', 'no running application for this callback');
      throw err;
    }
    res.status(204).end();
  });

  app.use(actionsRouter({ client }));
  app.use(operatorRouter({ client, taskQueue: deps.taskQueue }));
  for (const router of deps.routers ?? []) app.use(router);

  app.use((_req, res) => {
    sendError(res, 404, 'NOT_FOUND', 'no such route');
  });
  app.use(errorHandler);
  return app;
}

/** Running applications answer the status query; closed ones return their final status. */
export async function readStatus(client: Client, id: string): Promise<ApplicationStatus> {
  const handle = client.workflow.getHandle(id);
  try {
    const description = await handle.describe();
    if (description.status.name === 'COMPLETED') return (await handle.result()) as ApplicationStatus;
    return await handle.query(statusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new HttpError(404, 'NOT_FOUND', 'no such application');
    throw err;
  }
}
