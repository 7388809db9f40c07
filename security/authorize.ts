/**
 * Authorization (OWASP API1, API5): one table decides every route, enforced by one middleware that
 * runs before any route. A route with no entry answers 404 to everyone (fail closed), and
 * test/security/routes.test.ts fails until the entry is written.
 *
 * Decisions:
 *   public         anyone, no token (health, the OpenAPI document, the calendar calculator);
 *   agency-signed  no user token: the route checks the agency's HMAC signature itself;
 *   roles          a valid bearer token with one of the roles; `own` means an applicant may act only
 *                  on applications they submitted: another applicant's id answers 404, the same as
 *                  an unknown id, so ids cannot be probed. `mine`, on a collection, means the route answers an
 *                  applicant with their own applications only (GET /v1/applications filters by KaibanOwner).
 * Supervisors read everything and act on nothing: they appear only on GET routes.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import express, { type NextFunction, type Request, type Response } from 'express';
import { HttpError } from '../api/errors';
import { API_MESSAGES } from '../api/messages';
import { isApplicationId } from '../api/ids';
import {
  AuthenticationError,
  AuthenticationUnavailableError,
  type Identity,
  type Role,
  type TokenVerifier,
} from './jwt';

export type Access = 'any' | 'own' | 'mine';
export type Decision =
  { kind: 'public' } | { kind: 'agency-signed' } | { kind: 'roles'; roles: Partial<Record<Role, Access>> };

export type PolicyMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RoutePolicy {
  method: PolicyMethod;
  /** Exactly as the route is registered (express 5 syntax). */
  path: string;
  decision: Decision;
}

const PUBLIC: Decision = { kind: 'public' };
const AGENCY_SIGNED: Decision = { kind: 'agency-signed' };
const roles = (r: Partial<Record<Role, Access>>): Decision => ({ kind: 'roles', roles: r });

const APPLICANTS = roles({ applicant: 'any' });
const OWNER = roles({ applicant: 'own' });
const OWNER_AND_STAFF = roles({ applicant: 'own', operator: 'any', supervisor: 'any' });
const STAFF = roles({ operator: 'any', supervisor: 'any' });
const MINE_AND_STAFF = roles({ applicant: 'mine', operator: 'any', supervisor: 'any' });
/** The routes that answer an applicant with their own applications only (`mine`): api/routes/operator.ts. */
const SCOPED_TO_CALLER: readonly string[] = ['get /v1/applications'];
const OPERATORS = roles({ operator: 'any' });

export const POLICY: readonly RoutePolicy[] = [
  { method: 'get', path: '/healthz', decision: PUBLIC },
  { method: 'get', path: '/readyz', decision: PUBLIC },
  { method: 'get', path: '/openapi.json', decision: PUBLIC },
  { method: 'get', path: '/v1/calendar/due', decision: PUBLIC },
  // The console page holds no data; every call it makes carries the operator's token.
  { method: 'get', path: '/console', decision: PUBLIC },
  { method: 'get', path: '/console/config.json', decision: PUBLIC },
  { method: 'get', path: '/console/{*asset}', decision: PUBLIC },
  // Mints development tokens; the route itself answers only in the embedded default, to this machine.
  { method: 'post', path: '/console/dev-token', decision: PUBLIC },
  { method: 'get', path: '/metrics', decision: STAFF },

  { method: 'post', path: '/v1/applications', decision: APPLICANTS },
  { method: 'get', path: '/v1/applications', decision: MINE_AND_STAFF },
  { method: 'get', path: '/v1/stats', decision: STAFF },
  { method: 'get', path: '/v1/applications/:id', decision: OWNER_AND_STAFF },
  { method: 'get', path: '/v1/applications/:id/application', decision: OWNER_AND_STAFF },
  { method: 'post', path: '/v1/applications/:id/withdraw', decision: OWNER },
  { method: 'post', path: '/v1/applications/:id/corrections', decision: OWNER },
  { method: 'post', path: '/v1/applications/:id/review', decision: OPERATORS },
  { method: 'post', path: '/v1/applications/:id/abort', decision: OPERATORS },
  { method: 'post', path: '/v1/applications/:id/steps/:step/retry', decision: OPERATORS },
  { method: 'post', path: '/v1/applications/:id/steps/:step/skip', decision: OPERATORS },

  { method: 'post', path: '/v1/agency-callbacks/:agency', decision: AGENCY_SIGNED },

  // Decoding reveals personal data: operators only (security/codec-server.ts).
  { method: 'post', path: '/codec/encode', decision: OPERATORS },
  { method: 'post', path: '/codec/decode', decision: OPERATORS },
];

export function policyFor(method: string, path: string): RoutePolicy | undefined {
  const m = method.toLowerCase();
  return POLICY.find((p) => p.path === path && (p.method === m || (m === 'head' && p.method === 'get')));
}

/** The owner (token subject) of an application, or undefined when there is no such application. */
export type OwnerLookup = (applicationId: string) => Promise<string | undefined>;

/** The owner is recorded in the workflow's memo at submission (encrypted by the payload codec). */
export function ownerFromMemo(client: Client): OwnerLookup {
  return async (applicationId) => {
    try {
      const { memo } = await client.workflow.getHandle(applicationId).describe();
      const owner = memo?.owner;
      return typeof owner === 'string' ? owner : undefined;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  };
}

export interface AuthorizeOptions {
  verifier: TokenVerifier;
  ownerOf: OwnerLookup;
  /** Counts the request against its caller's limit once the token is verified; rejects with a 429 past it. */
  limit?: (req: Request, res: Response) => Promise<void>;
}

function bearerToken(req: Request): string {
  const header = req.headers.authorization;
  if (!header) throw new AuthenticationError('TOKEN_MISSING', API_MESSAGES.tokenMissing);
  const match = /^Bearer ([A-Za-z0-9_.~+/=-]{1,8192})$/i.exec(header);
  if (!match) throw new AuthenticationError('TOKEN_INVALID', API_MESSAGES.tokenMalformed);
  return match[1]!;
}

function unauthorized(res: Response, err: AuthenticationError): HttpError {
  const error = err.code === 'TOKEN_MISSING' ? '' : `, error="invalid_token"`;
  res.setHeader('www-authenticate', `Bearer realm="kaiban"${error}`);
  return new HttpError(401, err.code, err.localized);
}

/** The middleware: finds the route's decision, authenticates, checks the role and ownership. */
export function authorize(options: AuthorizeOptions): express.Router {
  const router = express.Router();

  const enforce = (policy: RoutePolicy) => async (req: Request, res: Response, next: NextFunction) => {
    const { decision } = policy;
    if (decision.kind !== 'roles') return next('router');
    // Answers about people or applications must not be kept by browsers or proxies.
    res.setHeader('cache-control', 'no-store');

    let identity: Identity;
    try {
      identity = await options.verifier.verify(bearerToken(req));
    } catch (err) {
      if (err instanceof AuthenticationError) {
        req.log?.info(
          { code: err.code, route: `${policy.method.toUpperCase()} ${policy.path}` },
          'request not authenticated',
        );
        throw unauthorized(res, err);
      }
      if (err instanceof AuthenticationUnavailableError) {
        req.log?.error({ err }, 'bearer tokens cannot be verified');
        throw new HttpError(503, 'AUTH_UNAVAILABLE', API_MESSAGES.authUnavailable);
      }
      throw err;
    }
    res.locals.identity = identity;
    req.log = req.log?.child({ subject: identity.subject, role: identity.role });
    await options.limit?.(req, res);

    const access = decision.roles[identity.role];
    if (!access) {
      const allowed = Object.keys(decision.roles) as Role[];
      req.log?.info({ route: `${policy.method.toUpperCase()} ${policy.path}` }, 'role not allowed');
      throw new HttpError(403, 'FORBIDDEN', API_MESSAGES.roleForbidden(identity.role, allowed));
    }
    if (access === 'own') {
      const param = req.params.id;
      const id = typeof param === 'string' ? param : '';
      const owner = isApplicationId(id) ? await options.ownerOf(id) : undefined;
      // Not "forbidden": whether someone else's application exists is not the caller's business.
      if (owner !== identity.subject) throw new HttpError(404, 'NOT_FOUND', API_MESSAGES.applicationNotFound);
    }
    next('router');
  };

  for (const policy of POLICY) {
    // `own` is checked against the :id of the route; without one it would let every applicant through. `mine` is the
    // route's own filter: only where it is written.
    const accesses = policy.decision.kind === 'roles' ? Object.values(policy.decision.roles) : [];
    if (accesses.includes('own') && !policy.path.includes('/:id')) {
      throw new Error(`policy ${policy.method} ${policy.path}: 'own' needs an :id in the path`);
    }
    if (accesses.includes('mine') && !SCOPED_TO_CALLER.includes(`${policy.method} ${policy.path}`)) {
      throw new Error(`policy ${policy.method} ${policy.path}: 'mine' needs a route that filters by its caller`);
    }
    router[policy.method](policy.path, enforce(policy));
  }
  // No decision, no route: the same 404 as an unknown path.
  router.use((req: Request) => {
    req.log?.debug({ method: req.method, path: req.path }, 'no authorization decision for this path');
    throw new HttpError(404, 'NOT_FOUND', API_MESSAGES.routeNotFound);
  });
  (router as unknown as Record<symbol, boolean>)[AUTHORIZE_ROUTER] = true;
  return router;
}

const AUTHORIZE_ROUTER = Symbol('kaiban.authorize');

export interface RegisteredRoute {
  method: string;
  path: string;
}

interface StackLayer {
  rawPath?: string;
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: StackLayer[] } & Record<symbol, boolean>;
}

/**
 * Every route registered on an express 5 app or router, with the prefix of the routers it sits in
 * (the authorization router itself excluded): what the route table test holds against POLICY.
 */
export function registeredRoutes(app: { router: unknown } | express.Router): RegisteredRoute[] {
  const routes: RegisteredRoute[] = [];
  const walk = (stack: StackLayer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const method of Object.keys(layer.route.methods)) {
          for (const p of paths) routes.push({ method: method === '_all' ? 'all' : method, path: `${prefix}${p}` });
        }
      } else if (layer.handle?.stack && !layer.handle[AUTHORIZE_ROUTER]) {
        walk(layer.handle.stack, layer.rawPath && layer.rawPath !== '/' ? `${prefix}${layer.rawPath}` : prefix);
      }
    }
  };
  const root = ('stack' in app ? app : (app as { router: express.Router }).router) as unknown as {
    stack: StackLayer[];
  };
  walk(root.stack, '');
  return routes;
}

type OpenApiOperation = Record<string, unknown> & { responses?: Record<string, unknown> };

/**
 * Writes the table into an OpenAPI document (api/openapi.ts): each operation's security requirement,
 * the roles it admits (`x-kaiban-roles`; `own` = only the applicant who submitted it) and its 401/403 answers.
 */
export function documentAuthorization<T extends Record<string, unknown>>(doc: T): T {
  const error = (description: string) => ({
    description,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  });
  const paths = (doc.paths ?? {}) as Record<string, Record<string, OpenApiOperation>>;
  for (const [openApiPath, operations] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const policy = policyFor(method, openApiPath.replace(/\{(\w+)\}/g, ':$1'));
      if (!policy) continue;
      if (policy.decision.kind !== 'roles') {
        operation.security = [];
        continue;
      }
      operation.security = [{ bearerAuth: [] }];
      operation['x-kaiban-roles'] = policy.decision.roles;
      const responses = (operation.responses ??= {});
      responses['401'] ??= { $ref: '#/components/responses/Unauthorized' };
      responses['403'] ??= error('The role may not do this');
      responses['429'] ??= error(
        'Too many requests from this caller in the window (RATE_LIMITED, RATE_LIMIT_REQUESTS_PER_IDENTITY); Retry-After says when to try again',
      );
      responses['503'] ??= error(
        'Bearer tokens cannot be checked at the moment (AUTH_UNAVAILABLE), or Temporal cannot be reached (TEMPORAL_UNAVAILABLE, with Retry-After); try again shortly',
      );
      if (Object.values(policy.decision.roles).includes('own'))
        responses['404'] ??= error("Unknown, or another applicant's, application");
    }
  }
  const components = ((doc as Record<string, unknown>).components ??= {}) as Record<string, unknown>;
  // The token check's answer (bearerToken, security/jwt.ts): its codes and its challenge.
  components.responses = {
    ...(components.responses as Record<string, unknown> | undefined),
    Unauthorized: {
      description:
        'No bearer token (TOKEN_MISSING); one that is not a valid token of this API (TOKEN_INVALID: not "Bearer <token>", signed with another key, another issuer or audience, no sub or no Kaiban role); or one that has expired (TOKEN_EXPIRED)',
      headers: {
        'WWW-Authenticate': {
          description: 'Bearer realm="kaiban", with error="invalid_token" unless the token is missing',
          schema: { type: 'string' },
        },
      },
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    },
  };
  components.securitySchemes = {
    bearerAuth: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: 'role claim: applicant, operator or supervisor; sub: the caller',
    },
  };
  return doc;
}

/** The caller's identity, set by `authorize` on every route that needs a token. */
export function identityOf(res: Response): Identity | undefined {
  return res.locals.identity as Identity | undefined;
}
