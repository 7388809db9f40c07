/**
 * The agency adapter's errors say whether a failed request may still have been carried out (`outcomeUnknown`): what
 * a step done offline needs to know — is there a filing of ours at the agency to withdraw? The filing activity carries
 * that from attempt to attempt in its heartbeat details. Real HTTP against a local server that answers as told.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgencyRequestError, AgencyUnavailableError, createAgencyClient } from '../adapters/agency-client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities, type ActivityDeps } from '../activities';
import { AGENCY_IDS, type AgencyId } from '../domain/steps';
import { createLogger } from '../observability/logger';

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
});

describe('the filing activity reports, attempt by attempt, whether a filing may have reached the agency', () => {
  const activities = () =>
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
    } satisfies ActivityDeps);
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
