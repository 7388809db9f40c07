/**
 * The SLA as operators and supervisors see it, on the Temporal dev server (real time, real visibility with Kaiban's
 * search attributes) through the HTTP API: the level and breached scopes as search attributes (list filter, stats),
 * the alert counters and the open-applications gauge at GET /metrics, the live figures of GET /v1/applications/:id,
 * the calculator and the calendar's readiness.
 *
 * Real time cannot wait hours, so this test configures minute-scale budgets, office hours round the clock and a
 * calendar in which every day of this year and the next is a working day (a file through SLA_CALENDAR_FILE).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ScheduleData } from '../domain/calendar';
import type { ApplicationStatus } from '../domain/status';
import { dueAtKey } from '../infra/search-attributes';
import { authHeaders } from './helpers/auth';
import { freshApplication } from './helpers/fixtures';
import { eventually } from './helpers/sla-world';
import { startStack, type Stack } from './helpers/stack';
import { startDevServer } from './helpers/temporal';

let env: TestWorkflowEnvironment;
let stack: Stack;

/** Every weekend day a make-up working day, no holidays: every day works. */
function everyDayWorks(): string {
  const year = new Date(Date.now() + 8 * 3_600_000).getUTCFullYear();
  const data: ScheduleData = {
    years: [year, year + 1].map((y) => ({
      year: y,
      notice: { number: 'TEST', title: 'every day works (test data)', publishedOn: `${y - 1}-11-01`, url: 'test:' },
      holidays: [],
      makeUpWorkingDays: weekends(y),
    })),
  };
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'kaiban-sla-')), 'every-day.json');
  writeFileSync(file, JSON.stringify(data));
  return file;
}

function weekends(year: number): { date: string; for: string }[] {
  const days = [];
  for (let t = Date.UTC(year, 0, 1); t < Date.UTC(year + 1, 0, 1); t += 86_400_000) {
    const d = new Date(t);
    if (d.getUTCDay() === 0 || d.getUTCDay() === 6) days.push({ date: d.toISOString().slice(0, 10), for: 'test' });
  }
  return days;
}

beforeAll(async () => {
  env = await startDevServer();
  stack = await startStack(env, {
    env: {
      SLA_CALENDAR_FILE: everyDayWorks(),
      SLA_OFFICE_HOURS: '00:00-24:00',
      // The application is due 12 s after acceptance (warning at 9 s: the first reads, seconds after acceptance on a
      // loaded machine, still find it on track), the seal 3 s after it starts.
      SLA_BUDGETS: JSON.stringify({ application: 12 / 3600, seal: 3 / 3600 }),
    },
    // Public security never decides: the seal step stays open, the application breaches and goes on.
    simulator: { agencies: { police: { processingMs: 600_000 } } },
  });
});

afterAll(async () => {
  await stack?.close();
  await env?.teardown();
});

async function get(pathname: string, role: 'operator' | 'supervisor' = 'supervisor') {
  const res = await fetch(`${stack.api.url}${pathname}`, { headers: await authHeaders(role) });
  const text = await res.text();
  return {
    status: res.status,
    text,
    body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined,
  };
}

/** Submits a fresh application as an applicant; resolves once its SLA clock runs. */
async function submitAndWaitForClock(): Promise<{ id: string; status: ApplicationStatus }> {
  const submitted = await fetch(`${stack.api.url}/v1/applications`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(await authHeaders('applicant')) },
    body: JSON.stringify(freshApplication()),
  });
  expect(submitted.status).toBe(202);
  const { id } = (await submitted.json()) as { id: string };
  const running = await eventually(
    () => get(`/v1/applications/${id}`),
    (r) => r.body?.sla?.state === 'running',
  );
  return { id, status: running.body as ApplicationStatus };
}

/** Aborts an application the test leaves running. */
async function abort(id: string): Promise<void> {
  await fetch(`${stack.api.url}/v1/applications/${id}/abort`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(await authHeaders('operator')) },
    body: JSON.stringify({ reason: 'test cleanup' }),
  });
}

describe('the SLA through the API, on a real Temporal server', () => {
  it('a breached application shows up in the filters, the stats and the metrics, and its status figures are live', async () => {
    const { id, status: early } = await submitAndWaitForClock();
    expect(early.sla?.application).toMatchObject({ level: 'on_track', committedBudget: { workingMs: 12_000 } });
    // The API brings the running clocks to its own now: two reads a second apart differ by about a second.
    await new Promise((r) => setTimeout(r, 1000));
    const later = (await get(`/v1/applications/${id}`)).body as ApplicationStatus;
    expect(later.sla!.application!.elapsedWorkingMs - early.sla!.application!.elapsedWorkingMs).toBeGreaterThanOrEqual(
      900,
    );

    const listed = await eventually(
      () => get('/v1/applications?sla=breached', 'operator'),
      (r) =>
        r.body?.items?.some(
          (i: { id: string; breached: string[] }) => i.id === id && i.breached.includes('application'),
        ),
      30_000,
    );
    expect(listed.body.items.find((i: { id: string }) => i.id === id)).toMatchObject({
      status: 'running',
      slaLevel: 'breached',
      breached: expect.arrayContaining(['application', 'seal']),
      dueAt: expect.any(String),
    });

    const status = (await get(`/v1/applications/${id}`)).body as ApplicationStatus;
    expect(status.sla?.alerts.map((a) => `${a.scope}:${a.level}`).sort()).toEqual([
      'application:breached',
      'application:warning',
      'seal:breached',
      'seal:warning',
    ]);
    expect(status.status).toBe('running'); // a breach never stops the application

    const stats = await eventually(
      () => get('/v1/stats'),
      (r) => (r.body?.breachesByScope?.application ?? 0) >= 1,
    );
    expect(stats.body.openBySlaLevel.breached).toBeGreaterThanOrEqual(1);

    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/kaiban_sla_alerts_total\{level="breached",scope="application"\} [1-9]/);
    expect(metrics.text).toMatch(/kaiban_sla_alerts_total\{level="warning",scope="seal"\} [1-9]/);
    expect(metrics.text).toMatch(/kaiban_sla_open_applications\{level="breached"\} [1-9]/);
    expect((await fetch(`${stack.api.url}/metrics`)).status).toBe(401); // staff only

    await abort(id);
  });

  it('an application submitted through the API starts with its search attributes, so its acceptance writes no upsert', async () => {
    const { id, status } = await submitAndWaitForClock();

    const handle = env.client.workflow.getHandle(id);
    const events = (await handle.fetchHistory()).events ?? [];
    const fieldsOf = (indexed: Record<string, unknown> | null | undefined) => Object.keys(indexed ?? {}).sort();
    // Set by the API when it started the workflow: running, district, name, on track, the provisional deadline, and
    // the submitter's digest (an applicant's own list).
    expect(fieldsOf(events[0]!.workflowExecutionStartedEventAttributes!.searchAttributes?.indexedFields)).toEqual([
      'KaibanCompanyName',
      'KaibanDistrict',
      'KaibanDueAt',
      'KaibanOwner',
      'KaibanSlaLevel',
      'KaibanStatus',
    ]);
    // Any upsert comes from the SLA clock later (an alert changes the level), never a repeat of the start's values.
    for (const event of events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes)) {
      expect(fieldsOf(event.upsertWorkflowSearchAttributesEventAttributes!.searchAttributes?.indexedFields)).toEqual([
        'KaibanBreached',
        'KaibanDueAt',
        'KaibanSlaLevel',
      ]);
    }
    // The deadline operators filter on is within a minute of the one counted from acceptance.
    const listedDue = (await handle.describe()).typedSearchAttributes.get(dueAtKey);
    expect(listedDue).toBeDefined();
    const dueAt = Date.parse(status.sla!.application!.dueAt!);
    expect(Math.abs(listedDue!.getTime() - dueAt)).toBeLessThan(60_000);

    await abort(id);
  });

  it('serves the due-date calculator and reports the calendar in /readyz', async () => {
    const due = await fetch(`${stack.api.url}/v1/calendar/due?from=2026-02-13T16:00:00%2B08:00&hours=7`);
    expect(due.status).toBe(200);
    const ready = (await (await fetch(`${stack.api.url}/readyz`)).json()) as {
      ready: boolean;
      calendar: { ready: boolean; coveredYears: number[]; issues: unknown[] };
    };
    expect(ready).toMatchObject({ ready: true, calendar: { ready: true } });
    expect(ready.calendar.coveredYears).toContain(new Date().getUTCFullYear());
  });
});
