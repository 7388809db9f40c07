/**
 * The agency simulator over real HTTP on 127.0.0.1, with a real callback receiver.
 */
import { createHmac } from 'node:crypto';
import fs, { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { buildUscc, isValidUscc, parseUscc } from '../domain/codes';
import { AGENCY_IDS, type AgencyId } from '../simulator/config';
import { readSimulatorEnv } from '../simulator/env';
import { type RunningSimulator, startSimulator, type StartSimulatorOptions } from '../simulator/server';
import { signCallback } from '../simulator/signature';
import { type AgencyRecord, RecordStore } from '../simulator/store';
import { freePort, startTsProcess, waitForHttp, type NodeProcess } from './helpers/processes';

const SECRETS = Object.fromEntries(AGENCY_IDS.map((agency) => [agency, `secret-of-${agency}`])) as Record<
  AgencyId,
  string
>;
const FAST = Object.fromEntries(AGENCY_IDS.map((agency) => [agency, { processingMs: 20 }]));
const DISTRICT = '360113';

// ---------------------------------------------------------------- helpers

interface Received {
  headers: IncomingHttpHeaders;
  rawBody: string;
  json: Record<string, unknown>;
}

/** A real HTTP endpoint for callbacks; answers 500 to the first `failFirst` calls. */
async function startReceiver(failFirst = 0) {
  const received: Received[] = [];
  let calls = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, rawBody, json: JSON.parse(rawBody) as Record<string, unknown> });
      calls += 1;
      res.statusCode = calls <= failFirst ? 500 : 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/callbacks`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const running: RunningSimulator[] = [];
const receivers: { close(): Promise<void> }[] = [];

async function simulator(options: Partial<StartSimulatorOptions> = {}) {
  const sim = await startSimulator({
    port: 0,
    seed: 'test-seed',
    callbackSecrets: SECRETS,
    agencies: FAST,
    logger: pino({ level: 'silent' }),
    ...options,
  });
  running.push(sim);
  return sim;
}

async function receiver(failFirst = 0) {
  const r = await startReceiver(failFirst);
  receivers.push(r);
  return r;
}

afterEach(async () => {
  // A disk fault injected by a test that failed before restoring it must not reach the next test.
  jest.restoreAllMocks();
  await Promise.all(running.splice(0).map((sim) => sim.close()));
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

/** What the HTTP helpers need of a simulator: where it listens (in this process or another). */
type Agencies = Pick<RunningSimulator, 'url'>;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function call(url: string, init: RequestInit = {}): Promise<{ status: number; body: Json }> {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as Json };
}

interface Filing {
  procedure: string;
  payload: Record<string, unknown>;
  applicationId?: string;
  step?: string;
  callbackUrl?: string;
}

function file(sim: Agencies, agency: string, key: string | undefined, filing: Filing) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key !== undefined) headers['idempotency-key'] = key;
  return call(`${sim.url}/agencies/${agency}/requests`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      procedure: filing.procedure,
      reference: { applicationId: filing.applicationId ?? 'app-1', step: filing.step ?? 'step' },
      callbackUrl: filing.callbackUrl,
      payload: filing.payload,
    }),
  });
}

const get = (sim: Agencies, agency: string, ticket: string) => call(`${sim.url}/agencies/${agency}/requests/${ticket}`);

const cancel = (sim: Agencies, agency: string, ticket: string, reason = 'withdrawn') =>
  call(`${sim.url}/agencies/${agency}/requests/${ticket}/cancel`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ reason }),
  });

const records = (sim: Agencies, query = '') => call(`${sim.url}/records${query}`);

const patchConfig = (sim: Agencies, patch: unknown) =>
  call(`${sim.url}/admin/config`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(patch),
  });

async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 3_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function decided(sim: Agencies, agency: string, ticket: string): Promise<Json> {
  return waitFor(async () => {
    const { body } = await get(sim, agency, ticket);
    return body.status === 'pending' ? undefined : body;
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const nameFiling = (companyName: string, applicationId = 'app-1'): Filing => ({
  procedure: 'name_reservation',
  applicationId,
  step: 'name',
  payload: { companyName, district: DISTRICT, entityType: 'limited_liability_company' },
});

const registrationFiling = (name: string, district = DISTRICT, applicationId = 'app-1'): Filing => ({
  procedure: 'establishment_registration',
  applicationId,
  step: 'license',
  payload: {
    reservationId: 'NR-1',
    company: {
      name,
      district,
      entityType: 'limited_liability_company',
      registeredCapitalCny: 1_000_000,
      address: '南昌市红谷滩区丰和中大道1号',
      businessScope: ['软件开发', '信息技术咨询服务'],
    },
    people: { legalRepresentative: { name: '张三', idNumber: '360102199003071236', phone: '13807910001' } },
  },
});

/** Registers a company and returns its USCC. */
async function registeredUscc(sim: Agencies, key: string, applicationId?: string): Promise<string> {
  const { body } = await file(
    sim,
    'market',
    key,
    registrationFiling('南昌赣江云数科技有限公司', DISTRICT, applicationId),
  );
  const record = await decided(sim, 'market', body.ticket);
  return record.result.uscc as string;
}

/** A pending name reservation added to `store` directly (ticket MARKET-<name>, key <name>-1, application app-<name>). */
function addPendingReservation(store: RecordStore, name: string, companyName: string): AgencyRecord {
  const id = name.toLowerCase();
  const record: AgencyRecord = {
    agency: 'market',
    procedure: 'name_reservation',
    ticket: `MARKET-${name}`,
    idempotencyKey: `${id}-1`,
    reference: { applicationId: `app-${id}`, step: 'name' },
    status: 'pending',
    createdAt: new Date(0).toISOString(),
  };
  store.add(record, {
    procedure: 'name_reservation',
    payload: { companyName, district: DISTRICT, entityType: 'limited_liability_company' },
  });
  return record;
}

// ---------------------------------------------------------------- tests

describe('agency simulator: idempotency', () => {
  it('when a filing is sent twice with one Idempotency-Key, then the second answers 200 with the same record', async () => {
    const sim = await simulator();
    const first = await file(sim, 'market', 'k-1', nameFiling('南昌青云一号科技有限公司'));
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ status: 'pending', procedure: 'name_reservation', agency: 'market' });
    expect(first.body.ticket).toMatch(/^MARKET-[0-9A-Z]{12}$/);

    const second = await file(sim, 'market', 'k-1', nameFiling('南昌青云一号科技有限公司'));
    expect(second.status).toBe(200);
    expect(second.body.ticket).toBe(first.body.ticket);

    await decided(sim, 'market', first.body.ticket);
    const third = await file(sim, 'market', 'k-1', nameFiling('南昌青云一号科技有限公司'));
    expect(third).toMatchObject({ status: 200, body: { ticket: first.body.ticket, status: 'approved' } });
    expect((await records(sim, '?agency=market')).body.records).toHaveLength(1);
    // Counted for tests of Kaiban under faults: two filings sent again, no fault configured.
    expect((await call(`${sim.url}/admin/faults`)).body).toEqual({
      latencySpikes: 0,
      transientFailures: 0,
      repeatedFilings: 2,
    });
  });

  it('when the same filing arrives concurrently (with latency spikes), then exactly one record is created', async () => {
    const sim = await simulator({ agencies: { ...FAST, police: { latencySpikeRate: 1, latencySpikeMs: 30 } } });
    const uscc = await registeredUscc(sim, 'reg-concurrent');
    const filing: Filing = {
      procedure: 'seal_filing',
      applicationId: 'app-concurrent',
      payload: { uscc, seals: ['official', 'finance'], electronicSeals: true },
    };
    const answers = await Promise.all(Array.from({ length: 8 }, () => file(sim, 'police', 'seal-key', filing)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 202]);
    expect(new Set(answers.map((a) => a.body.ticket)).size).toBe(1);
    expect((await records(sim, '?applicationId=app-concurrent')).body.records).toHaveLength(1);
  });

  it('keys are per agency: the same key at two agencies makes two records', async () => {
    const sim = await simulator();
    const uscc = await registeredUscc(sim, 'shared-key');
    const tax = await file(sim, 'tax', 'shared-key', {
      procedure: 'taxpayer_registration',
      payload: { uscc, invoiceTypes: [], taxUkey: false },
    });
    expect(tax.status).toBe(202);
    expect((await records(sim, '?applicationId=app-1')).body.records).toHaveLength(2);
  });
});

describe('agency simulator: request validation', () => {
  it('answers 400 without an Idempotency-Key, 404 for an unknown agency, 400 for a foreign procedure or bad payload', async () => {
    const sim = await simulator();
    const noKey = await file(sim, 'market', undefined, nameFiling('南昌某某科技有限公司'));
    expect(noKey).toMatchObject({ status: 400, body: { error: { code: 'IDEMPOTENCY_KEY_REQUIRED' } } });
    const longKey = await file(sim, 'market', 'k'.repeat(201), nameFiling('南昌某某科技有限公司'));
    expect(longKey.status).toBe(400);

    const unknown = await file(sim, 'customs', 'k', nameFiling('南昌某某科技有限公司'));
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'UNKNOWN_AGENCY' } } });

    const foreign = await file(sim, 'police', 'k', nameFiling('南昌某某科技有限公司'));
    expect(foreign).toMatchObject({ status: 400, body: { error: { code: 'UNKNOWN_PROCEDURE' } } });

    const badPayload = await file(sim, 'market', 'k2', {
      procedure: 'name_reservation',
      payload: { companyName: '', district: 'Honggutan' },
    });
    expect(badPayload.status).toBe(400);
    expect(badPayload.body.error.code).toBe('INVALID_REQUEST');
    const paths = (badPayload.body.error.issues as { path: string }[]).map((i) => i.path).sort();
    expect(paths).toEqual(['payload.companyName', 'payload.district', 'payload.entityType']);

    const badCallback = await file(sim, 'market', 'k3', {
      ...nameFiling('南昌某某科技有限公司'),
      callbackUrl: 'ftp://x/y',
    });
    expect(badCallback.body.error.issues[0].path).toBe('callbackUrl');

    const notJson = await call(`${sim.url}/agencies/market/requests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'k4' },
      body: '{nope',
    });
    expect(notJson).toMatchObject({ status: 400, body: { error: { code: 'INVALID_JSON' } } });
    expect((await records(sim)).body.records).toHaveLength(0);

    expect((await get(sim, 'market', 'MARKET-NOPE')).status).toBe(404);
    expect((await cancel(sim, 'market', 'MARKET-NOPE')).status).toBe(404);
    expect((await call(`${sim.url}/healthz`)).body).toEqual({ ok: true });
  });
});

describe('agency simulator: decisions and callbacks', () => {
  it('when a name is reserved, then a callback signed with the agency secret reports it and polling shows the same', async () => {
    const sim = await simulator();
    const hook = await receiver();
    const filed = await file(sim, 'market', 'name-cb', {
      ...nameFiling('南昌赣江云数科技有限公司', 'app-cb'),
      callbackUrl: hook.url,
    });
    const callback = await waitFor(() => hook.received[0]);

    expect(callback.headers['content-type']).toBe('application/json');
    expect(callback.headers['x-agency-id']).toBe('market');
    // HMAC-SHA256 of "<timestamp>.<raw body>", the timestamp in Unix seconds, now.
    const timestamp = String(callback.headers['x-agency-timestamp']);
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(60);
    const expected =
      'sha256=' + createHmac('sha256', SECRETS.market).update(`${timestamp}.${callback.rawBody}`).digest('hex');
    expect(callback.headers['x-agency-signature']).toBe(expected);
    expect(signCallback(SECRETS.market, timestamp, callback.rawBody)).toBe(expected);
    expect(signCallback(SECRETS.police, timestamp, callback.rawBody)).not.toBe(expected);

    expect(callback.json).toMatchObject({
      agency: 'market',
      ticket: filed.body.ticket,
      idempotencyKey: 'name-cb',
      reference: { applicationId: 'app-cb', step: 'name' },
      procedure: 'name_reservation',
      status: 'approved',
      result: { reservedName: '南昌赣江云数科技有限公司' },
    });
    const result = callback.json.result as Json;
    expect(result.reservationId).toMatch(/^NR360113\d{10}$/);
    const validUntil = Date.parse(`${result.validUntil}T00:00:00+08:00`);
    expect(Math.round((validUntil - Date.now()) / 86_400_000)).toBeGreaterThanOrEqual(29);
    expect(result.validUntil).toMatch(/^\d{4}-\d{2}-\d{2}$/);

    const polled = await get(sim, 'market', filed.body.ticket);
    expect(polled.body).toMatchObject({ status: 'approved', result, decidedAt: callback.json.decidedAt, live: true });
    await sim.simulator.settled();
    expect(hook.received).toHaveLength(1);
  });

  it('rejects forbidden words and taken names with their codes', async () => {
    const sim = await simulator({ agencies: { ...FAST, market: { processingMs: 0 } } });
    const forbidden = await file(sim, 'market', 'n1', nameFiling('南昌中华实业有限公司'));
    expect(forbidden.body).toMatchObject({
      status: 'rejected',
      reason: { code: 'NAME_FORBIDDEN_WORD', message_zh: expect.stringContaining('中华') },
    });
    expect(forbidden.body.reason.message_en).toContain('中华');

    const configuredTaken = await file(sim, 'market', 'n2', nameFiling('南昌赣江实业有限公司'));
    expect(configuredTaken.body).toMatchObject({ status: 'rejected', reason: { code: 'NAME_TAKEN' } });

    const held = await file(sim, 'market', 'n3', nameFiling('南昌红谷滩数据有限公司', 'app-a'));
    expect(held.body.status).toBe('approved');
    const again = await file(sim, 'market', 'n4', nameFiling('南昌红谷滩数据有限公司', 'app-b'));
    expect(again.body).toMatchObject({ status: 'rejected', reason: { code: 'NAME_TAKEN' } });
    const sameApplication = await file(sim, 'market', 'n5', nameFiling('南昌红谷滩数据有限公司', 'app-a'));
    expect(sameApplication.body.status).toBe('approved');

    await cancel(sim, 'market', held.body.ticket);
    await cancel(sim, 'market', sameApplication.body.ticket);
    const afterRelease = await file(sim, 'market', 'n6', nameFiling('南昌红谷滩数据有限公司', 'app-b'));
    expect(afterRelease.body.status).toBe('approved');

    const registration = await file(sim, 'market', 'n7', registrationFiling('南昌国家数据有限公司'));
    expect(registration.body).toMatchObject({ status: 'rejected', reason: { code: 'REGISTRATION_FORBIDDEN_WORD' } });
  });

  it('issues 200 valid, distinct USCCs in the district of registration, with 15-digit license numbers and e-licenses', async () => {
    const sim = await simulator({ agencies: { market: { processingMs: 0 } } });
    const districts = ['360102', '360103', '360104', '360111', '360112', '360113', '360121', '360123', '360124'];
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        file(sim, 'market', `reg-${i}`, registrationFiling(`南昌测试${i}号有限公司`, districts[i % districts.length])),
      ),
    );
    const usccs = answers.map((a, i) => {
      expect(a.status).toBe(202);
      expect(a.body.status).toBe('approved');
      const uscc = a.body.result.uscc as string;
      expect(isValidUscc(uscc)).toBe(true);
      expect(parseUscc(uscc)).toMatchObject({
        authority: '9',
        category: '1',
        regionCode: districts[i % districts.length],
      });
      expect(a.body.result.licenseNumber).toMatch(/^\d{15}$/);
      expect(a.body.result.eLicenseUrl).toBe(`${sim.url}/e-license/${uscc}`);
      return uscc;
    });
    expect(new Set(usccs).size).toBe(200);
    expect(new Set(answers.map((a) => a.body.result.licenseNumber)).size).toBe(200);

    const eLicense = await call(answers[0]!.body.result.eLicenseUrl);
    expect(eLicense.body).toMatchObject({ uscc: usccs[0], name: '南昌测试0号有限公司', status: 'valid' });
    expect(JSON.stringify(eLicense.body)).not.toContain('360102199003071236');
    expect((await call(`${sim.url}/e-license/91360113XXXXXXXXXX`)).status).toBe(404);
  });

  it('decides the procedures after the license by their rules', async () => {
    const sim = await simulator({ agencies: Object.fromEntries(AGENCY_IDS.map((a) => [a, { processingMs: 0 }])) });
    const uscc = await registeredUscc(sim, 'reg-chain');
    const region = uscc.slice(2, 8);

    const seal = await file(sim, 'police', 's1', {
      procedure: 'seal_filing',
      payload: { uscc, seals: ['official', 'finance', 'invoice'], electronicSeals: true },
    });
    expect(seal.body.status).toBe('approved');
    expect(seal.body.result.seals.map((s: Json) => s.type)).toEqual(['official', 'finance', 'invoice']);
    expect(new Set(seal.body.result.seals.map((s: Json) => s.recordId)).size).toBe(3);
    expect(seal.body.result.electronicSealIds).toHaveLength(3);

    const tax = await file(sim, 'tax', 't1', {
      procedure: 'taxpayer_registration',
      payload: { uscc, invoiceTypes: ['vat_general_electronic'], taxUkey: true },
    });
    expect(tax.body.result).toMatchObject({
      taxpayerId: uscc,
      invoiceApproval: { types: ['vat_general_electronic'], monthlyQuota: 25, maxAmountCny: 100_000 },
      taxUkeyIssued: true,
    });

    const social = await file(sim, 'hrss', 'h1', {
      procedure: 'social_insurance_registration',
      payload: { uscc, insuredEmployees: 3 },
    });
    expect(social.body.result.employerSocialSecurityNumber).toMatch(new RegExp(`^${region}\\d{10}$`));

    const fund = await file(sim, 'fund', 'f1', {
      procedure: 'fund_account_opening',
      payload: { uscc, depositRatePercent: 12, contributors: 3 },
    });
    expect(fund.body.result.fundAccountNumber).toMatch(new RegExp(`^${region}\\d{12}$`));
    const fundOutOfRange = await file(sim, 'fund', 'f2', {
      procedure: 'fund_account_opening',
      payload: { uscc, depositRatePercent: 4, contributors: 3 },
    });
    expect(fundOutOfRange.body.reason.code).toBe('DEPOSIT_RATE_OUT_OF_RANGE');

    const sealRecordIds = seal.body.result.seals.map((s: Json) => s.recordId);
    const bankPayload = { uscc, bank: 'JXBANK', branch: '红谷滩支行', preferredDate: '2026-03-02', sealRecordIds };
    const bank = await file(sim, 'bank', 'b1', { procedure: 'account_appointment', payload: bankPayload });
    expect(bank.body.result).toMatchObject({ bank: 'JXBANK', branch: '红谷滩支行', slot: { date: '2026-03-02' } });
    expect(bank.body.result.slot.time).toMatch(/^\d{2}:\d{2}$/);
    const nextDay = await file(sim, 'bank', 'b2', {
      procedure: 'account_appointment',
      payload: { ...bankPayload, preferredDate: null },
    });
    const tomorrow = new Date(Date.now() + 8 * 3_600_000 + 86_400_000).toISOString().slice(0, 10);
    expect(nextDay.body.result.slot.date).toBe(tomorrow);
    const noSeals = await file(sim, 'bank', 'b3', {
      procedure: 'account_appointment',
      payload: { ...bankPayload, sealRecordIds: [] },
    });
    expect(noSeals.body.reason.code).toBe('SEALS_MISSING');

    const invalid = uscc.slice(0, 17) + (uscc[17] === '0' ? '1' : '0');
    for (const [agency, procedure, payload] of [
      ['police', 'seal_filing', { uscc: invalid, seals: ['official'], electronicSeals: false }],
      ['tax', 'taxpayer_registration', { uscc: invalid, invoiceTypes: [], taxUkey: false }],
      ['hrss', 'social_insurance_registration', { uscc: invalid, insuredEmployees: 1 }],
      ['fund', 'fund_account_opening', { uscc: invalid, depositRatePercent: 5, contributors: 1 }],
    ] as const) {
      const answer = await file(sim, agency, `bad-${agency}`, { procedure, payload });
      expect(answer.body).toMatchObject({ status: 'rejected', reason: { code: 'USCC_INVALID' } });
    }
  });

  it('when callbacks are dropped, then no callback arrives but polling shows the decision', async () => {
    const sim = await simulator({ agencies: { ...FAST, market: { processingMs: 10, dropCallbackRate: 1 } } });
    const hook = await receiver();
    const filed = await file(sim, 'market', 'drop', { ...nameFiling('南昌丢失回调有限公司'), callbackUrl: hook.url });
    expect((await decided(sim, 'market', filed.body.ticket)).status).toBe('approved');
    // A callback would have been sent with the decision: once none is in flight, none is coming.
    await sim.simulator.settled();
    expect(sim.simulator.callbacks.deliveries).toEqual([]);
    expect(hook.received).toHaveLength(0);
  });

  it('when the receiver fails twice, then the callback is retried with the same body, signed at each attempt, until it is accepted', async () => {
    const sim = await simulator();
    const hook = await receiver(2);
    await file(sim, 'market', 'retry', { ...nameFiling('南昌重试回调有限公司'), callbackUrl: hook.url });
    await waitFor(() => hook.received[2]);
    await sim.simulator.settled();
    expect(hook.received).toHaveLength(3);
    expect(new Set(hook.received.map((r) => r.rawBody)).size).toBe(1);
    for (const r of hook.received) {
      const timestamp = String(r.headers['x-agency-timestamp']);
      expect(r.headers['x-agency-signature']).toBe(signCallback(SECRETS.market, timestamp, r.rawBody));
    }
    expect(sim.simulator.callbacks.deliveries).toEqual([
      expect.objectContaining({ agency: 'market', attempts: 3, outcome: 'delivered' }),
    ]);
  });

  it('when the callback receiver is unreachable, then the simulator gives up after 4 attempts and keeps serving', async () => {
    const sim = await simulator({ agencies: { ...FAST, market: { processingMs: 0 } } });
    const hook = await receiver();
    await hook.close();
    const filed = await file(sim, 'market', 'gone', { ...nameFiling('南昌无人接收有限公司'), callbackUrl: hook.url });
    await sim.simulator.settled();
    expect(sim.simulator.callbacks.deliveries).toEqual([
      expect.objectContaining({ ticket: filed.body.ticket, attempts: 4, outcome: 'failed' }),
    ]);
    expect((await get(sim, 'market', filed.body.ticket)).body.status).toBe('approved');
  });
});

describe('agency simulator: faults and configuration', () => {
  it('when the transient failure rate is 1, then every call answers 503 and nothing is created', async () => {
    const sim = await simulator();
    const filed = await file(sim, 'tax', 'before', {
      procedure: 'taxpayer_registration',
      payload: { uscc: 'x', invoiceTypes: [], taxUkey: false },
    });
    await patchConfig(sim, { agencies: { tax: { transientFailureRate: 1 } } });

    const failed = await file(sim, 'tax', 'during', {
      procedure: 'taxpayer_registration',
      payload: { uscc: 'x', invoiceTypes: [], taxUkey: false },
    });
    expect(failed).toMatchObject({ status: 503, body: { error: { code: 'AGENCY_UNAVAILABLE' } } });
    expect((await get(sim, 'tax', filed.body.ticket)).status).toBe(503);
    expect((await cancel(sim, 'tax', filed.body.ticket)).status).toBe(503);
    expect((await records(sim, '?agency=tax')).body.records).toHaveLength(1);
    expect((await records(sim, '?agency=tax')).body.records[0].status).not.toBe('cancelled');

    await patchConfig(sim, { agencies: { tax: { transientFailureRate: 0 } } });
    const retried = await file(sim, 'tax', 'during', {
      procedure: 'taxpayer_registration',
      payload: { uscc: 'x', invoiceTypes: [], taxUkey: false },
    });
    expect(retried.status).toBe(202);
  });

  it('PATCH /admin/config merges agency settings, replaces lists, hides secrets and refuses unknown fields', async () => {
    const sim = await simulator();
    const before = (await call(`${sim.url}/admin/config`)).body;
    expect(before.callbackSecrets.market).toBe('[redacted]');
    expect(JSON.stringify(before)).not.toContain('secret-of-');
    expect(before.agencies.police).toMatchObject({ processingMs: 20, callbacks: true, rejectAll: false });

    const patched = await patchConfig(sim, {
      agencies: { police: { rejectAll: true } },
      forbiddenNameWords: ['禁词'],
    });
    expect(patched.status).toBe(200);
    expect(patched.body.agencies.police).toMatchObject({ processingMs: 20, rejectAll: true });
    expect(patched.body.forbiddenNameWords).toEqual(['禁词']);
    expect(sim.simulator.config().agencies.police.rejectAll).toBe(true);

    expect((await patchConfig(sim, { agencies: { police: { rejectAlll: true } } })).status).toBe(400);
    expect((await patchConfig(sim, { agencies: { customs: {} } })).status).toBe(400);
    expect((await patchConfig(sim, { agencies: { tax: { transientFailureRate: 2 } } })).status).toBe(400);
    expect((await patchConfig(sim, { seed: 'other' })).status).toBe(400);

    await patchConfig(sim, {
      agencies: { market: { processingMs: 0, rejectProcedures: ['establishment_registration'] } },
    });
    const name = await file(sim, 'market', 'p1', nameFiling('南昌中华禁词有限公司'));
    expect(name.body.reason.code).toBe('NAME_FORBIDDEN_WORD');
    const allowedNow = await file(sim, 'market', 'p2', nameFiling('南昌中华科技有限公司'));
    expect(allowedNow.body.status).toBe('approved');
    const registration = await file(sim, 'market', 'p3', registrationFiling('南昌普通有限公司'));
    expect(registration.body).toMatchObject({ status: 'rejected', reason: { code: 'AGENCY_REJECTED' } });
  });

  it('refuses about the share of filings its rejectionRate says, the same ones for the same seed, and a repeat of a refused filing stays refused', async () => {
    const refusals = async (seed: string) => {
      const sim = await simulator({ seed, agencies: { ...FAST, market: { processingMs: 0, rejectionRate: 0.3 } } });
      const outcomes: string[] = [];
      for (let i = 0; i < 100; i++) {
        const answer = await file(sim, 'market', `r-${i}`, nameFiling(`南昌拒办${i}号科技有限公司`));
        outcomes.push(answer.body.reason?.code ?? answer.body.status);
      }
      const again = await file(
        sim,
        'market',
        `r-${outcomes.indexOf('AGENCY_REJECTED')}`,
        nameFiling('南昌拒办科技有限公司'),
      );
      expect(again.body.reason?.code).toBe('AGENCY_REJECTED');
      return outcomes;
    };
    const first = await refusals('rates');
    const refused = first.filter((o) => o === 'AGENCY_REJECTED').length;
    expect(refused).toBeGreaterThan(15);
    expect(refused).toBeLessThan(45);
    expect(first.filter((o) => o === 'approved').length).toBe(100 - refused);
    expect(await refusals('rates')).toEqual(first);
  });

  it('with the same seed, two simulators give the same tickets, ids and failure rolls for the same requests', async () => {
    const agencies = Object.fromEntries(AGENCY_IDS.map((a) => [a, { processingMs: 0, transientFailureRate: 0.5 }]));
    const run = async (seed: string) => {
      const sim = await simulator({ seed, agencies, publicUrl: 'http://simulator.test' });
      const outcomes: unknown[] = [];
      const send = async (agency: string, key: string, filing: Filing) => {
        for (;;) {
          const answer = await file(sim, agency, key, filing);
          outcomes.push(answer.status);
          if (answer.status !== 503) return answer.body;
        }
      };
      const name = await send('market', 'a:name', nameFiling('南昌种子科技有限公司'));
      const license = await send('market', 'a:license', registrationFiling('南昌种子科技有限公司'));
      const uscc = license.result.uscc as string;
      const seal = await send('police', 'a:seal', {
        procedure: 'seal_filing',
        payload: { uscc, seals: ['official', 'finance'], electronicSeals: true },
      });
      const bank = await send('bank', 'a:bank', {
        procedure: 'account_appointment',
        payload: { uscc, bank: 'ICBC', branch: '八一支行', preferredDate: null, sealRecordIds: ['x'] },
      });
      for (const answer of [name, license, seal, bank]) outcomes.push(answer.ticket, answer.result);
      return JSON.parse(JSON.stringify(outcomes, (key, value) => (/At$/.test(key) ? undefined : value))) as unknown[];
    };
    const first = await run('same');
    const second = await run('same');
    expect(second).toEqual(first);
    expect(first.filter((o) => o === 503).length).toBeGreaterThan(0);
    const other = await run('different');
    expect(other).not.toEqual(first);
  });
});

describe('agency simulator: undo', () => {
  it('when a pending request is cancelled, then it is never decided and no callback is sent', async () => {
    const sim = await simulator({ agencies: { ...FAST, market: { processingMs: 100 } } });
    const hook = await receiver();
    const filed = await file(sim, 'market', 'c1', { ...nameFiling('南昌撤回有限公司'), callbackUrl: hook.url });
    const cancelled = await cancel(sim, 'market', filed.body.ticket, 'applicant withdrew');
    expect(cancelled).toMatchObject({
      status: 200,
      body: { status: 'cancelled', live: false, cancelReason: 'applicant withdrew' },
    });
    expect(cancelled.body.cancelledAt).toEqual(expect.any(String));
    // A request filed after it with the same processing time is decided after it would have been (timers of equal
    // delay fire in order): once that one's callback is in, the cancelled one has had its chance.
    const later = await file(sim, 'market', 'c2', { ...nameFiling('南昌撤回之后有限公司'), callbackUrl: hook.url });
    await decided(sim, 'market', later.body.ticket);
    await sim.simulator.settled();
    expect(hook.received.map((r) => r.json.ticket)).toEqual([later.body.ticket]);
    const after = await get(sim, 'market', filed.body.ticket);
    expect(after.body.status).toBe('cancelled');
    expect(after.body.decidedAt).toBeUndefined();
    expect((await cancel(sim, 'market', filed.body.ticket)).body.status).toBe('cancelled');
  });

  it('when an approved registration is cancelled, then it is revoked, not live, and its e-license says so', async () => {
    const sim = await simulator();
    const filed = await file(sim, 'market', 'r1', registrationFiling('南昌撤销登记有限公司', DISTRICT, 'app-undo'));
    const approved = await decided(sim, 'market', filed.body.ticket);
    expect(approved.status).toBe('approved');

    const revoked = await cancel(sim, 'market', filed.body.ticket);
    expect(revoked.body).toMatchObject({ status: 'revoked', live: false, compensation: 'registration_revoked' });
    expect(revoked.body.result).toEqual(approved.result);
    expect((await cancel(sim, 'market', filed.body.ticket)).body).toMatchObject({
      status: 'revoked',
      cancelledAt: revoked.body.cancelledAt,
    });
    expect((await call(approved.result.eLicenseUrl)).body.status).toBe('revoked');
    expect((await records(sim, '?applicationId=app-undo&live=true')).body.records).toEqual([]);
  });

  it("when a filing quotes a record that is no longer in force, reserves another name or is another application's, then its agency refuses it; ids it never issued are taken on trust", async () => {
    const sim = await simulator({ agencies: Object.fromEntries(AGENCY_IDS.map((a) => [a, { processingMs: 0 }])) });
    const app = 'app-quoted';
    const reserved = await file(sim, 'market', 'q-name', nameFiling('南昌引用记录科技有限公司', app));
    const { reservationId } = reserved.body.result as { reservationId: string };
    const registration = (name: string, key: string, quoted = reservationId) => {
      const filing = registrationFiling(name, DISTRICT, app);
      return file(sim, 'market', key, { ...filing, payload: { ...filing.payload, reservationId: quoted } });
    };

    // The reservation holds one name: a registration under another is refused, naming both.
    const otherName = await registration('南昌别的名称科技有限公司', 'q-reg-other');
    expect(otherName.body).toMatchObject({ status: 'rejected', reason: { code: 'RESERVATION_NAME_MISMATCH' } });
    expect(otherName.body.reason.message_zh).toContain('南昌引用记录科技有限公司');
    const registered = await registration('南昌引用记录科技有限公司', 'q-reg');
    expect(registered.body.status).toBe('approved');
    const { uscc } = registered.body.result as { uscc: string };

    const seal = await file(sim, 'police', 'q-seal', {
      procedure: 'seal_filing',
      applicationId: app,
      payload: { uscc, seals: ['official'], electronicSeals: false },
    });
    const sealRecordIds = (seal.body.result.seals as Json[]).map((s) => s.recordId as string);
    const bankPayload = { uscc, bank: 'JXBANK', branch: '红谷滩支行', preferredDate: null, sealRecordIds };
    const appointment = { procedure: 'account_appointment', applicationId: app, payload: bankPayload };
    expect((await file(sim, 'bank', 'q-bank', appointment)).body.status).toBe('approved');

    // Another application's filings may not quote this one's reservation, USCC or seal records.
    const intruder = 'app-intruder';
    const theirRegistration = registrationFiling('南昌引用记录科技有限公司', DISTRICT, intruder);
    const foreign = [
      await file(sim, 'market', 'q-foreign-reg', {
        ...theirRegistration,
        payload: { ...theirRegistration.payload, reservationId },
      }),
      await file(sim, 'tax', 'q-foreign-tax', {
        procedure: 'taxpayer_registration',
        applicationId: intruder,
        payload: { uscc, invoiceTypes: [], taxUkey: false },
      }),
      await file(sim, 'bank', 'q-foreign-bank', {
        procedure: 'account_appointment',
        applicationId: intruder,
        payload: { ...bankPayload, uscc: buildUscc(DISTRICT, '8XTRUDE1') },
      }),
    ];
    expect(foreign.map((f) => [f.body.status, f.body.reason?.code])).toEqual([
      ['rejected', 'RESERVATION_OF_ANOTHER_APPLICATION'],
      ['rejected', 'REGISTRATION_OF_ANOTHER_APPLICATION'],
      ['rejected', 'SEAL_RECORD_OF_ANOTHER_APPLICATION'],
    ]);

    // A cancelled seal filing's records can no longer go on a signature card.
    await cancel(sim, 'police', seal.body.ticket);
    const afterSeal = await file(sim, 'bank', 'q-bank-2', appointment);
    expect(afterSeal.body).toMatchObject({
      status: 'rejected',
      reason: { code: 'SEAL_RECORD_NOT_IN_FORCE', message_en: expect.stringContaining(sealRecordIds[0]!) },
    });

    // A revoked registration's USCC is refused by every agency that takes one.
    await cancel(sim, 'market', registered.body.ticket);
    for (const [agency, procedure, payload] of [
      ['police', 'seal_filing', { uscc, seals: ['official'], electronicSeals: false }],
      ['tax', 'taxpayer_registration', { uscc, invoiceTypes: [], taxUkey: false }],
      ['hrss', 'social_insurance_registration', { uscc, insuredEmployees: 1 }],
      ['fund', 'fund_account_opening', { uscc, depositRatePercent: 5, contributors: 1 }],
      ['bank', 'account_appointment', { ...bankPayload, sealRecordIds: ['GA-counter-1'] }],
    ] as const) {
      const answer = await file(sim, agency, `q-revoked-${agency}`, { procedure, applicationId: app, payload });
      expect(answer.body).toMatchObject({ status: 'rejected', reason: { code: 'REGISTRATION_NOT_IN_FORCE' } });
    }

    // A released reservation registers nothing.
    await cancel(sim, 'market', reserved.body.ticket);
    const released = await registration('南昌引用记录科技有限公司', 'q-reg-released');
    expect(released.body).toMatchObject({ status: 'rejected', reason: { code: 'RESERVATION_NOT_HELD' } });

    // What a counter issued offline (a reservation, a USCC, seal records) is not in the simulator's books: taken on
    // trust, as the agency's own counter records would be.
    const counterUscc = buildUscc(DISTRICT, '8CANTER1');
    expect(isValidUscc(counterUscc)).toBe(true);
    expect((await registration('南昌柜台名称科技有限公司', 'q-reg-counter', 'NR-counter')).body.status).toBe(
      'approved',
    );
    const counterBank = await file(sim, 'bank', 'q-bank-counter', {
      procedure: 'account_appointment',
      applicationId: app,
      payload: { ...bankPayload, uscc: counterUscc, sealRecordIds: ['GA-counter-1'] },
    });
    expect(counterBank.body.status).toBe('approved');
  });

  it('when a rejected request is cancelled, then it stays rejected', async () => {
    const sim = await simulator({ agencies: { ...FAST, market: { processingMs: 0 } } });
    const filed = await file(sim, 'market', 'x1', nameFiling('南昌全国有限公司'));
    const answer = await cancel(sim, 'market', filed.body.ticket);
    expect(answer.body).toMatchObject({ status: 'rejected', live: false });
    expect(answer.body.cancelledAt).toBeUndefined();
  });

  it('GET /records filters by application, agency and liveness', async () => {
    const sim = await simulator({ agencies: Object.fromEntries(AGENCY_IDS.map((a) => [a, { processingMs: 0 }])) });
    const a1 = await file(sim, 'market', 'f-1', nameFiling('南昌过滤一号有限公司', 'app-f1'));
    await file(sim, 'market', 'f-2', nameFiling('南昌过滤二号有限公司', 'app-f2'));
    const uscc = await registeredUscc(sim, 'f-3', 'app-f1');
    await file(sim, 'hrss', 'f-4', {
      procedure: 'social_insurance_registration',
      applicationId: 'app-f1',
      payload: { uscc, insuredEmployees: 1 },
    });
    await cancel(sim, 'market', a1.body.ticket);

    const f1 = (await records(sim, '?applicationId=app-f1')).body.records as Json[];
    expect(f1.map((r) => [r.agency, r.status, r.live])).toEqual([
      ['market', 'revoked', false],
      ['market', 'approved', true],
      ['hrss', 'approved', true],
    ]);
    expect(f1[0]).toMatchObject({ procedure: 'name_reservation', idempotencyKey: 'f-1', reference: { step: 'name' } });
    expect(f1[0]).not.toHaveProperty('payload');
    expect((await records(sim, '?applicationId=app-f1&live=true')).body.records).toHaveLength(2);
    expect((await records(sim, '?applicationId=app-f1&live=false&agency=market')).body.records).toHaveLength(1);
    expect((await records(sim, '?agency=market')).body.records).toHaveLength(3);
    expect((await records(sim, '?live=maybe')).status).toBe(400);
    expect((await records(sim, '?agency=customs')).status).toBe(400);
  });
});

describe('agency simulator: standalone environment', () => {
  it('when the simulator closes, then pending decisions never fire', async () => {
    const sim = await simulator({ agencies: { ...FAST, market: { processingMs: 30 } } });
    const filed = await file(sim, 'market', 'close-1', nameFiling('南昌关闭有限公司'));
    await sim.close();
    await sleep(60);
    expect(sim.simulator.store.findByTicket('market', filed.body.ticket)?.status).toBe('pending');
  });

  it('reads the port, seed and secrets from the environment and flags the default secret', () => {
    const defaults = readSimulatorEnv({});
    expect(defaults.options).toMatchObject({ port: 4000, host: '127.0.0.1', seed: 'kaiban' });
    expect(defaults.agenciesOnDefaultSecret).toEqual([...AGENCY_IDS]);

    const configured = readSimulatorEnv({
      SIMULATOR_PORT: '0',
      SIMULATOR_SEED: 's',
      AGENCY_CALLBACK_SECRET: 'shared-secret',
      AGENCY_POLICE_CALLBACK_SECRET: 'police-secret',
      SIMULATOR_PROCESSING_MS: '0',
      SIMULATOR_TRANSIENT_FAILURE_RATE: '0.25',
    });
    expect(configured.options.port).toBe(0);
    expect(configured.options.callbackSecrets).toMatchObject({ market: 'shared-secret', police: 'police-secret' });
    expect(configured.options.agencies?.bank).toEqual({ processingMs: 0, transientFailureRate: 0.25 });
    expect(configured.agenciesOnDefaultSecret).toEqual([]);
    expect(() => readSimulatorEnv({ SIMULATOR_TRANSIENT_FAILURE_RATE: '2' })).toThrow();
  });
});

describe('agency simulator: records kept across a crash', () => {
  let dir: string;
  const processes: NodeProcess[] = [];
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'kaiban-simulator-'));
  });
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.stop('SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  });

  /** The standalone simulator (simulator/main.ts) as its own process, keeping its records in `recordsFile`. */
  async function standalone(recordsFile: string, env: Record<string, string> = {}): Promise<Agencies> {
    const port = await freePort();
    const child = startTsProcess(
      'simulator/main.ts',
      {
        SIMULATOR_PORT: String(port),
        SIMULATOR_SEED: 'crash-seed',
        SIMULATOR_RECORDS_FILE: recordsFile,
        SIMULATOR_PROCESSING_MS: '0',
        LOG_LEVEL: 'warn',
        ...env,
      },
      'simulator',
    );
    processes.push(child);
    const url = `http://127.0.0.1:${port}`;
    await waitForHttp(`${url}/healthz`, child);
    return { url };
  }

  it('when the process is killed and started again on its records file, then every record, key, reserved name and issued code is still there, a filing left pending is decided, and no personal data was on disk', async () => {
    const recordsFile = path.join(dir, 'records.jsonl');
    const first = await standalone(recordsFile);
    const name = await file(first, 'market', 'name-1', nameFiling('南昌持久一号科技有限公司', 'app-1'));
    expect(name.body.status).toBe('approved');
    const registered = await file(first, 'market', 'reg-1', registrationFiling('南昌持久一号科技有限公司'));
    const uscc = registered.body.result.uscc as string;
    expect(isValidUscc(uscc)).toBe(true);
    const undone = await file(first, 'market', 'name-2', nameFiling('南昌撤回科技有限公司', 'app-2'));
    expect((await cancel(first, 'market', undone.body.ticket)).body.status).toBe('revoked');
    // A registration the agency has not decided yet when the process dies: its people carry ID and phone numbers.
    await patchConfig(first, { agencies: { market: { processingMs: 600_000 } } });
    const pending = await file(
      first,
      'market',
      'reg-2',
      registrationFiling('南昌持久二号科技有限公司', DISTRICT, 'app-3'),
    );
    expect(pending.body.status).toBe('pending');
    const before = (await records(first)).body.records as Json[];
    expect(before).toHaveLength(4);

    await processes[0]!.stop('SIGKILL');
    const onDisk = readFileSync(recordsFile, 'utf8');
    expect(onDisk).toContain(pending.body.ticket);
    expect(onDisk).not.toContain('360102199003071236');
    expect(onDisk).not.toContain('13807910001');
    expect(onDisk).not.toContain('张三');
    // A crash in the middle of a write leaves half a line at the end.
    appendFileSync(recordsFile, '{"record":{"agency":"market","tick');

    const second = await standalone(recordsFile);
    // Decided under the new run's settings (decide at once), with the company the filing named.
    const decidedNow = await decided(second, 'market', pending.body.ticket);
    expect(decidedNow).toMatchObject({ status: 'approved', reference: { applicationId: 'app-3' } });
    expect(decidedNow.result.uscc).not.toBe(uscc);
    const after = (await records(second)).body.records as Json[];
    expect(after.map((r) => r.ticket)).toEqual(before.map((r) => r.ticket));
    expect(after.filter((r) => r.ticket !== pending.body.ticket)).toEqual(
      before.filter((r) => r.ticket !== pending.body.ticket),
    );
    // The same key finds the same record: a retried activity files nothing new.
    const again = await file(second, 'market', 'reg-1', registrationFiling('南昌持久一号科技有限公司'));
    expect(again).toMatchObject({ status: 200, body: { ticket: registered.body.ticket } });
    // The name is still held by app-1; the one released before the crash is free.
    const taken = await file(second, 'market', 'name-3', nameFiling('南昌持久一号科技有限公司', 'app-4'));
    expect(taken.body).toMatchObject({ status: 'rejected', reason: { code: 'NAME_TAKEN' } });
    const released = await file(second, 'market', 'name-4', nameFiling('南昌撤回科技有限公司', 'app-5'));
    expect(released.body.status).toBe('approved');
    expect((await call(`${second.url}/e-license/${uscc}`)).body).toMatchObject({ uscc, status: 'valid' });
    // An undo after the restart finds the record it undoes.
    const revoked = await cancel(second, 'market', name.body.ticket);
    expect(revoked).toMatchObject({ status: 200, body: { status: 'revoked', compensation: 'name_released' } });
    expect((await records(second, '?live=true')).body.records).toHaveLength(3); // reg-1, reg-2, name-4
  });

  it('when the process is killed and started again, then a notification repeated under its key is answered as the first, not sent again, and its content never reached the disk', async () => {
    const recordsFile = path.join(dir, 'records.jsonl');
    const first = await standalone(recordsFile);
    const notification = {
      notificationId: 'NTF-app-9',
      applicationId: 'app-9',
      event: 'business-started',
      to: { name: '张三', phone: '13807910001', email: 'zhangsan@example.com' },
      message: { zh: '张三，您申办的企业已全部办结。', en: 'Every procedure is done.' },
    };
    const send = (agencies: Agencies) =>
      call(`${agencies.url}/notifications`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'NTF-app-9' },
        body: JSON.stringify(notification),
      });
    const taken = await send(first);
    expect(taken.status).toBe(201);
    await processes[0]!.stop('SIGKILL');
    const onDisk = readFileSync(recordsFile, 'utf8');
    expect(onDisk).toContain('NTF-app-9');
    for (const personal of ['张三', '13807910001', '138****0001', 'zhangsan', '办结'])
      expect(onDisk).not.toContain(personal);

    const second = await standalone(recordsFile);
    // The attempt retried across the restart: the same receipt, no second message.
    expect(await send(second)).toEqual({ status: 200, body: taken.body });
    const listed = await call(`${second.url}/notifications?applicationId=app-9`);
    expect(listed.body.notifications).toEqual([{ ...(taken.body as Json), applicationId: 'app-9' }]);
    // And again on the file as that start rewrote it (compactly).
    await processes[1]!.stop('SIGKILL');
    const third = await standalone(recordsFile);
    expect(await send(third)).toEqual({ status: 200, body: taken.body });

    // An outage of the platform is a setting: 503 while it lasts, the notification taken after it.
    expect((await patchConfig(third, { messagePlatform: {} })).status).toBe(400);
    await patchConfig(third, { messagePlatform: { available: false } });
    const down = await call(`${third.url}/notifications`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'NTF-app-10' },
      body: JSON.stringify({ ...notification, notificationId: 'NTF-app-10', applicationId: 'app-10' }),
    });
    expect(down).toMatchObject({ status: 503, body: { error: { code: 'PLATFORM_UNAVAILABLE' } } });
    await patchConfig(third, { messagePlatform: { available: true } });
    const up = await call(`${third.url}/notifications`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'NTF-app-10' },
      body: JSON.stringify({ ...notification, notificationId: 'NTF-app-10', applicationId: 'app-10' }),
    });
    expect(up.status).toBe(201);
  });

  it('when the records file cannot be written, then the agency answers 503 and keeps nothing; a retry files exactly one record, and an undo not kept leaves the record live', async () => {
    const recordsFile = path.join(dir, 'full-disk.jsonl');
    const sim = await simulator({
      recordsFile,
      agencies: Object.fromEntries(AGENCY_IDS.map((a) => [a, { processingMs: 0 }])),
    });
    // The disk fills up: every write to the records file fails with ENOSPC, as the kernel reports it.
    const full = jest.spyOn(fs, 'writeSync').mockImplementation(() => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    });
    const refused = await file(sim, 'market', 'full-1', nameFiling('南昌满盘科技有限公司', 'app-full'));
    expect(refused).toMatchObject({ status: 503, body: { error: { code: 'RECORDS_UNAVAILABLE' } } });
    expect((await records(sim, '?applicationId=app-full')).body.records).toEqual([]);
    full.mockRestore();

    // The retry under the same key files one record, decided as usual.
    const filed = await file(sim, 'market', 'full-1', nameFiling('南昌满盘科技有限公司', 'app-full'));
    expect(filed).toMatchObject({ status: 202, body: { status: 'approved' } });
    expect((await records(sim, '?applicationId=app-full')).body.records).toHaveLength(1);

    // An undo that cannot be kept is not done: the reservation stays live, in memory and after a restart.
    const fullAgain = jest.spyOn(fs, 'writeSync').mockImplementation(() => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    });
    const undo = await cancel(sim, 'market', filed.body.ticket);
    expect(undo).toMatchObject({ status: 503, body: { error: { code: 'RECORDS_UNAVAILABLE' } } });
    expect((await get(sim, 'market', filed.body.ticket)).body).toMatchObject({ status: 'approved', live: true });
    fullAgain.mockRestore();
    await sim.close();

    const again = await simulator({ recordsFile, agencies: { ...FAST, market: { processingMs: 0 } } });
    const kept = (await records(again, '?applicationId=app-full')).body.records as Json[];
    expect(kept.map((r) => [r.ticket, r.status])).toEqual([[filed.body.ticket, 'approved']]);
    expect((await cancel(again, 'market', filed.body.ticket)).body).toMatchObject({ status: 'revoked', live: false });

    // A decision that cannot be written (here taken at once, in the filing's call) is not taken: the filing is
    // answered pending, and decided a second later.
    const write = fs.writeSync.bind(fs);
    const noDecisions = jest.spyOn(fs, 'writeSync').mockImplementation((fd, data, ...rest) => {
      if (String(data).includes('"decidedAt"'))
        throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
      return (write as (...args: unknown[]) => number)(fd, data, ...rest);
    });
    const undecided = await file(again, 'market', 'full-2', nameFiling('南昌满盘二号科技有限公司', 'app-full'));
    expect(undecided).toMatchObject({ status: 202, body: { status: 'pending' } });
    noDecisions.mockRestore();
    expect(await decided(again, 'market', undecided.body.ticket)).toMatchObject({ status: 'approved' });

    // One failed write of an id the decision draws (a reservation number): no rejection of the agency's, the same.
    let hiccups = 0;
    const hiccup = jest.spyOn(fs, 'writeSync').mockImplementation((fd, data, ...rest) => {
      if (String(data).includes('"space":"reservation"') && hiccups++ === 0) {
        throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
      }
      return (write as (...args: unknown[]) => number)(fd, data, ...rest);
    });
    const drawn = await file(again, 'market', 'full-3', nameFiling('南昌满盘三号科技有限公司', 'app-full'));
    expect(drawn).toMatchObject({ status: 202, body: { status: 'pending' } });
    expect(await decided(again, 'market', drawn.body.ticket)).toMatchObject({ status: 'approved' });
    expect(hiccups).toBeGreaterThan(1);
    hiccup.mockRestore();

    // The undo of a filing still pending that cannot be kept leaves it pending, its decision still to come.
    await patchConfig(again, { agencies: { police: { processingMs: 300 } } });
    const seal = await file(again, 'police', 'full-seal', {
      procedure: 'seal_filing',
      applicationId: 'app-full',
      payload: { uscc: buildUscc(DISTRICT, '8CANTER1'), seals: ['official'], electronicSeals: false },
    });
    expect(seal.body.status).toBe('pending');
    const noUndo = jest.spyOn(fs, 'writeSync').mockImplementation(() => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    });
    expect((await cancel(again, 'police', seal.body.ticket)).status).toBe(503);
    noUndo.mockRestore();
    expect(await decided(again, 'police', seal.body.ticket)).toMatchObject({ status: 'approved' });
  });

  it('when records change many times, then the file is compacted along the way and still reads back to the latest state', () => {
    const recordsFile = path.join(dir, 'busy.jsonl');
    const store = new RecordStore(recordsFile, { compactAfterLines: 10 });
    const record = addPendingReservation(store, 'BUSY', '南昌繁忙科技有限公司');
    // The file as a restart would read it: each ticket's last record line.
    const inFile = () => {
      const lines = readFileSync(recordsFile, 'utf8').trim().split('\n');
      const records = new Map<string, AgencyRecord>();
      for (const line of lines.map((l) => JSON.parse(l) as { record?: AgencyRecord })) {
        if (line.record) records.set(line.record.ticket, line.record);
      }
      return { lines: lines.length, records };
    };
    const sizes = new Set<number>();
    for (let i = 0; i < 100; i++) {
      store.update(record, { cancelReason: `change ${i}` });
      // Every change is in the file when the call returns, the one that set off a compaction too.
      const file = inFile();
      expect(file.records.get('MARKET-BUSY')?.cancelReason).toBe(`change ${i}`);
      sizes.add(file.lines);
    }
    expect(Math.min(...sizes)).toBeLessThan(5); // compacted along the way (at most 2 × 1 + 10 + 1 lines between)
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2 * 1 + 10 + 1);
    // New records and drawn ids alike, compacting after every change.
    const eager = new RecordStore(path.join(dir, 'eager.jsonl'), { compactAfterLines: 0 });
    const tickets = ['A', 'B', 'C'].map((t) => eager.unique('ticket', () => `MARKET-${t}`));
    const input = {
      procedure: 'name_reservation',
      payload: { companyName: '南昌逐条科技有限公司', district: DISTRICT, entityType: 'limited_liability_company' },
    } as const;
    for (const ticket of tickets) eager.add({ ...record, ticket, idempotencyKey: ticket }, input);
    eager.close();
    const eagerFile = new RecordStore(path.join(dir, 'eager.jsonl'));
    expect(eagerFile.list().map((r) => r.ticket)).toEqual(tickets);
    expect(eagerFile.unique('ticket', (n) => ['MARKET-A', 'MARKET-B', 'MARKET-C', 'MARKET-D'][n]!)).toBe('MARKET-D');
    eagerFile.close();
    store.close();
    const readBack = new RecordStore(recordsFile);
    expect(readBack.findByTicket('market', 'MARKET-BUSY')).toMatchObject({
      cancelReason: 'change 99',
      status: 'pending',
    });
    expect(readBack.pending().map((p) => p.input.procedure)).toEqual(['name_reservation']);
    readBack.close();
  });

  it('when a compaction fails, then it is reported, the file keeps every change, and a later compaction succeeds', () => {
    const recordsFile = path.join(dir, 'stuck.jsonl');
    const failures: unknown[] = [];
    const store = new RecordStore(recordsFile, { compactAfterLines: 2, compactionFailed: (err) => failures.push(err) });
    const record = addPendingReservation(store, 'STUCK', '南昌卡壳科技有限公司');
    const lines = () => readFileSync(recordsFile, 'utf8').trim().split('\n').length;
    // The rewrite cannot replace the file (a read-only directory, say): the change is kept, the failure told.
    const stuck = jest.spyOn(fs, 'renameSync').mockImplementation(() => {
      throw Object.assign(new Error('EROFS: read-only file system, rename'), { code: 'EROFS' });
    });
    for (let i = 0; i < 4; i++) store.update(record, { cancelReason: `change ${i}` });
    stuck.mockRestore();
    expect(failures).toEqual([expect.objectContaining({ code: 'EROFS' })]);
    expect(lines()).toBe(5); // the first line and four changes: nothing compacted, nothing lost
    // As many lines again, and the next compaction goes through.
    for (let i = 4; i < 10; i++) store.update(record, { cancelReason: `change ${i}` });
    expect(failures).toHaveLength(1);
    expect(lines()).toBeLessThan(5);
    store.close();
    const readBack = new RecordStore(recordsFile);
    expect(readBack.findByTicket('market', 'MARKET-STUCK')?.cancelReason).toBe('change 9');
    readBack.close();
  });

  it('when a line before the last is not JSON, then the store refuses the file by name and line', () => {
    const recordsFile = path.join(dir, 'damaged.jsonl');
    writeFileSync(recordsFile, '{"space":"ticket","ids":["MARKET-1"]}\nnot json\n{"space":"ticket","ids":[]}\n');
    expect(() => new RecordStore(recordsFile)).toThrow(`${recordsFile}:2: not valid JSON`);
    expect(readFileSync(recordsFile, 'utf8')).toContain('not json'); // left as it was, for a person to look at
  });
});
