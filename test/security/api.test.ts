/**
 * The API's own defences on the dev server: property-level control (API3), idempotency keys per
 * caller, masking with logged reveals, security headers and error hygiene, submission rate limits
 * (API4) and the codec endpoint of the Temporal Web UI.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startApi, type RunningApi } from '../../api/server';
import { loadConfig } from '../../config';
import { AesGcmCodec, ENCRYPTED_ENCODING, parseCodecKeys } from '../../security/codec';
import { MAX_BODY_DEPTH } from '../../security/input';
import { maskPersonalFields } from '../../security/masking';
import { securityTestEnv, TEST_CODEC_KEYS, tokenFor } from '../helpers/auth';
import { freshApplication } from '../helpers/fixtures';
import { startStack, type Stack } from '../helpers/stack';
import { startDevServer } from '../helpers/temporal';
import { call, capturingLogger, type Answer } from './support';

const capture = capturingLogger();
let env: TestWorkflowEnvironment;
let stack: Stack;

beforeAll(async () => {
  env = await startDevServer();
  stack = await startStack(env, { logger: capture.logger });
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await env?.teardown();
});

const submit = async (subject: string, body: unknown, headers: Record<string, string> = {}) =>
  call(stack.api.url, 'POST', '/v1/applications', { token: await tokenFor('applicant', subject), json: body, headers });

describe('property-level control', () => {
  it.each([
    ['status', { status: 'completed' }],
    ['results', { results: { uscc: '91360113MA00000000' } }],
    ['review', { review: { state: 'approved', decidedBy: { subject: 'me', role: 'operator' } } }],
    ['owner', { owner: 'applicant-victim' }],
    ['pendingTasks', { pendingTasks: [] }],
  ])('when a client sets %s, then the application is refused with the field named', async (field, extra) => {
    const res = await submit('applicant-props', { ...freshApplication(), ...extra });
    expect(res.status).toBe(400);
    expect(res.body.error.issues).toEqual([expect.objectContaining({ path: field, code: 'UNKNOWN_FIELD' })]);
  });

  it('when a nested section carries a privileged or prototype key, then it is refused too', async () => {
    const app = freshApplication() as unknown as Record<string, Record<string, unknown>>;
    Object.defineProperty(app.company, '__proto__', { value: { isAdmin: true }, enumerable: true });
    app.services!.decidedBy = 'op-1';
    const res = await submit('applicant-props', app);
    expect(res.status).toBe(400);
    expect(res.body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual([
      'company.__proto__',
      'services.decidedBy',
    ]);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });
});

describe('idempotency keys', () => {
  it('when two applicants use the same Idempotency-Key, then each gets an application of their own', async () => {
    const body = freshApplication();
    const first = await submit('applicant-idem-a', body, { 'idempotency-key': 'same-key' });
    const again = await submit('applicant-idem-a', body, { 'idempotency-key': 'same-key' });
    const other = await submit('applicant-idem-b', body, { 'idempotency-key': 'same-key' });
    expect([first.status, again.status, other.status]).toEqual([202, 202, 202]);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(other.body.id).not.toBe(first.body.id);
    const peek = await call(stack.api.url, 'GET', `/v1/applications/${first.body.id}`, {
      token: await tokenFor('applicant', 'applicant-idem-b'),
    });
    expect(peek.status).toBe(404);
  });

  it("when an action's Idempotency-Key is a mobile number, then Temporal's history holds it nowhere in the clear (the update id is a keyed digest), and a repeat still answers the first result", async () => {
    const subject = 'applicant-idem-phone';
    const parked = freshApplication((a) => void (a.company.name = a.company.name.replace('科技', '投资')));
    const id = (await submit(subject, parked)).body.id as string;
    const handle = env.client.workflow.getHandle(id);
    for (let waited = 0; !(await handle.query<{ pendingTasks: string[] }>('status')).pendingTasks.includes('review');) {
      if ((waited += 100) > 30_000) throw new Error('the application never reached the review');
      await new Promise((r) => setTimeout(r, 100));
    }
    const key = '13807910001';
    const withdraw = async () =>
      call(stack.api.url, 'POST', `/v1/applications/${id}/withdraw`, {
        token: await tokenFor('applicant', subject),
        json: { reason: '不再开办' },
        headers: { 'idempotency-key': key },
      });
    const first = await withdraw();
    const again = await withdraw();
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(again.body).toEqual(first.body);
    const history = await handle.fetchHistory();
    const updateIds = (history.events ?? []).flatMap((e) => [
      e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.updateId,
      e.workflowExecutionUpdateCompletedEventAttributes?.meta?.updateId,
    ]);
    const seen = updateIds.filter((u): u is string => typeof u === 'string');
    expect(seen.length).toBeGreaterThan(0);
    for (const updateId of seen) expect(updateId).toMatch(/^a1:[A-Za-z0-9_-]{43}$/);
    // Nowhere else either: payloads are encrypted, and the digest cannot be checked against a guess without the key.
    // Bytes (payloads and their metadata: base64 in the history's JSON) read as text too, or the key in a clear
    // payload could never be found.
    const asText = JSON.stringify(history, (_key, value: unknown) =>
      typeof value === 'string' && value.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(value)
        ? `${value} ${Buffer.from(value, 'base64').toString('latin1')}`
        : value,
    );
    expect(asText).toContain('a1:'); // the update ids, read
    expect(asText).toContain(ENCRYPTED_ENCODING); // and the payloads' bytes as text: their metadata
    expect(asText).not.toContain(key);
  });

  it('when the key is empty or longer than 200 characters, then 400', async () => {
    for (const key of ['', 'k'.repeat(201)]) {
      const res = await submit('applicant-idem-a', freshApplication(), { 'idempotency-key': key });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('IDEMPOTENCY_KEY_INVALID');
    }
  });

  it('when an operator asks for a page larger than the maximum, then 400', async () => {
    const res = await call(stack.api.url, 'GET', '/v1/applications?pageSize=100000', {
      token: await tokenFor('operator'),
    });
    expect(res.status).toBe(400);
  });
});

describe('masking and reveal', () => {
  it('masks ID numbers, mobile numbers and e-mail addresses wherever they sit', () => {
    const masked = maskPersonalFields({ application: freshApplication(), note: 'kept' });
    expect(masked.application.applicant).toMatchObject({
      idNumber: '3601**********1236',
      phone: '138****0001',
      email: 'z***@example.com',
      name: '张三',
    });
    expect(masked.application.people.shareholders[1]!.idNumber).toBe('3601**********456X');
    expect(masked.note).toBe('kept');
  });

  it('masks them inside free text too (an agency error that quotes the filing, an operator reason), not in codes', () => {
    const masked = maskPersonalFields({
      steps: [
        {
          error: { message: 'market refused POST /filings with 400: {"idNumber":"360102199001011236"}' },
          output: { uscc: '913601001234567890' },
        },
      ],
      audit: [{ reason: '已电话联系 13807910001' }],
      outcome: { reason: { code: 'X', message_zh: '证件 360102199001011236 无效' } },
    });
    expect(masked.steps[0]!.error.message).toBe(
      'market refused POST /filings with 400: {"idNumber":"3601**********1236"}',
    );
    expect(masked.steps[0]!.output.uscc).toBe('913601001234567890');
    expect(masked.audit[0]!.reason).toBe('已电话联系 138****0001');
    expect(masked.outcome.reason.message_zh).toBe('证件 3601**********1236 无效');
  });

  it('masks them in the free text an applicant typed (an address with a contact number), not the rest of it', () => {
    const masked = maskPersonalFields(
      freshApplication((app) => {
        app.company.address = '红谷滩区丰和中大道1099号 联系人手机 13807910001';
        app.services.bank.branch = '南昌红谷滩支行（客户经理 139 0791 0002）';
      }),
    );
    expect(masked.company.address).toBe('红谷滩区丰和中大道1099号 联系人手机 138****0001');
    expect(masked.services.bank.branch).toBe('南昌红谷滩支行（客户经理 139 **** 0002）');
    expect(maskPersonalFields(freshApplication()).company.address).toBe(freshApplication().company.address);
  });

  it("masks an actor's subject that is a personal number (an identity provider's sub), not an ordinary one", () => {
    const masked = maskPersonalFields({
      audit: [{ by: { subject: '13807910001', role: 'applicant' } }, { by: { subject: 'op-1', role: 'operator' } }],
      review: { decidedBy: { subject: '360102199003071236', role: 'operator' } },
    });
    expect(masked.audit.map((a) => a.by.subject)).toEqual(['138****0001', 'op-1']);
    // An Idempotency-Key made of a mobile number, kept in the action's id.
    expect(maskPersonalFields({ audit: [{ actionId: 'withdraw:13807910001' }] }).audit[0]!.actionId).toBe(
      'withdraw:138****0001',
    );
    expect(masked.review.decidedBy.subject).toBe('3601**********1236');
  });

  it('when someone asks to reveal, then only an operator with a reason may, and the reveal is logged with who and why', async () => {
    const id = (await submit('applicant-mask', freshApplication())).body.id as string;
    const url = (query: string) => `/v1/applications/${id}?${query}`;
    const operator = await tokenFor('operator', 'op-reveal');
    expect((await call(stack.api.url, 'GET', url('reveal=true'), { token: operator })).body.error.code).toBe(
      'REVEAL_REASON_REQUIRED',
    );
    expect((await call(stack.api.url, 'GET', url('reveal=true&reason=x'), { token: operator })).status).toBe(400);
    for (const role of ['supervisor', 'applicant'] as const) {
      const token = await tokenFor(role, role === 'applicant' ? 'applicant-mask' : 'sup-1');
      const res = await call(stack.api.url, 'GET', url('reveal=true&reason=checking%20the%20file'), { token });
      expect({ role, status: res.status, code: res.body.error?.code }).toEqual({
        role,
        status: 403,
        code: 'REVEAL_FORBIDDEN',
      });
    }
    const revealed = await call(stack.api.url, 'GET', url('reveal=true&reason=applicant%20called%20the%20hotline'), {
      token: operator,
    });
    expect(revealed.status).toBe(200);
    const audit = capture.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.audit === 'personal-data-revealed' && l.applicationId === id);
    expect(audit).toMatchObject({ by: 'op-reveal', role: 'operator', reason: 'applicant called the hotline' });
    // No application, nothing revealed: no audit line saying otherwise.
    const unknown = `kb-${'0'.repeat(32)}`;
    const none = await call(
      stack.api.url,
      'GET',
      `/v1/applications/${unknown}?reveal=true&reason=checking%20the%20file`,
      {
        token: operator,
      },
    );
    expect(none.status).toBe(404);
    expect(capture.lines.filter((l) => l.includes(unknown) && l.includes('personal-data-revealed'))).toEqual([]);
  });
});

describe('the materials a reviewer reads', () => {
  it('when the owner or staff read an application, then they get the materials masked; an operator reveals them with a reason; others get 404', async () => {
    const submitted = freshApplication();
    const id = (await submit('applicant-materials', submitted)).body.id as string;
    const path = `/v1/applications/${id}/application`;
    const operator = await tokenFor('operator', 'op-materials');
    const masked = await call(stack.api.url, 'GET', path, { token: operator });
    expect(masked.status).toBe(200);
    // What was submitted, the reviewer's business: the address, the scope, the people; personal numbers masked.
    expect(masked.body.id).toBe(id);
    expect(masked.body.application.company).toEqual(submitted.company);
    expect(masked.body.application.people.shareholders[1]).toMatchObject({
      name: submitted.people.shareholders[1]!.name,
      idNumber: '3601**********456X',
    });
    expect(masked.body.application.applicant.phone).toBe('138****0001');
    const own = await call(stack.api.url, 'GET', path, { token: await tokenFor('applicant', 'applicant-materials') });
    expect(own.status).toBe(200);
    expect(own.body.application.applicant.idNumber).toBe('3601**********1236');
    const other = await call(stack.api.url, 'GET', path, { token: await tokenFor('applicant', 'applicant-other') });
    expect(other.status).toBe(404);

    const revealed = await call(stack.api.url, 'GET', `${path}?reveal=true&reason=checking%20the%20shareholders`, {
      token: operator,
    });
    expect(revealed.status).toBe(200);
    expect(revealed.body.application).toEqual(submitted);
    const audit = capture.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.audit === 'personal-data-revealed' && l.applicationId === id);
    expect(audit).toMatchObject({ by: 'op-materials', reason: 'checking the shareholders' });
    const unknown = await call(stack.api.url, 'GET', `/v1/applications/kb-${'0'.repeat(32)}/application`, {
      token: operator,
    });
    expect(unknown.status).toBe(404);
  });
});

describe('audit records', () => {
  it('when logging is set to errors only, then reveals and codec use are still recorded, and nothing else at info', async () => {
    const quiet = capturingLogger('error');
    const config = loadConfig({
      ...process.env,
      ...securityTestEnv(),
      PORT: '0',
      TEMPORAL_TASK_QUEUE: stack.taskQueue,
      LOG_LEVEL: 'error',
    });
    const api = await startApi({ config, client: env.client, logger: quiet.logger, port: 0 });
    try {
      const id = (await submit('applicant-audit', freshApplication())).body.id as string;
      const token = await tokenFor('operator', 'op-audit');
      const revealed = await call(api.url, 'GET', `/v1/applications/${id}?reveal=true&reason=hotline%20call`, {
        token,
      });
      expect(revealed.status).toBe(200);
      const payload = { metadata: {}, data: Buffer.from('{}').toString('base64') };
      const encoded = await call(api.url, 'POST', '/codec/encode', { token, json: { payloads: [payload] } });
      expect(encoded.status).toBe(200);
      const lines = quiet.lines.map((l) => JSON.parse(l) as { level: number; audit?: string; by?: string });
      expect(lines.filter((l) => l.audit).map((l) => [l.audit, l.by])).toEqual([
        ['personal-data-revealed', 'op-audit'],
        ['codec-encode', 'op-audit'],
      ]);
      // The request lines (info) were not written: the level holds for everything but the audit.
      expect(lines.filter((l) => !l.audit && l.level < 50)).toEqual([]);
    } finally {
      await api.close();
    }
  });
});

describe('headers and errors', () => {
  it('answers with security headers, a request id and no framework fingerprint', async () => {
    const res = await call(stack.api.url, 'GET', '/healthz');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/);
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('x-request-id')).toMatch(/^[\w.-]+$/);
  });

  it('gives every error a request id, no stack and no internals; personal answers are not cached', async () => {
    const token = await tokenFor('applicant', 'applicant-errors');
    const cases = [
      await call(stack.api.url, 'GET', '/v1/applications/kb-nope'),
      await call(stack.api.url, 'GET', `/v1/applications/kb-${'0'.repeat(32)}`, { token }),
      await call(stack.api.url, 'POST', '/v1/applications', {
        token,
        raw: '{"applicant":',
        headers: { 'content-type': 'application/json' },
      }),
      await call(stack.api.url, 'POST', '/v1/applications', {
        token,
        raw: 'name=x',
        headers: { 'content-type': 'text/plain' },
      }),
      await call(stack.api.url, 'POST', '/v1/applications', {
        token,
        raw: `{"a":"${'x'.repeat(70_000)}"}`,
        headers: { 'content-type': 'application/json' },
      }),
      await call(stack.api.url, 'GET', '/no/such/route', { headers: { 'x-request-id': 'trace-me-42' } }),
    ];
    expect(cases.map((c) => c.status)).toEqual([401, 404, 400, 415, 413, 404]);
    for (const c of cases) {
      expect(Object.keys(c.body.error).sort()).toEqual(expect.arrayContaining(['code', 'message', 'requestId']));
      expect(c.body.error.requestId).toBe(c.headers.get('x-request-id'));
      expect(c.text).not.toMatch(/stack|node_modules|\.ts:\d+/);
    }
    expect(cases[5]!.headers.get('x-request-id')).toBe('trace-me-42');
    expect(cases[1]!.headers.get('cache-control')).toBe('no-store');
  });

  it('when a body nests deeper than any request needs, then 400 BODY_TOO_DEEP naming where, not a 500', async () => {
    const id = (await submit('applicant-deep', freshApplication())).body.id as string;
    const token = await tokenFor('applicant', 'applicant-deep');
    // 2,000 levels in 12 KB: far under the size limit, deep enough to exhaust the stack of code that recurses.
    const deep = `{"applicant":${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}}`;
    const sent = [
      await call(stack.api.url, 'POST', `/v1/applications/${id}/corrections`, {
        token,
        raw: deep,
        headers: { 'content-type': 'application/json', 'idempotency-key': 'deep-1', 'accept-language': 'en' },
      }),
      await call(stack.api.url, 'POST', '/v1/applications', {
        token,
        raw: deep,
        headers: { 'content-type': 'application/json' },
      }),
    ];
    const within = ['applicant', ...Array.from({ length: MAX_BODY_DEPTH - 1 }, () => 'a')].join('.');
    for (const res of sent) {
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'BODY_TOO_DEEP', issues: [{ path: within, code: 'TOO_DEEP' }] });
    }
    expect(sent[0]!.body.error.message).toBe(`the request body nests deeper than ${MAX_BODY_DEPTH} levels; see issues`);
    expect(sent[1]!.body.error.issues[0].message).toBe(`嵌套超过 ${MAX_BODY_DEPTH} 层`);
    expect(capture.lines.join('')).not.toContain('RangeError');
  });

  it("answers an agency's callback in English whatever the failure, as machines read it", async () => {
    const malformed = await call(stack.api.url, 'POST', '/v1/agency-callbacks/tax', {
      raw: '{"ticket":',
      headers: { 'content-type': 'application/json' },
    });
    const notJson = await call(stack.api.url, 'POST', '/v1/agency-callbacks/tax', {
      raw: 'ticket=1',
      headers: { 'content-type': 'text/plain' },
    });
    expect([malformed.status, notJson.status]).toEqual([400, 415]);
    expect(malformed.body.error).toMatchObject({
      code: 'MALFORMED_JSON',
      message: 'the request body is not valid JSON',
    });
    expect(notJson.body.error).toMatchObject({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: 'send the body as application/json',
    });
  });

  it("answers every refusal in the caller's language: Chinese by default, English when Accept-Language asks", async () => {
    const applicant = await tokenFor('applicant', 'applicant-languages');
    const supervisor = await tokenFor('supervisor', 'sup-languages');
    const unknown = `/v1/applications/kb-${'0'.repeat(32)}`;
    const key = { 'idempotency-key': 'languages-key' };
    expect((await submit('applicant-languages', freshApplication(), key)).status).toBe(202);
    const requests: Array<[string, (headers: Record<string, string>) => Promise<Answer>]> = [
      ['TOKEN_MISSING', (headers) => call(stack.api.url, 'GET', unknown, { headers })],
      ['NOT_FOUND', (headers) => call(stack.api.url, 'GET', unknown, { token: applicant, headers })],
      ['NOT_FOUND', (headers) => call(stack.api.url, 'GET', '/no/such/route', { headers })],
      ['FORBIDDEN', (headers) => call(stack.api.url, 'GET', '/v1/stats', { token: applicant, headers })],
      [
        'REVEAL_FORBIDDEN',
        (headers) =>
          call(stack.api.url, 'GET', `${unknown}?reveal=true&reason=checking`, { token: supervisor, headers }),
      ],
      [
        'MALFORMED_JSON',
        (headers) =>
          call(stack.api.url, 'POST', '/v1/applications', {
            token: applicant,
            raw: '{"applicant":',
            headers: { ...headers, 'content-type': 'application/json' },
          }),
      ],
      [
        'UNSUPPORTED_MEDIA_TYPE',
        (headers) =>
          call(stack.api.url, 'POST', '/v1/applications', {
            token: applicant,
            raw: 'name=x',
            headers: { ...headers, 'content-type': 'text/plain' },
          }),
      ],
      [
        'IDEMPOTENCY_KEY_REUSED',
        (headers) => submit('applicant-languages', freshApplication(), { ...headers, ...key }),
      ],
    ];
    for (const [code, request] of requests) {
      const zh = await request({});
      const en = await request({ 'accept-language': 'en-GB,en;q=0.9,zh;q=0.5' });
      expect([zh.body.error.code, en.body.error.code]).toEqual([code, code]);
      expect(zh.status).toBe(en.status);
      expect(zh.body.error.message).toMatch(/[\u4e00-\u9fff]/);
      expect(en.body.error.message).toMatch(/^[\x20-\x7e]+$/);
    }
  });
});

describe('submission rate limits', () => {
  let limited: RunningApi;

  beforeAll(async () => {
    const config = loadConfig({
      ...process.env,
      ...securityTestEnv(),
      PORT: '0',
      TEMPORAL_TASK_QUEUE: `rate-limited-${Date.now()}`,
      RATE_LIMIT_SUBMISSIONS_PER_IDENTITY: '2',
      RATE_LIMIT_SUBMISSIONS_PER_IP: '3',
      RATE_LIMIT_REQUESTS_PER_IDENTITY: '6',
      RATE_LIMIT_WINDOW_SECONDS: '60',
    });
    limited = await startApi({ config, client: env.client, logger: capture.logger, port: 0 });
  });

  afterAll(async () => {
    await limited?.close();
  });

  it('when one applicant submits too often, then 429; when another then submits from the same address, also 429', async () => {
    // Invalid bodies: the limits count attempts, and no workflow need start for the test.
    const attempt = async (subject: string) =>
      (await call(limited.url, 'POST', '/v1/applications', { token: await tokenFor('applicant', subject), json: {} }))
        .status;
    expect([await attempt('applicant-busy'), await attempt('applicant-busy'), await attempt('applicant-busy')]).toEqual(
      [400, 400, 429],
    );
    const fromSameAddress = await call(limited.url, 'POST', '/v1/applications', {
      token: await tokenFor('applicant', 'applicant-calm'),
      json: {},
    });
    expect(fromSameAddress.status).toBe(429);
    expect(fromSameAddress.body.error.code).toBe('RATE_LIMITED');
    expect(fromSameAddress.headers.get('ratelimit-policy')).toContain('3;w=60');
    // Reading is not limited.
    expect((await call(limited.url, 'GET', '/healthz')).status).toBe(200);
  });

  it('when one caller sends too many requests of any kind, then 429 for that caller only; requests without a token are not counted', async () => {
    const busy = await tokenFor('supervisor', 'sup-busy');
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await call(limited.url, 'GET', '/v1/stats', { token: busy })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429]);
    const refused = await call(limited.url, 'GET', '/v1/applications', { token: busy });
    expect(refused.body.error.code).toBe('RATE_LIMITED');
    expect(refused.headers.get('ratelimit-policy')).toContain('6;w=60');
    expect(
      (await call(limited.url, 'GET', '/v1/stats', { token: await tokenFor('supervisor', 'sup-calm') })).status,
    ).toBe(200);
    // Refused requests count too: an applicant probing ids that are not theirs (404) is limited like any other.
    const prober = await tokenFor('applicant', 'applicant-prober');
    const probes: number[] = [];
    for (let i = 0; i < 7; i++) {
      probes.push(
        (await call(limited.url, 'GET', `/v1/applications/kb-${String(i).padStart(32, '0')}`, { token: prober }))
          .status,
      );
    }
    expect(probes).toEqual([404, 404, 404, 404, 404, 404, 429]);
    const due = '/v1/calendar/due?from=2026-11-30T09:00:00%2B08:00&hours=7';
    for (let i = 0; i < 8; i++) expect((await call(limited.url, 'GET', due)).status).toBe(200);
  });
});

describe('codec endpoint for the Temporal Web UI', () => {
  const payload = {
    metadata: { encoding: Buffer.from('json/plain').toString('base64') },
    data: Buffer.from('{"idNumber":"360102199003071236"}').toString('base64'),
  };

  it('when an operator encodes and decodes, then the payload round-trips and is encrypted in between', async () => {
    const token = await tokenFor('operator', 'op-codec');
    const encoded = await call(stack.api.url, 'POST', '/codec/encode', { token, json: { payloads: [payload] } });
    expect(encoded.status).toBe(200);
    const sealed = encoded.body.payloads[0];
    expect(Buffer.from(sealed.metadata.encoding, 'base64').toString()).toBe(ENCRYPTED_ENCODING);
    expect(Buffer.from(sealed.data, 'base64').toString('latin1')).not.toContain('360102199003071236');
    const decoded = await call(stack.api.url, 'POST', '/codec/decode', {
      token,
      json: { payloads: [sealed] },
      headers: { 'x-namespace': 'default' },
    });
    expect(decoded.status).toBe(200);
    expect(decoded.body.payloads).toEqual([payload]);
    expect(capture.lines.some((l) => l.includes('"audit":"codec-decode"') && l.includes('op-codec'))).toBe(true);
  });

  it('when a payload from the history is sent, then the operator sees the application; a damaged or foreign one is a 400', async () => {
    const id = (await submit('applicant-codec', freshApplication())).body.id as string;
    const history = await env.client.workflow.getHandle(id).fetchHistory();
    const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    const toJson = (p: typeof input) => ({
      metadata: Object.fromEntries(
        Object.entries(p?.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
      ),
      data: Buffer.from(p?.data ?? new Uint8Array()).toString('base64'),
    });
    const token = await tokenFor('operator', 'op-codec');
    const decoded = await call(stack.api.url, 'POST', '/codec/decode', { token, json: { payloads: [toJson(input)] } });
    expect(decoded.status).toBe(200);
    expect(JSON.parse(Buffer.from(decoded.body.payloads[0].data, 'base64').toString())).toMatchObject({
      applicationId: id,
    });

    const foreign = (
      await new AesGcmCodec(parseCodecKeys('other:' + Buffer.alloc(32, 7).toString('base64'))).encode([
        { metadata: {}, data: new Uint8Array([1]) },
      ])
    )[0]!;
    const refused = await call(stack.api.url, 'POST', '/codec/decode', {
      token,
      json: { payloads: [toJson(foreign)] },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('CODEC_FAILED');
    expect((await call(stack.api.url, 'POST', '/codec/decode', { token, json: { nope: 1 } })).status).toBe(400);
    expect(TEST_CODEC_KEYS).not.toContain('other:');
  });

  it("answers the Web UI's CORS preflight for its origin only", async () => {
    const preflight = (origin: string) =>
      call(stack.api.url, 'OPTIONS', '/codec/decode', {
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,x-namespace,authorization',
        },
      });
    const ui = await preflight('http://127.0.0.1:8233');
    expect(ui.status).toBe(204);
    expect(ui.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8233');
    expect(ui.headers.get('access-control-allow-headers')).toContain('authorization');
    const evil = await preflight('https://evil.example');
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    // Without a token the UI is told so, in a way its browser lets it read.
    const anonymous = await call(stack.api.url, 'POST', '/codec/decode', {
      json: { payloads: [] },
      headers: { origin: 'http://127.0.0.1:8233' },
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8233');
  });
});
