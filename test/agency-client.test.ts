/**
 * The agency adapter's errors say whether a failed request may still have been carried out (`outcomeUnknown`): what
 * a step done offline needs to know — is there a filing of ours at the agency to withdraw? The filing activity carries
 * that from attempt to attempt in its heartbeat details. Real HTTP against a local server that answers as told.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AgencyRequestError,
  AgencyUnavailableError,
  ANSWER_MAX_BYTES,
  createAgencyClient,
  RETRY_AFTER_MAX_MS,
  retryAfterMs,
} from '../adapters/agency-client';
import {
  createNotificationClient,
  NotificationRefusedError,
  NotificationUnavailableError,
  type ApplicantNotification,
} from '../adapters/notification-client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities, type ActivityDeps, type Dossier, type DossierInput } from '../activities';
import { canonicalJson } from '../domain/canonical-json';
import { freshApplication } from './helpers/fixtures';
import { approvedResultProblems } from '../domain/agency-answers';
import { buildUscc } from '../domain/codes';
import { AGENCY_IDS, type AgencyId } from '../domain/steps';
import { createLogger } from '../observability/logger';

/** A USCC of Nanchang's Donghu district with its check character (domain/codes.ts). */
const VALID_USCC = buildUscc('360102', 'MA35X7K2');

let server: Server;
let base: string;
/** How the server answers the next filing. */
let answer: (res: import('node:http').ServerResponse) => void = () => undefined;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const clientAt = (url: string, timeoutMs = 1000) =>
  createAgencyClient({
    urls: Object.fromEntries(AGENCY_IDS.map((a) => [a, url])) as Record<AgencyId, string>,
    timeoutMs,
  });
const filing = {
  agency: 'fund' as const,
  procedure: 'fund_account_opening',
  idempotencyKey: 'k-1',
  reference: { applicationId: 'kb-1', step: 'fund' },
  payload: {},
};

async function failureOf(url = base, timeoutMs?: number): Promise<unknown> {
  return clientAt(url, timeoutMs)
    .file(filing)
    .then(
      () => {
        throw new Error('expected the filing to fail');
      },
      (err: unknown) => err,
    );
}

const json = (status: number, body: unknown) => (res: import('node:http').ServerResponse) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

describe('a failed filing says whether the agency may have carried it out', () => {
  it.each([
    [503, false],
    [429, false],
    [500, true],
    [502, true],
    [504, true],
    [408, true],
  ])('an answer %i: outcome unknown %s', async (status, unknown) => {
    answer = json(status, { error: { code: 'X', message: 'x' } });
    const err = await failureOf();
    expect(err).toBeInstanceOf(AgencyUnavailableError);
    expect(err).toMatchObject({ httpStatus: status, outcomeUnknown: unknown });
  });

  it('no answer within the timeout: unknown (the agency may have acted on it)', async () => {
    answer = (res) => setTimeout(() => json(202, { ticket: 'FUND-1', status: 'pending' })(res), 1500);
    expect(await failureOf(base, 300)).toMatchObject({ outcomeUnknown: true });
  });

  it('a success without a record: unknown', async () => {
    answer = json(202, { accepted: true });
    expect(await failureOf()).toMatchObject({ outcomeUnknown: true });
  });

  it('a refused connection: certainly not carried out (never sent)', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await failureOf(`http://127.0.0.1:${port}`);
    expect(err).toBeInstanceOf(AgencyUnavailableError);
    expect(err).toMatchObject({ outcomeUnknown: false });
  });

  it('a refusal of the request itself (4xx) is no unavailability', async () => {
    answer = json(400, { error: { code: 'INVALID_REQUEST', message: 'bad' } });
    expect(await failureOf()).toBeInstanceOf(AgencyRequestError);
  });

  it.each([
    ["a gateway's HTML 404", 404, 'text/html', '<html><body>Not Found</body></html>'],
    ['a redirect to a maintenance page', 302, 'text/html', ''],
    ["a 409 without the protocol's error body", 409, 'application/json', '{"message":"busy"}'],
    ["a proxy's 503 page (the agency may have saved the filing, then failed)", 503, 'text/html', '<h1>503</h1>'],
    ["a proxy's 429 without the protocol's error body", 429, 'text/plain', 'slow down'],
    ["a redirect carrying the protocol's error body", 302, 'application/json', '{"error":{"code":"MOVED"}}'],
  ])('%s is no refusal by the agency: unavailable, outcome unknown', async (_what, status, type, body) => {
    answer = (res) => res.writeHead(status, { 'content-type': type, location: '/maintenance' }).end(body);
    const err = await failureOf();
    expect(err).toBeInstanceOf(AgencyUnavailableError);
    expect(err).toMatchObject({ httpStatus: status, outcomeUnknown: true });
  });
});

describe('a success answer outside the protocol is no answer', () => {
  it.each([
    ['a status the protocol does not have', { ticket: 'FUND-1', status: 'processing' }, 'status'],
    ['a status in capitals', { ticket: 'FUND-1', status: 'APPROVED' }, 'status'],
    ['an empty ticket', { ticket: '', status: 'approved', result: {} }, 'ticket'],
    ['a result that is no object', { ticket: 'FUND-1', status: 'approved', result: 'ok' }, 'result'],
  ])('%s: unavailable (retried), outcome unknown, naming the field', async (_what, body, field) => {
    answer = json(202, body);
    const err = await failureOf();
    expect(err).toBeInstanceOf(AgencyUnavailableError);
    expect(err).toMatchObject({ outcomeUnknown: true });
    expect((err as Error).message).toContain(`${field}:`);
  });

  it('a record of the protocol is taken as it is', async () => {
    answer = json(202, { ticket: 'FUND-1', status: 'pending', live: true });
    await expect(clientAt(base).file(filing)).resolves.toEqual({
      ticket: 'FUND-1',
      status: 'pending',
      result: undefined,
      reason: undefined,
    });
  });
});

describe("an approval carries the result the applicant's results name", () => {
  it.each([
    ['tax', 'result.taxRecordId', { taxRecordId: 'TAX-1', taxpayerId: VALID_USCC }],
    ['social', 'result.employerSocialSecurityNumber', { employerSocialSecurityNumber: '36010212345678' }],
    ['fund', 'result.fundAccountNumber', { fundAccountNumber: '360102000000000001' }],
    ['bank', 'result.appointmentRef', { appointmentRef: 'YYABCDEF123456' }],
  ] as const)('%s: without %s it is no decision; with it, it is', (step, path, result) => {
    // Any result was taken: the application completed with the employer's social-security number missing.
    expect(approvedResultProblems(step, {})).toEqual([expect.objectContaining({ path })]);
    expect(approvedResultProblems(step, { [path.slice('result.'.length)]: 42 })).toEqual([
      expect.objectContaining({ path, code: 'INVALID_TYPE' }),
    ]);
    expect(approvedResultProblems(step, result)).toEqual([]);
  });
});

describe('an agency refusal quoting personal data', () => {
  it('is scrubbed before it is cut to 300 characters: no number is left half-masked', async () => {
    answer = json(400, { error: { code: 'X', message: `${'说明'.repeat(124)} 身份证 360102199003071236` } });
    const err = (await failureOf()) as Error;
    expect(err).toBeInstanceOf(AgencyRequestError);
    expect(err.message).not.toMatch(/\d{6,}/);
  });
});

describe('an answer about another ticket is no answer', () => {
  it("a filing answered with another filing's record (its key or its reference) is retried, not taken", async () => {
    const record = { ticket: 'FUND-OTHER', status: 'approved', result: { fundAccountNumber: 'F-1' } };
    for (const other of [
      { idempotencyKey: 'k-2', reference: filing.reference },
      { idempotencyKey: filing.idempotencyKey, reference: { applicationId: 'kb-2', step: 'fund' } },
      { idempotencyKey: filing.idempotencyKey, reference: { applicationId: 'kb-1', step: 'social' } },
    ]) {
      answer = json(202, { ...record, ...other });
      const err = await failureOf();
      expect(err).toBeInstanceOf(AgencyUnavailableError);
      expect(err).toMatchObject({ outcomeUnknown: true });
      expect((err as Error).message).toContain('with the record of another filing (ticket FUND-OTHER)');
    }
    // Its own record, as the protocol returns it (or without the fields, as an older agency may): taken.
    answer = json(202, { ...record, idempotencyKey: filing.idempotencyKey, reference: filing.reference });
    await expect(clientAt(base).file(filing)).resolves.toMatchObject({ ticket: 'FUND-OTHER' });
    answer = json(202, record);
    await expect(clientAt(base).file(filing)).resolves.toMatchObject({ ticket: 'FUND-OTHER' });
  });

  it('an answer larger than the limit is cut off unread: unavailable, outcome unknown', async () => {
    answer = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`{"ticket":"FUND-1","status":"approved","pad":"`);
      res.end(`${'x'.repeat(ANSWER_MAX_BYTES)}"}`);
    };
    const err = await failureOf();
    expect(err).toBeInstanceOf(AgencyUnavailableError);
    expect(err).toMatchObject({ outcomeUnknown: true });
    expect((err as Error).message).toContain(`with more than ${ANSWER_MAX_BYTES} bytes`);
  });

  it('a poll or a cancellation answered with another record is retried, not taken', async () => {
    // A cache in between, or an agency's bug: the license would have taken another company's USCC, the undo another
    // record's cancellation.
    answer = json(200, { ticket: 'MARKET-OTHER', status: 'approved', result: { uscc: VALID_USCC } });
    const client = clientAt(base);
    await expect(client.get('market', 'MARKET-MINE')).rejects.toThrow(
      /answered about ticket MARKET-OTHER when asked about MARKET-MINE/,
    );
    await expect(client.get('market', 'MARKET-MINE')).rejects.toBeInstanceOf(AgencyUnavailableError);
    answer = json(200, { ticket: 'MARKET-OTHER', status: 'cancelled' });
    await expect(client.cancel('market', 'MARKET-MINE', 'withdrawn')).rejects.toBeInstanceOf(AgencyUnavailableError);
    answer = json(200, { ticket: 'MARKET-MINE', status: 'cancelled' });
    await expect(client.cancel('market', 'MARKET-MINE', 'withdrawn')).resolves.toMatchObject({
      ticket: 'MARKET-MINE',
      status: 'cancelled',
    });
  });
});

describe("an agency's Retry-After sets the next attempt", () => {
  it.each([
    [429, '120', 120_000],
    [503, '0', undefined], // "now": the policy's backoff, not a zero delay
    [503, '1', 1000],
    [503, '86400', RETRY_AFTER_MAX_MS],
    [503, 'soon', undefined],
    [500, '120', undefined], // not "unavailable, come back": the outcome is unknown, retried on the policy's backoff
  ])('%i with Retry-After %s: %s ms', async (status, header, expected) => {
    answer = (res) =>
      res
        .writeHead(status, { 'content-type': 'application/json', 'retry-after': header })
        .end(JSON.stringify({ error: { code: 'AGENCY_UNAVAILABLE', message: 'later' } }));
    const err = await failureOf();
    expect(err).toBeInstanceOf(AgencyUnavailableError);
    expect((err as AgencyUnavailableError).retryAfterMs).toBe(expected);
  });

  it('an HTTP date counts from now', () => {
    const now = Date.parse('2026-11-30T02:00:00Z');
    expect(retryAfterMs('Mon, 30 Nov 2026 02:01:30 GMT', now)).toBe(90_000);
    expect(retryAfterMs('Mon, 30 Nov 2026 01:59:00 GMT', now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
  });
});

/** The activities on the adapter to the local server (`deps` over the defaults). */
const activities = (deps: Partial<ActivityDeps> = {}) =>
  createActivities({
    agencies: clientAt(base),
    settings: {
      pollInitialMs: 1000,
      pollMaxMs: 1000,
      agencyCallTimeoutMs: 1000,
      agencyMaxAttempts: 3,
      searchAttributes: false,
    },
    callbackBaseUrl: 'http://127.0.0.1:9',
    logger: createLogger({ level: 'silent' }),
    ...deps,
  } satisfies ActivityDeps);

describe('the filing activity reports, attempt by attempt, whether a filing may have reached the agency', () => {
  const input = {
    applicationId: 'kb-1',
    step: 'fund' as const,
    agency: 'fund' as const,
    procedure: 'fund_account_opening',
    idempotencyKey: 'k-1',
    payload: {},
  };

  async function attempt(info: { attempt: number; heartbeatDetails?: unknown }) {
    const env = new MockActivityEnvironment(info);
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const failure = await env.run(activities().fileAgencyRequest, input).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(ApplicationFailure);
    return { details: (failure as ApplicationFailure).details?.[0], beats };
  }

  it("an agency's Retry-After becomes the failure's next retry delay", async () => {
    answer = (res) =>
      res
        .writeHead(429, { 'content-type': 'application/json', 'retry-after': '90' })
        .end(JSON.stringify({ error: { code: 'RATE_LIMITED', message: 'slow down' } }));
    const env = new MockActivityEnvironment({ attempt: 1 });
    const failure = await env.run(activities().fileAgencyRequest, input).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ nonRetryable: false, nextRetryDelay: 90_000 });
  });

  it('turned away on the first attempt: certainly not, and says so for the next', async () => {
    answer = json(503, { error: { code: 'AGENCY_UNAVAILABLE', message: 'down' } });
    const first = await attempt({ attempt: 1 });
    expect(first.details).toEqual({ outcomeUnknown: false, attempt: 1 });
    expect(first.beats).toEqual([{ outcomeUnknown: false, attempt: 1 }]);
  });

  it('turned away after an attempt that reported "certainly not": still certainly not', async () => {
    answer = json(503, { error: { code: 'AGENCY_UNAVAILABLE', message: 'down' } });
    const second = await attempt({ attempt: 2, heartbeatDetails: { outcomeUnknown: false, attempt: 1 } });
    expect(second.details).toEqual({ outcomeUnknown: false, attempt: 2 });
  });

  it('turned away after an attempt that may have reached the agency, or one that never reported (a lost worker): may have', async () => {
    answer = json(503, { error: { code: 'AGENCY_UNAVAILABLE', message: 'down' } });
    expect((await attempt({ attempt: 2, heartbeatDetails: { outcomeUnknown: true, attempt: 1 } })).details).toEqual({
      outcomeUnknown: true,
      attempt: 2,
    });
    // Attempt 2 died mid-call: the details are still attempt 1's.
    expect((await attempt({ attempt: 3, heartbeatDetails: { outcomeUnknown: false, attempt: 1 } })).details).toEqual({
      outcomeUnknown: true,
      attempt: 3,
    });
  });
});

describe('the agency activities take only answers the next steps can use', () => {
  const licenseFiling = {
    applicationId: 'kb-1',
    step: 'license' as const,
    agency: 'market' as const,
    procedure: 'establishment_registration',
    idempotencyKey: 'k-license',
    payload: {},
  };
  const failureOfRun = <T>(run: () => Promise<T>) =>
    run().then(
      () => {
        throw new Error('expected the activity to fail');
      },
      (err: unknown) => err as ApplicationFailure,
    );

  it.each([
    ['without a result', { ticket: 'MARKET-1', status: 'approved' }, 'result'],
    [
      'without a USCC',
      { ticket: 'MARKET-1', status: 'approved', result: { licenseNumber: '36010000000001' } },
      'result.uscc',
    ],
    [
      'with a USCC whose check character is wrong',
      { ticket: 'MARKET-1', status: 'approved', result: { uscc: '91360100MA12345670' } },
      'result.uscc',
    ],
  ])('a license approved %s is asked again (retryable), and may be held at the agency', async (_what, body, path) => {
    answer = json(202, body);
    const failure = await failureOfRun(() =>
      new MockActivityEnvironment({ attempt: 1 }).run(activities().fileAgencyRequest, licenseFiling),
    );
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ nonRetryable: false, type: 'AgencyUnavailableError' });
    expect(failure.message).toContain(`${path}:`);
    expect(failure.details?.[0]).toEqual({ outcomeUnknown: true, attempt: 1 });
  });

  it('a filing made again only to learn the ticket of a record to cancel takes an approval whatever its result', async () => {
    answer = json(200, { ticket: 'MARKET-1', status: 'approved', result: {} });
    await expect(
      new MockActivityEnvironment({ attempt: 1 }).run(activities().fileAgencyRequest, {
        ...licenseFiling,
        toUndo: true,
      }),
    ).resolves.toMatchObject({ ticket: 'MARKET-1', status: 'approved' });
  });

  it('a poll that finds the license approved without a USCC is no decision either', async () => {
    answer = json(200, { ticket: 'MARKET-1', status: 'approved', result: {} });
    const poll = () =>
      new MockActivityEnvironment().run(activities().pollAgencyRequest, {
        agency: 'market' as const,
        ticket: 'MARKET-1',
        step: 'license' as const,
      });
    const failure = await failureOfRun(poll);
    expect(failure).toMatchObject({ nonRetryable: false, type: 'AgencyUnavailableError' });
    expect(failure.message).toContain('result.uscc:');
    // A valid one is the decision.
    answer = json(200, { ticket: 'MARKET-1', status: 'approved', result: { uscc: VALID_USCC } });
    await expect(poll()).resolves.toMatchObject({ status: 'approved', result: { uscc: VALID_USCC } });
  });

  it.each(['approved', 'pending'])('a cancellation answered with a record still %s is not an undo', async (status) => {
    answer = json(200, { ticket: 'MARKET-1', status, result: { uscc: VALID_USCC } });
    const failure = await failureOfRun(() =>
      new MockActivityEnvironment().run(activities().cancelAgencyRequest, {
        applicationId: 'kb-1',
        step: 'license' as const,
        agency: 'market' as const,
        ticket: 'MARKET-1',
        reason: 'withdrawn',
      }),
    );
    expect(failure).toMatchObject({ nonRetryable: false, type: 'AgencyUnavailableError' });
    expect(failure.message).toContain(`still ${status}`);
  });

  it.each(['revoked', 'cancelled', 'rejected'])('a cancellation answered %s is done', async (status) => {
    answer = json(200, { ticket: 'MARKET-1', status });
    await expect(
      new MockActivityEnvironment().run(activities().cancelAgencyRequest, {
        applicationId: 'kb-1',
        step: 'license' as const,
        agency: 'market' as const,
        ticket: 'MARKET-1',
        reason: 'withdrawn',
      }),
    ).resolves.toMatchObject({ status });
  });
});

describe('the dossier', () => {
  const sha256 = (value: unknown) => `sha256:${createHash('sha256').update(canonicalJson(value)).digest('hex')}`;
  const archive = (input: DossierInput): Promise<Dossier> =>
    new MockActivityEnvironment().run(activities().archiveDossier, input) as Promise<Dossier>;
  const input: DossierInput = {
    applicationId: 'kb-1',
    outputs: { name: { reservationId: 'NR-1' } },
    application: freshApplication(),
    review: { state: 'approved', decision: 'approve', findings: [], reason: '可' } as unknown as DossierInput['review'],
    steps: [{ id: 'name', state: 'done', ticket: 'MARKET-1', finishedAt: '2026-11-29T08:00:00.000Z' }],
    audit: [],
  };

  it('seals everything it keeps: the materials, the review, each step and its ticket, the outputs, the audit', async () => {
    const sealed = await archive(input);
    expect(sealed.covers).toEqual(['application', 'review', 'steps', 'outputs', 'audit']);
    expect(sealed.digest).toBe(sha256(input));
    // It sealed the outputs alone: the materials, the decision and the tickets could change under the same digest.
    const moved = structuredClone(input);
    moved.application!.company.address = '红谷滩区丰和中大道1号';
    expect((await archive(moved)).digest).not.toBe(sealed.digest);
    expect((await archive({ ...input, steps: [{ ...input.steps![0]!, ticket: 'MARKET-2' }] })).digest).not.toBe(
      sealed.digest,
    );
  });

  it('an archive without the materials (older workflow code) notifies nobody, and says so', async () => {
    const sent: unknown[] = [];
    const lines: string[] = [];
    const archiveOlder = activities({
      logger: createLogger({ level: 'warn', destination: { write: (line: string) => void lines.push(line) } }),
      notifications: {
        notify: async (notification) => {
          sent.push(notification);
          return { notificationId: notification.notificationId, acceptedAt: new Date().toISOString() };
        },
      },
    }).archiveDossier;
    const older = await new MockActivityEnvironment().run(archiveOlder, {
      applicationId: 'kb-1',
      outputs: input.outputs,
    });
    expect(older).not.toHaveProperty('applicantNotified');
    expect(sent).toEqual([]);
    expect(lines.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual([
      'the applicant is not notified: this archive was scheduled without the materials (older workflow code)',
    ]);
    // With the materials, the same activity does notify.
    await new MockActivityEnvironment().run(archiveOlder, input);
    expect(sent).toHaveLength(1);
  });

  it('an archive scheduled by workflow code from before seals the outputs, as it did', async () => {
    const older = await archive({ applicationId: 'kb-1', outputs: input.outputs });
    expect(older.covers).toEqual(['outputs']);
    expect(older.digest).toBe(sha256({ applicationId: 'kb-1', outputs: input.outputs }));
  });
});

describe("the message platform's answers (adapters/notification-client.ts)", () => {
  const notification: ApplicantNotification = {
    notificationId: 'NTF-kb-1',
    applicationId: 'kb-1',
    event: 'business-started',
    to: { name: '张三', phone: '13807910001' },
    message: { zh: '已办结', en: 'started' },
    results: {},
    dossier: { dossierId: 'DOS-kb-1' },
  };
  const notify = () => createNotificationClient({ url: `${base}/notifications`, timeoutMs: 1000 }).notify(notification);

  it('takes its receipt for this notification, or a 204', async () => {
    answer = json(201, { notificationId: 'NTF-kb-1', acceptedAt: '2026-11-30T05:00:00.000Z' });
    await expect(notify()).resolves.toEqual({ notificationId: 'NTF-kb-1', acceptedAt: '2026-11-30T05:00:00.000Z' });
    answer = (res) => res.writeHead(204).end();
    await expect(notify()).resolves.toMatchObject({ notificationId: 'NTF-kb-1' });
  });

  it.each([
    ['a web page served for every path', 200, 'text/html', '<html>app</html>'],
    ["another notification's receipt", 201, 'application/json', '{"notificationId":"NTF-kb-2"}'],
    [
      '"the first attempt is still being sent" (409 under the same key)',
      409,
      'application/json',
      '{"error":{"code":"IN_PROGRESS"}}',
    ],
    ["a 400 without the platform's error body", 400, 'text/html', '<h1>Bad Request</h1>'],
  ])('%s: not taken, retried (the archive step ends in an incident if it lasts)', async (_what, status, type, body) => {
    answer = (res) => res.writeHead(status, { 'content-type': type }).end(body);
    await expect(notify()).rejects.toBeInstanceOf(NotificationUnavailableError);
  });

  it("refuses the notification itself only in the platform's own words, the number it quotes masked", async () => {
    answer = json(422, { error: { code: 'PHONE_UNREACHABLE', message: 'cannot send to 13807910001' } });
    const err = await notify().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotificationRefusedError);
    expect((err as Error).message).not.toContain('13807910001');
  });
});
