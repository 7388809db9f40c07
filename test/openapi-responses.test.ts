/**
 * Answers of the real app checked against the OpenAPI document (test/helpers/openapi.ts), where no Temporal server is
 * needed to get them: the due-date calculator's, and an agency's callback refused for its body (refused before the
 * app calls Temporal; the client below never connects).
 */
import { createHmac } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@temporalio/client';
import { createApp } from '../api/app';
import { loadConfig } from '../config';
import { AGENCY_IDS, type AgencyId } from '../domain/steps';
import { createLogger } from '../observability/logger';
import { apiSecurityFromConfig } from '../security';
import { securityTestEnv } from './helpers/auth';
import { schemaProblems } from './helpers/openapi';

const SECRET = 'openapi-responses-callback-secret';
let client: Client;
let server: Server;
let url: string;

beforeAll(async () => {
  client = new Client();
  const app = createApp({
    client,
    taskQueue: 'openapi-responses',
    logger: createLogger({ level: 'silent' }),
    agencyCallbackSecrets: Object.fromEntries(AGENCY_IDS.map((a) => [a, SECRET])) as Record<AgencyId, string>,
    security: apiSecurityFromConfig(loadConfig({ ...process.env, ...securityTestEnv() })),
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await client?.connection.close();
});

async function due(query: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${url}/v1/calendar/due?${query}`);
  return { status: res.status, body: await res.json() };
}

describe('GET /v1/calendar/due', () => {
  it('answers as CalendarDue, the other rule beside the one asked for', async () => {
    const { status, body } = await due('from=2026-03-13T16:00:00%2B08:00&hours=7&rule=next-day');
    expect(status).toBe(200);
    expect(body).toMatchObject({ rule: 'next-day', days: 1, alternative: { rule: 'working-time' } });
    expect(schemaProblems('CalendarDue', body)).toEqual([]);
  });

  it("answers as CalendarDue when only the other rule needs a year without data: that rule's error in its place", async () => {
    const { status, body } = await due('from=2026-12-31T10:00:00%2B08:00&hours=1');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      rule: 'working-time',
      alternative: { rule: 'next-day', error: { code: 'CALENDAR_YEAR_MISSING' } },
    });
    expect(schemaProblems('CalendarDue', body)).toEqual([]);
  });
});

describe('POST /v1/agency-callbacks/{agency}', () => {
  it('when a signed callback is not a callback body, then 400 CALLBACK_INVALID with issues naming each field and rule, in English', async () => {
    const raw = JSON.stringify({ ticket: '', status: 'maybe', reference: { applicationId: 7, step: 'name' } });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = `sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${raw}`).digest('hex')}`;
    const res = await fetch(`${url}/v1/agency-callbacks/market`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-agency-timestamp': timestamp, 'x-agency-signature': signature },
      body: raw,
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string; issues: unknown[] } };
    expect(schemaProblems('Error', body)).toEqual([]);
    expect(body.error.code).toBe('CALLBACK_INVALID');
    expect(body.error.message).toContain('→ at reference.applicationId');
    expect(body.error.issues).toEqual([
      { path: 'ticket', code: 'TOO_SHORT', message: expect.any(String) },
      { path: 'status', code: 'NOT_ALLOWED_VALUE', message: expect.stringContaining('must be one of') },
      { path: 'reference.applicationId', code: 'INVALID_TYPE', message: 'wrong type, expected string' },
    ]);
  });
});
