import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { calendarRouter } from '../api/routes/calendar';
import { createOfficialCalendar as createWorkingCalendar } from '../domain/calendar/official';
import { schemaProblems } from './helpers/openapi';

let server: Server;
let baseUrl: string;

beforeAll(async () => {
  const app = express();
  app.use(calendarRouter(createWorkingCalendar()));
  server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
});

async function due(query: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}/v1/calendar/due?${query}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const DEFAULT_OFFICE_HOURS = [
  { start: '09:00', end: '12:00' },
  { start: '13:30', end: '17:30' },
];

describe('GET /v1/calendar/due', () => {
  it('when asked for 7 h from the eve of the Spring Festival, then it is due on the make-up Saturday, both rules shown', async () => {
    const { status, body } = await due('from=2026-02-13T16:00:00%2B08:00&hours=7');
    expect(status).toBe(200);
    expect(body).toEqual({
      from: '2026-02-13T16:00:00+08:00',
      hours: 7,
      rule: 'working-time',
      due: '2026-02-14T16:00:00+08:00',
      workingTimeMs: 7 * 3_600_000,
      officeHours: DEFAULT_OFFICE_HOURS,
      // 次日起算, 1 working day: the make-up Saturday, at its close.
      alternative: { rule: 'next-day', days: 1, due: '2026-02-14T17:30:00+08:00', workingTimeMs: 8.5 * 3_600_000 },
    });
  });

  it('when rule=next-day, then the next-day due comes first and the working-time rule is the alternative', async () => {
    const { status, body } = await due('from=2026-03-13T08:00:00Z&hours=3.5&rule=next-day');
    // 08:00Z = Friday 16:00 in Shanghai; days defaults to ceil(3.5 / 7) = 1 → Monday 17:30.
    expect(status).toBe(200);
    expect(body).toEqual({
      from: '2026-03-13T16:00:00+08:00',
      hours: 3.5,
      rule: 'next-day',
      days: 1,
      due: '2026-03-16T17:30:00+08:00',
      workingTimeMs: 8.5 * 3_600_000,
      officeHours: DEFAULT_OFFICE_HOURS,
      // Friday 16:00 + 3.5 h: 1.5 h Friday, Monday 09:00–11:00.
      alternative: { rule: 'working-time', due: '2026-03-16T11:00:00+08:00', workingTimeMs: 3.5 * 3_600_000 },
    });
  });

  it('when days is given, then it is used for the next-day rule', async () => {
    const { body } = await due('from=2026-10-01T10:00:00%2B08:00&hours=7&rule=next-day&days=3');
    expect(body).toMatchObject({ rule: 'next-day', days: 3, due: '2026-10-10T17:30:00+08:00' });
    expect(body.alternative).toMatchObject({ rule: 'working-time', due: '2026-10-08T17:30:00+08:00' });
  });

  it('when from has no offset, then 400 names the field and the rule', async () => {
    const { status, body } = await due('from=2026-02-13T16:00:00&hours=7');
    expect(status).toBe(400);
    expect(body).toEqual({
      error: {
        code: 'VALIDATION_FAILED',
        message: expect.stringContaining('from:'),
        issues: [{ path: 'from', code: 'INSTANT_INVALID', message: expect.stringMatching(/without an offset/) }],
      },
    });
  });

  it("when the offset's '+' is not URL-encoded, then the message says how to fix it", async () => {
    const { status, body } = await due('from=2026-02-13T16:00:00+08:00&hours=7');
    expect(status).toBe(400);
    expect(JSON.stringify(body)).toContain('%2B');
  });

  it('lists every problem of the query at once', async () => {
    const { status, body } = await due('from=yesterday&hours=0&rule=fast&color=red');
    expect(status).toBe(400);
    // The API's one error shape, as the OpenAPI document declares it.
    expect(schemaProblems('Error', body)).toEqual([]);
    const issues = (body.error as { issues: Array<{ path: string; code: string }> }).issues;
    expect(issues.map((i) => [i.path, i.code]).sort()).toEqual([
      ['color', 'UNKNOWN_FIELD'],
      ['from', 'INSTANT_INVALID'],
      ['hours', 'HOURS_INVALID'],
      ['rule', 'RULE_INVALID'],
    ]);
  });

  it.each([
    ['hours=7', 'from', 'INSTANT_INVALID'],
    ['from=2026-03-13T08:00:00Z', 'hours', 'HOURS_INVALID'],
    ['from=2026-03-13T08:00:00Z&hours=10000.5', 'hours', 'HOURS_INVALID'],
    ['from=2026-03-13T08:00:00Z&hours=-1', 'hours', 'HOURS_INVALID'],
    ['from=2026-03-13T08:00:00Z&hours=7&hours=8', 'hours', 'HOURS_INVALID'],
    ['from=2026-03-13T08:00:00Z&hours=7&days=2', 'days', 'DAYS_INVALID'],
    ['from=2026-03-13T08:00:00Z&hours=7&rule=next-day&days=0', 'days', 'DAYS_INVALID'],
  ])('rejects %s on field %s', async (query, field, code) => {
    const { status, body } = await due(query);
    expect(status).toBe(400);
    expect((body.error as { issues: unknown[] }).issues).toEqual([expect.objectContaining({ path: field, code })]);
  });

  it('when the answer needs a year without data, then 422 CALENDAR_YEAR_MISSING', async () => {
    const { status, body } = await due('from=2026-12-31T16:00:00%2B08:00&hours=7');
    expect(status).toBe(422);
    expect(body).toEqual({
      error: {
        code: 'CALENDAR_YEAR_MISSING',
        message: expect.stringMatching(/^No official holiday schedule for 2027; add it to /),
        year: 2027,
      },
    });
  });

  it('when only the alternative rule needs a missing year, then the chosen rule still answers', async () => {
    const { status, body } = await due('from=2026-12-31T10:00:00%2B08:00&hours=1');
    expect(status).toBe(200);
    expect(body.due).toBe('2026-12-31T11:00:00+08:00');
    expect(body.alternative).toEqual({
      rule: 'next-day',
      error: { code: 'CALENDAR_YEAR_MISSING', message: expect.stringContaining('2027') },
    });
  });
});
