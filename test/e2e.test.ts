/**
 * End to end on the Temporal CLI dev server (real time, real visibility): the real API over HTTP,
 * the real worker and the real agency simulator, exactly as a client of Kaiban sees them.
 */
import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startApi } from '../api/server';
import { loadConfig } from '../config';
import { createLogger } from '../observability/logger';
import { parseUscc } from '../domain/codes';
import type { ApplicationStatus, ApplicationSummary } from '../domain/status';
import { STEP_IDS } from '../domain/steps';
import { authHeaders, securityTestEnv } from './helpers/auth';
import { freshApplication } from './helpers/fixtures';
import { schemaProblems } from './helpers/openapi';
import { eventually } from './helpers/sla-world';
import { agencyRecords, startStack, type Stack } from './helpers/stack';
import { startDevServer } from './helpers/temporal';

let env: TestWorkflowEnvironment;
let stack: Stack;

beforeAll(async () => {
  env = await startDevServer();
  stack = await startStack(env);
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await env?.teardown();
});

const AGENCY_STEPS = STEP_IDS.filter((s) => s !== 'archive');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Answer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON answer, checked by the expectations
  body: any;
}

async function call(
  method: string,
  path: string,
  options: { json?: unknown; raw?: string; headers?: Record<string, string>; anonymous?: boolean } = {},
): Promise<Answer> {
  // As the applicant (a real bearer token signed with the stack's test secret) unless told otherwise.
  const headers: Record<string, string> = {
    ...(options.anonymous ? {} : await authHeaders('applicant')),
    ...options.headers,
  };
  let body: string | undefined = options.raw;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${stack.api.url}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('application/json')) parsed = JSON.parse(text);
  // Every answer read here is checked against the schema the OpenAPI document gives for it.
  const documented =
    res.status === 200 && method === 'GET' ? DOCUMENTED_ANSWERS.find(([re]) => re.test(path)) : undefined;
  if (documented) expect({ path, problems: schemaProblems(documented[1], parsed) }).toEqual({ path, problems: [] });
  return { status: res.status, headers: res.headers, body: parsed };
}

const DOCUMENTED_ANSWERS: [RegExp, string][] = [
  [/^\/v1\/applications\/kb-[0-9a-f]{32}(\?|$)/, 'ApplicationStatus'],
  [/^\/v1\/applications(\?|$)/, 'ApplicationPage'],
  [/^\/v1\/stats(\?|$)/, 'Stats'],
];

const submit = (application: unknown, headers: Record<string, string> = {}) =>
  call('POST', '/v1/applications', { json: application, headers });

/** Polls GET /v1/applications/:id until the application leaves `running`. */
async function waitForFinalStatus(id: string, timeoutMs = 60_000): Promise<ApplicationStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await call('GET', `/v1/applications/${id}`);
    expect(res.status).toBe(200);
    const status = res.body as ApplicationStatus;
    if (status.status !== 'running' && status.status !== 'compensating') return status;
    if (Date.now() > deadline) throw new Error(`application ${id} still ${status.status} after ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** Workflow executions matching a visibility query, once the count has held still (visibility lags a little). */
async function settledCount(query: string, atLeast = 0): Promise<number> {
  let last = -1;
  for (let i = 0; i < 50; i++) {
    const { count } = await env.client.workflow.count(query);
    if (count >= atLeast && count === last) return count;
    last = count;
    await sleep(300);
  }
  return last;
}

const queueQuery = () => `TaskQueue = '${stack.taskQueue}'`;

describe('an application submitted over HTTP', () => {
  it('when the sample is posted, then it completes with all eight steps done and every result, and each agency holds exactly one record', async () => {
    const application = freshApplication();
    const startedAt = Date.now();
    const accepted = await submit(application);
    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ id: expect.stringMatching(/^kb-[0-9a-f]{32}$/), status: 'accepted' });
    const id = accepted.body.id as string;
    expect(accepted.headers.get('location')).toBe(`/v1/applications/${id}`);

    const status = await waitForFinalStatus(id);
    console.info(`e2e: application ${id} completed in ${Date.now() - startedAt} ms`);

    expect(status).toMatchObject({
      id,
      status: 'completed',
      company: { name: application.company.name, district: '360113' },
    });
    expect(status.steps.map((s) => s.id)).toEqual([...STEP_IDS]);
    for (const step of status.steps) {
      expect(step.state).toBe('done');
      expect(step.attempts).toBeGreaterThanOrEqual(1);
      expect(Date.parse(step.startedAt!)).not.toBeNaN();
      expect(Date.parse(step.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(step.startedAt!));
    }

    const { results } = status;
    const uscc = parseUscc(results.uscc!);
    expect(uscc).not.toBeNull();
    expect(uscc!.regionCode).toBe(application.company.district);
    expect(results.licenseNumber).toMatch(/^\d{15}$/);
    expect(results.licenseNumber!.slice(0, 6)).toBe(application.company.district);
    expect(results.seals).toEqual(
      application.services.seals.map((type) => ({ type, recordId: expect.stringMatching(/^GA\d{16}$/) })),
    );
    expect(results.tax).toMatchObject({ taxpayerId: results.uscc, taxRecordId: expect.stringMatching(/^SW\d{18}$/) });
    expect(results.socialSecurityNumber).toMatch(/^\d{16}$/);
    expect(results.fundAccountNumber).toMatch(/^\d{18}$/);
    expect(results.bankAppointment).toMatchObject({
      appointmentRef: expect.stringMatching(/^YY[0-9A-Z]{12}$/),
      bank: application.services.bank.bank,
      branch: application.services.bank.branch,
      slot: { date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/), time: expect.stringMatching(/^\d{2}:\d{2}$/) },
    });
    expect(results.dossier).toMatchObject({
      dossierId: `DOS-${id}`,
      digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
    });

    const records = await agencyRecords(stack.simulator, id);
    expect(records.map((r) => r.reference.step).sort()).toEqual([...AGENCY_STEPS].sort());
    for (const record of records) expect(record).toMatchObject({ status: 'approved', live: true });

    // Only its applicant (and staff) may read it; to another applicant it does not exist.
    const stranger = await call('GET', `/v1/applications/${id}`, {
      headers: await authHeaders('applicant', 'applicant-2'),
    });
    expect(stranger.status).toBe(404);
  });

  it('when the same Idempotency-Key is sent again, then the same application comes back and nothing new is started or filed', async () => {
    const key = `e2e-${randomUUID()}`;
    const application = freshApplication();
    const first = await submit(application, { 'idempotency-key': key });
    expect(first.status).toBe(202);
    const id = first.body.id as string;

    // While it runs…
    const whileRunning = await submit(application, { 'idempotency-key': key });
    expect(whileRunning.status).toBe(202);
    expect(whileRunning.body.id).toBe(id);
    expect(whileRunning.headers.get('idempotent-replayed')).toBe('true');
    // Where to follow it, on the replayed answer as on the first.
    expect(whileRunning.headers.get('location')).toBe(`/v1/applications/${id}`);
    expect(first.headers.get('location')).toBe(`/v1/applications/${id}`);

    const status = await waitForFinalStatus(id);
    expect(status.status).toBe('completed');
    const recordsBefore = await agencyRecords(stack.simulator, id);
    expect(recordsBefore).toHaveLength(AGENCY_STEPS.length);
    const onQueueBefore = await settledCount(queueQuery(), 1);

    // …and after it has completed.
    const afterwards = await submit(application, { 'idempotency-key': key });
    expect(afterwards.status).toBe(202);
    expect(afterwards.body.id).toBe(id);

    expect(await agencyRecords(stack.simulator, id)).toEqual(recordsBefore);
    expect(await settledCount(`WorkflowId = '${id}'`, 1)).toBe(1);
    expect(await settledCount(queueQuery(), onQueueBefore)).toBe(onQueueBefore);
    expect((await call('GET', `/v1/applications/${id}`)).body.status).toBe('completed');
  });

  it('when an application was ended in Temporal itself (terminated by an administrator), then it still reads — its status as of the end, marked ended in Temporal — and counts as open nowhere', async () => {
    // 投资 in the name: it waits for a manual review, running.
    const accepted = await submit(
      freshApplication((a) => void (a.company.name = a.company.name.replace('科技', '投资'))),
    );
    expect(accepted.status).toBe(202);
    const id = accepted.body.id as string;
    for (let waited = 0; ; waited += 100) {
      const res = await call('GET', `/v1/applications/${id}`);
      if ((res.body as ApplicationStatus).pendingTasks?.includes('review')) break;
      if (waited > 30_000) throw new Error(`${id} never reached the review`);
      await sleep(100);
    }
    const staff = { headers: await authHeaders('supervisor') };
    const listed = async (filter: string) =>
      ((await call('GET', `/v1/applications?q=${id}${filter}`, staff)).body.items as ApplicationSummary[]) ?? [];
    for (let waited = 0; (await listed('&status=running')).length === 0; waited += 200) {
      if (waited > 30_000) throw new Error(`${id} never listed as running`);
      await sleep(200);
    }
    const endedBefore = (await call('GET', '/v1/stats', staff)).body.endedInTemporal as number;

    await env.client.workflow.getHandle(id).terminate('ended by an administrator in the Temporal UI');
    const res = await call('GET', `/v1/applications/${id}`);
    expect(res.status).toBe(200);
    const status = res.body as ApplicationStatus;
    expect(status.id).toBe(id);
    expect(status.endedInTemporal).toBe('terminated');
    expect(status.pendingTasks).toContain('review');
    expect(status.steps.find((s) => s.id === 'name')?.state).toBe('done');

    // Visibility: listed as ended in Temporal, no longer under the running or review filters, counted apart in the stats.
    for (
      let waited = 0;
      (await listed('&status=running')).length + (await listed('&task=review')).length > 0;
      waited += 200
    ) {
      if (waited > 30_000) throw new Error(`${id} still listed as running after its termination`);
      await sleep(200);
    }
    const [item] = await listed('');
    expect(item).toMatchObject({ id, status: 'running', endedInTemporal: 'terminated' });
    expect(item?.workingMsLeft).toBeUndefined();
    expect(item?.pendingTasks).toEqual([]); // waits for no one (it listed the review it was terminated in)
    expect((await call('GET', '/v1/stats', staff)).body.endedInTemporal).toBe(endedBefore + 1);
    // No action applies to it any more.
    const review = await call('POST', `/v1/applications/${id}/review`, {
      ...staff,
      headers: await authHeaders('operator'),
      json: { decision: 'approve', reason: 'checked' },
    });
    expect(review.status).toBe(409);
    expect(review.body.error.code).toBe('APPLICATION_FINISHED');
  });

  it('when an Idempotency-Key is reused with a different application, then 409 and nothing is started', async () => {
    const key = `e2e-${randomUUID()}`;
    const first = await submit(freshApplication(), { 'idempotency-key': key });
    expect(first.status).toBe(202);
    const onQueueBefore = await settledCount(queueQuery(), 1);

    const other = await submit(freshApplication(), { 'idempotency-key': key });
    expect(other.status).toBe(409);
    expect(other.body.error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', message: expect.any(String) });
    expect(await settledCount(queueQuery(), onQueueBefore)).toBe(onQueueBefore);
    expect((await waitForFinalStatus(first.body.id)).status).toBe('completed');
  });
});

describe('a request the API refuses', () => {
  /** The sample with seven independent mistakes, one of each kind the schema must catch. */
  const invalidApplication = () =>
    freshApplication((app) => {
      app.applicant.idNumber = '360102199003071235'; // wrong GB 11643 check digit
      app.applicant.phone = '12345';
      (app.company as Record<string, unknown>).district = '360199'; // not a county-level code of Nanchang
      app.company.registeredCapitalCny = 2_000_000; // contributions sum to 1 000 000
      app.company.businessScope = [];
      (app.company as Record<string, unknown>).employees = 'five';
      (app.company as Record<string, unknown>).nickname = 'x';
    });
  const expectedProblems = [
    { path: 'applicant.idNumber', code: 'ID_NUMBER_CHECK' },
    { path: 'applicant.phone', code: 'PHONE_INVALID' },
    { path: 'company.district', code: 'DISTRICT_UNKNOWN' },
    { path: 'people.shareholders', code: 'CONTRIBUTIONS_MISMATCH' },
    { path: 'company.businessScope', code: 'SCOPE_EMPTY' },
    { path: 'company.employees', code: 'INVALID_TYPE' },
    { path: 'company.nickname', code: 'UNKNOWN_FIELD' },
  ];

  it('when the body has several problems, then 400 lists every one (in Chinese by default, in English on request) and no workflow is started', async () => {
    const onQueueBefore = await settledCount(queueQuery());

    const zh = await submit(invalidApplication());
    expect(zh.status).toBe(400);
    expect(zh.body.error.code).toBe('VALIDATION_FAILED');
    expect(zh.body.error.issues).toHaveLength(expectedProblems.length);
    expect(zh.body.error.issues).toEqual(
      expect.arrayContaining(
        expectedProblems.map((p) => ({ ...p, message: expect.stringMatching(/[\u4e00-\u9fff]/) })),
      ),
    );

    const en = await submit(invalidApplication(), { 'accept-language': 'en' });
    expect(en.status).toBe(400);
    expect(en.body.error.issues).toHaveLength(expectedProblems.length);
    expect(en.body.error.issues).toEqual(
      expect.arrayContaining(expectedProblems.map((p) => ({ ...p, message: expect.stringMatching(/^[\x20-\x7e]+$/) }))),
    );

    // With an Idempotency-Key too: a refused request must not reserve the key.
    const keyed = await submit(invalidApplication(), { 'idempotency-key': `e2e-${randomUUID()}` });
    expect(keyed.status).toBe(400);

    await sleep(1000);
    expect(await settledCount(queueQuery())).toBe(onQueueBefore);
  });

  it('when no bearer token is sent, then 401 and no workflow is started', async () => {
    const onQueueBefore = await settledCount(queueQuery());
    const res = await call('POST', '/v1/applications', { json: freshApplication(), anonymous: true });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('TOKEN_MISSING');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    await sleep(1000);
    expect(await settledCount(queueQuery())).toBe(onQueueBefore);
  });

  it('when the body is larger than the limit, then 413 as JSON', async () => {
    const application = freshApplication((app) => {
      app.company.address = 'x'.repeat(70 * 1024);
    });
    const res = await submit(application);
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(res.body.error.code).toBe('BODY_TOO_LARGE');
  });

  it('when the body is not JSON, then 415', async () => {
    const res = await call('POST', '/v1/applications', { raw: 'company=x', headers: { 'content-type': 'text/plain' } });
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('when the JSON is malformed, then 400', async () => {
    const res = await call('POST', '/v1/applications', {
      raw: '{"company": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('MALFORMED_JSON');
  });

  it('when the body is JSON but not an object (null, a number, a string, true), then 400 naming the body and the rule, as for an array', async () => {
    const onQueueBefore = await settledCount(queueQuery());
    for (const raw of ['null', '5', '"x"', 'true', '[]']) {
      const res = await call('POST', '/v1/applications', {
        raw,
        headers: { 'content-type': 'application/json', 'accept-language': 'en' },
      });
      // Strict JSON parsing called these not JSON at all (MALFORMED_JSON), and a null told to omit the field.
      expect({ raw, status: res.status, code: res.body.error.code, issues: res.body.error.issues }).toEqual({
        raw,
        status: 400,
        code: 'VALIDATION_FAILED',
        issues: [{ path: '(body)', code: 'INVALID_TYPE', message: 'wrong type, expected object' }],
      });
    }
    // An action's body too: the applicant withdrawing with a body of null is told so, and nothing is withdrawn.
    const accepted = await submit(freshApplication());
    expect(accepted.status).toBe(202);
    const withdraw = await call('POST', `/v1/applications/${accepted.body.id}/withdraw`, {
      raw: 'null',
      headers: { 'content-type': 'application/json', 'accept-language': 'en' },
    });
    expect({ status: withdraw.status, code: withdraw.body.error.code, issues: withdraw.body.error.issues }).toEqual({
      status: 400,
      code: 'VALIDATION_FAILED',
      issues: [{ path: '(body)', code: 'INVALID_TYPE', message: 'wrong type, expected object' }],
    });
    expect((await waitForFinalStatus(accepted.body.id)).status).toBe('completed');
    expect(await settledCount(queueQuery(), onQueueBefore + 1)).toBe(onQueueBefore + 1);
  });

  it('when the id is unknown, then 404', async () => {
    for (const id of [`kb-${'0'.repeat(32)}`, 'not-an-id']) {
      const res = await call('GET', `/v1/applications/${id}`);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('NOT_FOUND');
    }
  });
});

describe('service endpoints', () => {
  it('answers /healthz and /readyz with 200, without a token', async () => {
    expect((await call('GET', '/healthz', { anonymous: true })).status).toBe(200);
    const ready = await call('GET', '/readyz', { anonymous: true });
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ ready: true, temporal: 'reachable', namespace: 'default' });
  });

  it("answers /readyz 503 for a namespace Temporal does not have, or one without Kaiban's search attributes: every submission would fail there", async () => {
    const bare = `bare-${randomUUID()}`;
    await env.connection.workflowService.registerNamespace({
      namespace: bare,
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
    const readiness = async (namespace: string) => {
      const api = await startApi({
        config: loadConfig({ ...process.env, ...securityTestEnv(), PORT: '0' }),
        client: new Client({ connection: env.connection, namespace }),
        logger: createLogger({ level: 'silent' }),
        port: 0,
      });
      try {
        const res = await fetch(`${api.url}/readyz`);
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      } finally {
        await api.close();
      }
    };
    const misspelt = await readiness('no-such-namespace');
    expect(misspelt).toMatchObject({ status: 503, body: { ready: false, temporal: 'namespace-missing' } });
    // A new namespace reaches the server's namespace cache within seconds.
    const unregistered = await eventually(
      () => readiness(bare),
      (r) => r.body.temporal !== 'namespace-missing',
      30_000,
    );
    expect(unregistered).toMatchObject({ status: 503, body: { ready: false, temporal: 'reachable', namespace: bare } });
    expect(unregistered.body.searchAttributesMissing).toEqual(expect.arrayContaining(['KaibanStatus', 'KaibanDueAt']));
  });

  it('serves an OpenAPI 3.1 document with the Application schema, without a token', async () => {
    const res = await call('GET', '/openapi.json', { anonymous: true });
    expect(res.status).toBe(200);
    expect(res.body.openapi).toMatch(/^3\.1\./);
    expect(res.body.paths['/v1/applications'].post).toBeDefined();
    expect(res.body.paths['/v1/applications/{id}'].get).toBeDefined();
    const schema = res.body.components.schemas.Application;
    expect(schema).toMatchObject({ type: 'object', additionalProperties: false });
    expect(schema.required).toEqual(expect.arrayContaining(['applicant', 'company', 'people', 'services']));
  });
});
