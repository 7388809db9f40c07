/**
 * Authorization of every route (OWASP API1/API5) on the real API over HTTP, the dev server behind it:
 * each route × {no token, wrong role, another applicant, the owner or staff} answers as the table in
 * security/authorize.ts says, and a route registered without a decision fails the route table test.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import express from 'express';
import { SignJWT } from 'jose';
import { CALLBACK_TOLERANCE_S } from '../../security/callback-signature';
import { POLICY, policyFor, registeredRoutes, type RoutePolicy } from '../../security/authorize';
import { ROLES, type Role } from '../../security/jwt';
import { tokenFor } from '../helpers/auth';
import { freshApplication } from '../helpers/fixtures';
import { CALLBACK_SECRET, startStack, type Stack } from '../helpers/stack';
import { startDevServer } from '../helpers/temporal';
import { call } from './support';

let env: TestWorkflowEnvironment;
let stack: Stack;
const OWNER = 'applicant-owner';
const STRANGER = 'applicant-stranger';
let sharedId: string;

beforeAll(async () => {
  env = await startDevServer();
  stack = await startStack(env);
  sharedId = await submitAs(OWNER);
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await env?.teardown();
});

async function submitAs(subject: string): Promise<string> {
  const res = await call(stack.api.url, 'POST', '/v1/applications', {
    token: await tokenFor('applicant', subject),
    json: freshApplication(),
  });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

function concretePath(path: string, id: string): string {
  return path.replace(':id', id).replace(':step', 'seal').replace(':agency', 'market').replace('{*asset}', 'app.js');
}

/** Decisions for paths that middleware serves rather than a route: express.static serves the console's assets. */
const SERVED_BY_MIDDLEWARE = ['GET /console/{*asset}'];

/** Fails, naming the route, when a decision's route is not registered (its tests would check nothing of it). */
function expectRegistered(policy: RoutePolicy): void {
  const route = label(policy);
  const registered = registeredRoutes(stack.api.app).some((r) => r.path === policy.path && r.method === policy.method);
  // An exception that became a route is no longer one: the list must not outlive its reason.
  expect({ route, registered }).toEqual({ route, registered: !SERVED_BY_MIDDLEWARE.includes(route) });
}

/** An empty JSON body for methods that take one; enough to get past authorization. */
function send(policy: RoutePolicy, id: string, token?: string, headers: Record<string, string> = {}) {
  return call(stack.api.url, policy.method.toUpperCase(), concretePath(policy.path, id), {
    token,
    headers,
    ...(policy.method === 'get' ? {} : { json: {} }),
  });
}

const DENIED = [401, 403, 404];
const label = (p: RoutePolicy) => `${p.method.toUpperCase()} ${p.path}`;

describe('the route table', () => {
  it('when a route is registered, then it has an authorization decision in security/authorize.ts', () => {
    const routes = registeredRoutes(stack.api.app);
    expect(routes.length).toBeGreaterThan(5);
    const missing = routes
      .filter((r) => !policyFor(r.method, r.path))
      .map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(missing).toEqual([]);
  });

  it('when someone adds a route without a decision (even in a router under a prefix), then the check names it', () => {
    const app = express();
    const nested = express.Router();
    nested.post('/export', (_req, res) => res.end());
    app.get('/healthz', (_req, res) => res.end());
    app.use('/v1/admin', nested);
    const missing = registeredRoutes(app).filter((r) => !policyFor(r.method, r.path));
    expect(missing).toEqual([{ method: 'post', path: '/v1/admin/export' }]);
  });

  it('when a supervisor holds a token, then no route that changes anything lets them through', () => {
    const acting = POLICY.filter(
      (p) => p.method !== 'get' && p.decision.kind === 'roles' && 'supervisor' in p.decision.roles,
    );
    expect(acting.map(label)).toEqual([]);
  });

  it('when a path has no decision, then it answers 404 to everyone, even an operator', async () => {
    const res = await call(stack.api.url, 'GET', '/v1/internal/secrets', { token: await tokenFor('operator') });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
  });
});

describe.each(POLICY.filter((p) => p.decision.kind === 'roles').map((p) => [label(p), p] as const))(
  '%s',
  (_name, policy) => {
    const decision = policy.decision as Extract<RoutePolicy['decision'], { kind: 'roles' }>;
    const allowed = Object.keys(decision.roles) as Role[];
    const denied = ROLES.filter((r) => !allowed.includes(r));

    it('without a token answers 401 with a Bearer challenge', async () => {
      expectRegistered(policy);
      const res = await send(policy, sharedId);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('TOKEN_MISSING');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="kaiban"/);
    });

    it('with a forged, expired or malformed token answers 401', async () => {
      expectRegistered(policy);
      const forged = await new SignJWT({ role: 'operator' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('mallory')
        .setIssuer('kaiban')
        .setAudience('kaiban')
        .setExpirationTime('1h')
        .sign(randomBytes(32));
      const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"x","role":"operator"}').toString('base64url')}.`;
      const expired = await tokenFor('operator', 'op-1', Math.floor(Date.now() / 1000) - 60);
      for (const [token, code] of [
        [forged, 'TOKEN_INVALID'],
        [unsigned, 'TOKEN_INVALID'],
        [expired, 'TOKEN_EXPIRED'],
      ] as const) {
        const res = await send(policy, sharedId, token);
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe(code);
      }
      const notBearer = await send(policy, sharedId, undefined, { authorization: 'Basic b3A6b3A=' });
      expect(notBearer.status).toBe(401);
    });

    if (denied.length > 0) {
      it(`with the wrong role (${denied.join(', ')}) answers 403`, async () => {
        expectRegistered(policy);
        for (const role of denied) {
          const res = await send(policy, sharedId, await tokenFor(role, role === 'applicant' ? OWNER : `${role}-1`));
          expect({ role, status: res.status }).toEqual({ role, status: 403 });
          expect(res.body.error.code).toBe('FORBIDDEN');
        }
      });
    }

    if (decision.roles.applicant === 'own') {
      it("with another applicant's token answers 404, as for an unknown application", async () => {
        expectRegistered(policy);
        const stranger = await send(policy, sharedId, await tokenFor('applicant', STRANGER));
        expect(stranger.status).toBe(404);
        const unknown = await send(policy, `kb-${'0'.repeat(32)}`, await tokenFor('applicant', OWNER));
        expect(unknown.status).toBe(404);
        expect(stranger.body.error).toMatchObject({
          code: unknown.body.error.code,
          message: unknown.body.error.message,
        });
      });
    }

    it(`as ${allowed.map((r) => (decision.roles[r] === 'own' ? 'the owning applicant' : `${r === 'supervisor' ? 'a' : 'an'} ${r}`)).join(', ')} gets past authorization`, async () => {
      expectRegistered(policy);
      for (const role of allowed) {
        // A fresh application per caller: an owner's action (withdraw…) must not change what the next one sees.
        const id = policy.path.includes(':id') ? await submitAs(OWNER) : sharedId;
        const res = await send(policy, id, await tokenFor(role, role === 'applicant' ? OWNER : `${role}-1`));
        expect({ role, denied: DENIED.includes(res.status), serverError: res.status >= 500 }).toEqual({
          role,
          denied: false,
          serverError: false,
        });
      }
    });
  },
);

describe.each(POLICY.filter((p) => p.decision.kind === 'public').map((p) => [label(p), p] as const))(
  '%s (public)',
  (_name, policy) => {
    it('answers without a token, and a token changes nothing', async () => {
      expectRegistered(policy);
      const anonymous = await send(policy, sharedId);
      expect([401, 403, 500]).not.toContain(anonymous.status);
      const withToken = await send(policy, sharedId, await tokenFor('applicant', OWNER));
      expect(withToken.status).toBe(anonymous.status);
    });
  },
);

describe('POST /v1/agency-callbacks/:agency (agency-signed)', () => {
  const body = (applicationId = sharedId) =>
    JSON.stringify({ ticket: 'T-1', status: 'pending', reference: { applicationId, step: 'name' } });
  const post = (raw: string, headers: Record<string, string>) =>
    call(stack.api.url, 'POST', '/v1/agency-callbacks/market', {
      raw,
      headers: { 'content-type': 'application/json', ...headers },
    });

  it("when the agency's HMAC is missing, then 401 — and no user token, not even an operator's, replaces it", async () => {
    expect((await post(body(), {})).status).toBe(401);
    const withOperator = await post(body(), { authorization: `Bearer ${await tokenFor('operator')}` });
    expect(withOperator.status).toBe(401);
    expect(withOperator.body.error.code).toBe('SIGNATURE_INVALID');
  });

  const signed = (raw: string, timestamp: number, secret = CALLBACK_SECRET) => ({
    'x-agency-timestamp': String(timestamp),
    'x-agency-signature': `sha256=${createHmac('sha256', secret).update(`${timestamp}.${raw}`).digest('hex')}`,
  });
  const nowS = () => Math.floor(Date.now() / 1000);

  it("when the timestamp and body are signed with the agency's secret, then it is delivered", async () => {
    const raw = body(await submitAs(OWNER));
    const res = await post(raw, signed(raw, nowS()));
    expect(res.status).toBe(204);
  });

  it('when the signature is of the body alone, another secret, or another timestamp, then 401 SIGNATURE_INVALID', async () => {
    const raw = body(await submitAs(OWNER));
    const bodyOnly = `sha256=${createHmac('sha256', CALLBACK_SECRET).update(raw).digest('hex')}`;
    const attempts = [
      { 'x-agency-signature': bodyOnly },
      { 'x-agency-timestamp': String(nowS()), 'x-agency-signature': bodyOnly },
      signed(raw, nowS(), 'another-agency-secret'),
      { ...signed(raw, nowS()), 'x-agency-timestamp': String(nowS() + 1) },
    ];
    for (const headers of attempts) {
      const res = await post(raw, headers);
      expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 401, code: 'SIGNATURE_INVALID' });
    }
  });

  it('when a signed callback is older (or further ahead) than 5 minutes, then 401 SIGNATURE_STALE: a captured one cannot be sent again later', async () => {
    const raw = body(await submitAs(OWNER));
    // A minute beyond the tolerance, each taken when it is sent: a timestamp 301 s ahead, made before a slow request,
    // is no longer 300 s ahead when the next one arrives.
    for (const offset of [-(CALLBACK_TOLERANCE_S + 60), CALLBACK_TOLERANCE_S + 60]) {
      const res = await post(raw, signed(raw, nowS() + offset));
      expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 401, code: 'SIGNATURE_STALE' });
    }
    expect((await post(raw, signed(raw, nowS() - 200))).status).toBe(204);
  });
});
