/**
 * The operator's HTTP API on the Temporal dev server (real visibility with Kaiban's search
 * attributes): list with filters and paging, dashboard counts, and actions over HTTP.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ApplicationStatus, ApplicationSummary } from '../domain/status';
import { freshApplication } from './helpers/fixtures';
import { startStack, type Stack } from './helpers/stack';
import { startDevServer } from './helpers/temporal';
import { authHeaders } from './helpers/auth';
import { schemaProblems } from './helpers/openapi';
import { readFileSync } from 'node:fs';
import { createWorkingCalendar, type ScheduleData } from '../domain/calendar';
import { OFFICIAL_SCHEDULES } from '../domain/calendar/official';
import { mergeSchedules, parseOfficeHours } from '../config/sla';
import { workingDaysCalendarFile } from './helpers/sla-realtime';

let env: TestWorkflowEnvironment;
let stack: Stack;

beforeAll(async () => {
  env = await startDevServer();
  stack = await startStack(env);
});

afterAll(async () => {
  await stack?.close();
  await env?.teardown();
});

/** A request to the API at `apiUrl`, as an operator: its status and its body, parsed. */
async function callAt(
  apiUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${apiUrl}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(await authHeaders('operator')),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  callAt(stack.api.url, method, path, body, headers);

async function submit(edit?: Parameters<typeof freshApplication>[0]) {
  const app = freshApplication(edit);
  const res = await fetch(`${stack.api.url}/v1/applications`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(await authHeaders('applicant')) },
    body: JSON.stringify(app),
  });
  expect(res.status).toBe(202);
  return { id: ((await res.json()) as { id: string }).id, app };
}

async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Answers as the OpenAPI document describes them (test/helpers/openapi.ts).
const statusOf = (id: string) =>
  call('GET', `/v1/applications/${id}`).then((r) => {
    expect(schemaProblems('ApplicationStatus', r.body)).toEqual([]);
    return r.body as ApplicationStatus;
  });
const list = (query: string) =>
  call('GET', `/v1/applications?${query}`).then((r) => {
    expect(schemaProblems('ApplicationPage', r.body)).toEqual([]);
    return r.body as {
      items: { id: string; status: string; pendingTasks: string[]; companyName?: string; district?: string }[];
      nextPageToken: string | null;
    };
  });

/** An application whose name holds `word` (a manual review), sent back by the operator to correct `fields`. */
async function sentBackForCorrection(word: string, reason: string, fields: string[]) {
  const submitted = await submit((a) => void (a.company.name = a.company.name.replace('科技', word)));
  await until(
    () => statusOf(submitted.id),
    (s) => s.pendingTasks.includes('review'),
  );
  const asked = await call('POST', `/v1/applications/${submitted.id}/review`, {
    decision: 'request_correction',
    reason,
    fields,
  });
  expect(asked.status).toBe(200);
  await until(
    () => statusOf(submitted.id),
    (s) => s.pendingTasks.includes('correction'),
  );
  return submitted;
}

describe('operator API', () => {
  let standard: { id: string; app: ReturnType<typeof freshApplication> };
  let review: { id: string; app: ReturnType<typeof freshApplication> };
  let elsewhere: { id: string; app: ReturnType<typeof freshApplication> };

  beforeAll(async () => {
    standard = await submit();
    review = await submit((a) => void (a.company.name = a.company.name.replace('科技', '投资')));
    elsewhere = await submit((a) => {
      a.company.district = '360102';
      a.company.address = '八一大道1号';
    });
    await until(
      () => statusOf(standard.id),
      (s) => s.status === 'completed',
    );
    await until(
      () => statusOf(elsewhere.id),
      (s) => s.status === 'completed',
    );
    await until(
      () => statusOf(review.id),
      (s) => s.pendingTasks.includes('review'),
    );
  });

  it('lists applications waiting for review, and only those', async () => {
    const page = await until(
      () => list('task=review'),
      (p) => p.items.length >= 1,
    );
    expect(page.items.map((i) => i.id)).toEqual([review.id]);
    expect(page.items[0]).toMatchObject({
      status: 'running',
      pendingTasks: ['review'],
      companyName: review.app.company.name,
      district: '360113',
    });
  });

  it('filters by status and district, and finds a company by part of its name', async () => {
    const done = await until(
      () => list('status=completed'),
      (p) => p.items.length >= 2,
    );
    expect(done.items.map((i) => i.id).sort()).toEqual([standard.id, elsewhere.id].sort());
    const donghu = await list('district=360102');
    expect(donghu.items.map((i) => i.id)).toEqual([elsewhere.id]);
    const fragment = [...review.app.company.name].slice(2, 6).join('');
    const found = await list(`q=${encodeURIComponent(fragment)}`);
    expect(found.items.map((i) => i.id)).toContain(review.id);
    const byId = await list(`q=${review.id}`);
    expect(byId.items.map((i) => i.id)).toEqual([review.id]);
    // The start of an id, as the console's list shows it (kb- and 8 hex digits, then an ellipsis).
    const shown = `${review.id.slice(0, 11)}…`;
    const byShownId = await list(`q=${encodeURIComponent(shown)}`);
    expect(byShownId.items.map((i) => i.id)).toEqual([review.id]);
  });

  it('finds a name only when it holds every letter and digit of the search', async () => {
    // One clause with all the characters matched ANY of them on SQL visibility: a whole name found every company
    // (all hold 公 and 司), and a character no name holds changed nothing.
    const whole = await list(`q=${encodeURIComponent(review.app.company.name)}`);
    expect(whole.items.map((i) => i.id)).toEqual([review.id]);
    const withAbsent = await list(`q=${encodeURIComponent(`${[...review.app.company.name][2]}龘`)}`);
    expect(withAbsent.items).toEqual([]);
  });

  it('answers 400 naming q for a search with no letter or digit in it', async () => {
    for (const q of ['-', '（）', '·']) {
      const res = await call('GET', `/v1/applications?q=${encodeURIComponent(q)}`);
      expect({ q, status: res.status }).toEqual({ q, status: 400 });
      expect(res.body.error.issues).toEqual([expect.objectContaining({ path: 'q' })]);
    }
  });

  it('pages with pageToken without repeating or losing an application', async () => {
    const first = await list('pageSize=2');
    expect(first.items).toHaveLength(2);
    expect(first.nextPageToken).toEqual(expect.any(String));
    const second = await list(`pageSize=2&pageToken=${first.nextPageToken}`);
    const ids = [...first.items, ...second.items].map((i) => i.id);
    expect(new Set(ids).size).toBe(3);
    expect(ids.sort()).toEqual([standard.id, review.id, elsewhere.id].sort());
  });

  it('rejects bad filters naming the field', async () => {
    const res = await call('GET', '/v1/applications?status=lost&pageSize=1000');
    expect(res.status).toBe(400);
    expect(res.body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual(['pageSize', 'status']);
  });

  it('counts applications for the dashboard', async () => {
    const stats = await until(
      () => call('GET', '/v1/stats').then((r) => r.body),
      (s) => s.byStatus.completed === 2,
    );
    expect(stats).toMatchObject({ total: 3, byStatus: { running: 1, completed: 2, rejected: 0 } });
    expect(Object.keys(stats.breachesByScope)).toEqual(expect.arrayContaining(['application', 'seal', 'bank']));
  });

  it('applies a review decision over HTTP; the same Idempotency-Key returns the first result; a second decision is a 409', async () => {
    const body = { decision: 'approve', reason: '投资咨询，不涉及金融业务' };
    const first = await call('POST', `/v1/applications/${review.id}/review`, body, { 'idempotency-key': 'review-1' });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ accepted: true, action: 'review:approve', actionId: 'review:review-1' });
    const again = await call('POST', `/v1/applications/${review.id}/review`, body, { 'idempotency-key': 'review-1' });
    expect(again.body).toEqual(first.body);
    // The same key with another request is not answered with the first one's result (the new one was dropped).
    const changed = await call(
      'POST',
      `/v1/applications/${review.id}/review`,
      { decision: 'reject', reason: '不予登记' },
      { 'idempotency-key': 'review-1' },
    );
    expect(changed.status).toBe(409);
    expect(changed.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const other = await call('POST', `/v1/applications/${review.id}/review`, body, { 'idempotency-key': 'review-2' });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('NO_REVIEW_PENDING');
    const status = await until(
      () => statusOf(review.id),
      (s) => s.status === 'completed',
    );
    expect(status.audit).toEqual([expect.objectContaining({ action: 'review:approve', reason: body.reason })]);
  });

  it('scopes an Idempotency-Key to its action, and answers a repeat with the first result after the application ended', async () => {
    const pending = await submit((a) => void (a.company.name = a.company.name.replace('科技', '投资')));
    await until(
      () => statusOf(pending.id),
      (s) => s.pendingTasks.includes('review'),
    );
    const key = { 'idempotency-key': `key-${pending.id}` };
    const asked = await call(
      'POST',
      `/v1/applications/${pending.id}/review`,
      { decision: 'request_correction', reason: '经营范围请补充', fields: ['services.businessScope'] },
      key,
    );
    expect(asked.body).toMatchObject({ action: 'review:request_correction' });
    // The same key on another action is that action (it used to return the review's result, and withdrew nothing).
    const applicant = { ...(await authHeaders('applicant')), ...key };
    const withdrawn = await call('POST', `/v1/applications/${pending.id}/withdraw`, {}, applicant);
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body).toMatchObject({ accepted: true, action: 'withdraw' });
    const ended = await until(
      () => statusOf(pending.id),
      (s) => s.status === 'withdrawn',
    );
    expect(ended.audit.map((a) => a.action)).toEqual(['review:request_correction', 'withdraw']);
    // A client that lost the answer repeats the request after the application ended: the first result, not a 409.
    const repeated = await call('POST', `/v1/applications/${pending.id}/withdraw`, {}, applicant);
    expect(repeated.status).toBe(200);
    expect(repeated.body).toEqual({ ...withdrawn.body, status: 'withdrawn' });
    const changed = await call('POST', `/v1/applications/${pending.id}/withdraw`, { reason: '另有安排' }, applicant);
    expect(changed.status).toBe(409);
    expect(changed.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const other = await call('POST', `/v1/applications/${pending.id}/withdraw`, {}, await authHeaders('applicant'));
    expect(other.status).toBe(409);
  });

  it('names the field and the rule when an action body is wrong', async () => {
    const res = await call('POST', `/v1/applications/${review.id}/review`, { decision: 'approved', comment: 'x' });
    expect(res.status).toBe(400);
    expect(res.body.error.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'decision', code: 'NOT_ALLOWED_VALUE' }),
        expect.objectContaining({ path: 'reason', code: 'REQUIRED' }),
        expect.objectContaining({ path: 'comment', code: 'UNKNOWN_FIELD' }),
      ]),
    );
    // A value of the wrong type is not a missing one (both were answered REQUIRED).
    const typed = await call('POST', `/v1/applications/${review.id}/review`, {
      decision: 'approve',
      reason: 5,
      fields: 'company.name',
    });
    expect(typed.status).toBe(400);
    expect(typed.body.error.issues).toEqual([
      expect.objectContaining({ path: 'reason', code: 'INVALID_TYPE', message: '类型错误，应为文本（字符串）' }),
      expect.objectContaining({ path: 'fields', code: 'INVALID_TYPE', message: '类型错误，应为数组' }),
    ]);
  });

  it("names the rule a list filter breaks, listing a task's values", async () => {
    const res = await call('GET', '/v1/applications?pageSize=abc&task=incident:foo&q=---');
    expect(res.status).toBe(400);
    const issues = res.body.error.issues as { path: string; code: string; message: string }[];
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'pageSize', code: 'INVALID_TYPE' }),
        expect.objectContaining({ path: 'task', code: 'NOT_ALLOWED_VALUE' }),
        expect.objectContaining({ path: 'q', code: 'NOTHING_TO_SEARCH' }),
      ]),
    );
    expect(issues.find((i) => i.path === 'task')?.message).toContain('incident:license');
    expect((await call('GET', '/v1/applications?pageSize=1.5')).body.error.issues).toEqual([
      expect.objectContaining({ path: 'pageSize', code: 'NOT_INTEGER' }),
    ]);
  });

  it('answers 400 naming pageToken for a page token the list did not give out, or gave out for other filters', async () => {
    // The server answers a token it cannot read with an internal error: the API checks its own tokens first.
    const made = await call('GET', '/v1/applications?pageToken=AAAA');
    expect(made.status).toBe(400);
    expect(made.body.error.issues).toEqual([
      expect.objectContaining({ path: 'pageToken', code: 'PAGE_TOKEN_INVALID' }),
    ]);
    const token = (await list('pageSize=1')).nextPageToken!;
    expect((await call('GET', `/v1/applications?pageSize=1&pageToken=${token.slice(0, -1)}`)).status).toBe(400);
    const other = await call('GET', `/v1/applications?pageSize=1&status=completed&pageToken=${token}`);
    expect(other.status).toBe(400);
    expect(other.body.error.issues[0].code).toBe('PAGE_TOKEN_INVALID');
    expect((await call('GET', `/v1/applications?pageSize=1&pageToken=${token}`)).status).toBe(200);
    // An empty token is the first page (`pageToken=${next ?? ''}`), as the schema allows.
    const first = await call('GET', '/v1/applications?pageSize=1&pageToken=');
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(1);
  });

  it("lists an applicant's own applications to them, and no one else's, with the filters and paging staff have", async () => {
    const ana = `applicant-ana-${randomUUID()}`;
    const bo = `applicant-bo-${randomUUID()}`;
    const submitAs = async (subject: string) => {
      const res = await fetch(`${stack.api.url}/v1/applications`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(await authHeaders('applicant', subject)) },
        body: JSON.stringify(freshApplication()),
      });
      expect(res.status).toBe(202);
      return ((await res.json()) as { id: string }).id;
    };
    const listAs = async (subject: string, query = '') => {
      const res = await call('GET', `/v1/applications?${query}`, undefined, await authHeaders('applicant', subject));
      if (res.status === 200) expect(schemaProblems('ApplicationPage', res.body)).toEqual([]);
      return res as { status: number; body: { items: { id: string; status: string }[]; nextPageToken: string | null } };
    };
    // Two of hers (a second without a key: what a retry after a lost answer makes), one of his.
    const hers = [await submitAs(ana), await submitAs(ana)].sort();
    const his = await submitAs(bo);
    const ids = (page: { body: { items: { id: string }[] } }) => page.body.items.map((i) => i.id).sort();
    expect(
      ids(
        await until(
          () => listAs(ana, 'pageSize=100'),
          (p) => p.body.items?.length >= 2,
        ),
      ),
    ).toEqual(hers);
    expect(
      ids(
        await until(
          () => listAs(bo),
          (p) => p.body.items?.length >= 1,
        ),
      ),
    ).toEqual([his]);
    // Someone who submitted nothing sees nothing; staff see all three.
    expect((await listAs(`applicant-none-${randomUUID()}`)).body).toEqual({ items: [], nextPageToken: null });
    for (const id of [...hers, his]) expect((await list(`q=${id}`)).items.map((i) => i.id)).toEqual([id]);

    // Filters narrow her own list; a page token is hers alone.
    const done = await until(
      () => listAs(ana, 'status=completed'),
      (p) => p.body.items?.length === 2,
    );
    expect(ids(done)).toEqual(hers);
    expect((await listAs(ana, 'status=withdrawn')).body.items).toEqual([]);
    const firstPage = await listAs(ana, 'pageSize=1');
    expect(firstPage.body.nextPageToken).toEqual(expect.any(String));
    const token = encodeURIComponent(firstPage.body.nextPageToken!);
    const stolen = await listAs(bo, `pageSize=1&pageToken=${token}`);
    expect(stolen.status).toBe(400);
    expect((stolen.body as unknown as { error: { issues: { code: string }[] } }).error.issues[0]!.code).toBe(
      'PAGE_TOKEN_INVALID',
    );
    const secondPage = await listAs(ana, `pageSize=1&pageToken=${token}`);
    expect([...ids(firstPage), ...ids(secondPage)].sort()).toEqual(hers);
  });

  it('answers 409 to withdrawing a completed application, 404 to an unknown one', async () => {
    const completed = await call(
      'POST',
      `/v1/applications/${standard.id}/withdraw`,
      {},
      await authHeaders('applicant'),
    );
    expect(completed.status).toBe(409);
    expect(completed.body.error.code).toBe('APPLICATION_FINISHED');
    const unknown = await call('POST', `/v1/applications/kb-${'0'.repeat(32)}/abort`, { reason: 'x' });
    expect(unknown.status).toBe(404);
  });

  it('lists an application under its corrected district once the applicant moves it', async () => {
    const moving = await sentBackForCorrection('投资', '住所请核实', ['company.district', 'company.address']);
    const moved = await call(
      'POST',
      `/v1/applications/${moving.id}/corrections`,
      { company: { district: '360102', address: '八一大道2号' } },
      await authHeaders('applicant'),
    );
    expect(moved.status).toBe(200);
    // Before, the status said 360102 while the list kept it under its first district.
    const listed = await until(
      () => list('district=360102&pageSize=100'),
      (page) => page.items.some((i) => i.id === moving.id),
    );
    expect(listed.items.find((i) => i.id === moving.id)?.district).toBe('360102');
    await until(
      () => list(`district=${moving.app.company.district}&pageSize=100`),
      (page) => !page.items.some((i) => i.id === moving.id),
    );
  });

  it('validates a correction with the application schema before it reaches the workflow', async () => {
    const pending = await sentBackForCorrection('金融', '名称含金融', ['company.name']);
    const bad = await call(
      'POST',
      `/v1/applications/${pending.id}/corrections`,
      { company: { district: '999999' } },
      await authHeaders('applicant'),
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues).toEqual([
      expect.objectContaining({ path: 'company.district', code: 'DISTRICT_UNKNOWN' }),
    ]);
    // A body that sends no value says nothing: refused, naming what was asked for; the request stays open. (The fields
    // sent as they are would confirm them.)
    for (const nothing of [{}, { company: {} }]) {
      const empty = await call(
        'POST',
        `/v1/applications/${pending.id}/corrections`,
        nothing,
        await authHeaders('applicant'),
      );
      expect(empty.status).toBe(400);
      expect(empty.body.error.issues).toEqual([
        expect.objectContaining({ path: 'company.name', code: 'NOTHING_CHANGED' }),
      ]);
    }
    // What the answers show of a contact number, sent back in the address: refused on what it changes.
    const masked = await call(
      'POST',
      `/v1/applications/${pending.id}/corrections`,
      { company: { address: '红谷滩区丰和中大道1099号 联系人 138****0001' } },
      await authHeaders('applicant'),
    );
    expect(masked.status).toBe(400);
    expect(masked.body.error.issues).toEqual([
      expect.objectContaining({ path: 'company.address', code: 'MASKED_VALUE' }),
    ]);
    expect((await statusOf(pending.id)).pendingTasks).toContain('correction');
    const newName = freshApplication().company.name;
    const good = await call(
      'POST',
      `/v1/applications/${pending.id}/corrections`,
      { company: { name: newName } },
      await authHeaders('applicant'),
    );
    expect(good.status).toBe(200);
    const back = await until(
      () => statusOf(pending.id),
      (s) => s.pendingTasks.includes('review'),
    );
    expect(back.company.name).toBe(newName);
    // No correction asked for now: that is the answer, whatever the body's problems (it was a 400 about them).
    const unasked = await call(
      'POST',
      `/v1/applications/${pending.id}/corrections`,
      { company: { district: '999999' } },
      await authHeaders('applicant'),
    );
    expect(unasked.status).toBe(409);
    expect(unasked.body.error.code).toBe('NO_CORRECTION_PENDING');
    const abort = await call('POST', `/v1/applications/${pending.id}/abort`, { reason: 'test done' });
    expect(abort.status).toBe(200);
    await until(
      () => statusOf(pending.id),
      (s) => s.status === 'aborted',
    );
  });
});

describe('operator API on a calendar of its own (SLA_OFFICE_HOURS)', () => {
  const officeHours = '07:00-21:00';
  // The shipped schedules end with the last published year: from late December the deadline would fall in a year
  // they lack. A calendar file makes the next days working days; the test counts with the same data as the stack.
  const calendarFile = workingDaysCalendarFile(Date.now(), 4);
  const schedules = mergeSchedules(OFFICIAL_SCHEDULES, JSON.parse(readFileSync(calendarFile, 'utf8')) as ScheduleData);
  let custom: Stack;

  beforeAll(async () => {
    custom = await startStack(env, { env: { SLA_OFFICE_HOURS: officeHours, SLA_CALENDAR_FILE: calendarFile } });
  });

  afterAll(async () => {
    await custom?.close();
  });

  it('counts the working time left in the list by the configured office hours, not the default ones', async () => {
    const app = freshApplication((a) => void (a.company.name = a.company.name.replace('科技', '投资')));
    const res = await fetch(`${custom.api.url}/v1/applications`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await authHeaders('applicant')) },
      body: JSON.stringify(app),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const operator = await authHeaders('operator');
    const listed = async () => {
      const page = await fetch(`${custom.api.url}/v1/applications?q=${id}&task=review`, { headers: operator });
      return ((await page.json()) as { items: { id: string; dueAt: string; workingMsLeft?: number }[] }).items[0];
    };
    const parked = await until(listed, (item) => item !== undefined);
    const dueAt = new Date(parked!.dueAt);

    // The figure lies between the configured calendar's count just before the request and just after it.
    const configured = createWorkingCalendar({ officeHours: parseOfficeHours(officeHours), schedules });
    const before = configured.workingTimeBetween(Date.now(), dueAt);
    const item = await listed();
    const after = configured.workingTimeBetween(Date.now(), dueAt);
    expect(item?.workingMsLeft).toBeGreaterThanOrEqual(after);
    expect(item?.workingMsLeft).toBeLessThanOrEqual(before);
    // and the default office hours would have counted otherwise (fewer hours a day between now and the deadline).
    const byDefault = createWorkingCalendar({ schedules }).workingTimeBetween(Date.now(), dueAt);
    expect(byDefault).toBeLessThan(after);

    // Sent back to the applicant, the clock pauses: the deadline stays listed, the figure that counted down to it goes
    // (it kept falling, and a paused application was listed as overdue).
    const asked = await fetch(`${custom.api.url}/v1/applications/${id}/review`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...operator },
      body: JSON.stringify({ decision: 'request_correction', reason: '住所请补充', fields: ['company.address'] }),
    });
    expect(asked.status).toBe(200);
    const paused = await until(
      async () => {
        const page = await fetch(`${custom.api.url}/v1/applications?q=${id}&task=correction`, { headers: operator });
        return ((await page.json()) as { items: { dueAt?: string; workingMsLeft?: number }[] }).items[0];
      },
      (item) => item !== undefined,
    );
    expect(paused!.dueAt).toBeDefined();
    expect(paused!.workingMsLeft).toBeUndefined();

    await fetch(`${custom.api.url}/v1/applications/${id}/abort`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...operator },
      body: JSON.stringify({ reason: 'test done' }),
    });
  });
});

describe('operator API without search attributes (TEMPORAL_SEARCH_ATTRIBUTES=false)', () => {
  let plain: Stack;

  beforeAll(async () => {
    plain = await startStack(env, { env: { TEMPORAL_SEARCH_ATTRIBUTES: 'false' } });
  });

  afterAll(async () => {
    await plain?.close();
  });

  interface Answer {
    items?: ApplicationSummary[];
    error?: { code: string; issues?: { path: string; code: string }[] };
  }
  const get = async (path: string, role: 'operator' | 'supervisor' = 'operator') => {
    const res = await fetch(`${plain.api.url}${path}`, { headers: await authHeaders(role) });
    return { status: res.status, body: (await res.json()) as Answer };
  };
  const submitted = async (edit?: (a: ReturnType<typeof freshApplication>) => void) => {
    const app = freshApplication(edit);
    const res = await fetch(`${plain.api.url}/v1/applications`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await authHeaders('applicant')) },
      body: JSON.stringify(app),
    });
    expect(res.status).toBe(202);
    return { id: ((await res.json()) as { id: string }).id, name: app.company.name, district: app.company.district };
  };

  it('lists each application as its own status tells, finds one by id, and refuses the filters it cannot answer by name', async () => {
    const standard = await submitted();
    const review = await submitted((a) => void (a.company.name = a.company.name.replace('科技', '投资')));
    const item = async (id: string) => (await get(`/v1/applications?q=${id}`)).body.items?.[0];
    // It listed every one as `running` with no name: the list read attributes nobody set.
    const done = await until(
      () => item(standard.id),
      (i) => i?.status === 'completed',
    );
    expect(done).toMatchObject({ id: standard.id, companyName: standard.name, district: standard.district });
    const waiting = await until(
      () => item(review.id),
      (i) => i?.pendingTasks.includes('review') === true,
    );
    expect(waiting).toMatchObject({ status: 'running', companyName: review.name, slaLevel: 'on_track' });
    expect(waiting?.dueAt).toEqual(expect.any(String));
    const all = await get('/v1/applications?pageSize=100');
    expect(all.status).toBe(200);
    expect(all.body.items!.map((i) => i.id)).toEqual(expect.arrayContaining([standard.id, review.id]));

    // An applicant's own applications are found by an attribute too: refused, saying where they are.
    const own = await fetch(`${plain.api.url}/v1/applications`, { headers: await authHeaders('applicant') });
    expect(own.status).toBe(501);
    expect(((await own.json()) as Answer).error!.code).toBe('SEARCH_ATTRIBUTES_OFF');

    // The filters counted from the attributes are refused by name (they were a 500 from the server).
    const filtered = await get('/v1/applications?status=running&task=review&q=南昌');
    expect(filtered.status).toBe(400);
    expect(filtered.body.error!.issues).toEqual([
      expect.objectContaining({ path: 'status', code: 'NEEDS_SEARCH_ATTRIBUTES' }),
      expect.objectContaining({ path: 'task', code: 'NEEDS_SEARCH_ATTRIBUTES' }),
      expect.objectContaining({ path: 'q', code: 'NEEDS_SEARCH_ATTRIBUTES' }),
    ]);
    // One whose workflow cannot run (its first task fails: no input) is listed as unreadable; the page stands (one
    // failed read made the whole page a 500).
    const broken = `kb-${randomUUID().replace(/-/g, '')}`;
    await env.client.workflow.start('businessStartup', { taskQueue: plain.taskQueue, workflowId: broken, args: [] });
    try {
      const unreadable = await until(
        () => item(broken),
        (i) => i !== undefined,
      );
      expect(unreadable).toMatchObject({ id: broken, status: 'unknown' });
      expect(unreadable!.unreadable).toEqual(expect.any(String));
    } finally {
      await env.client.workflow.getHandle(broken).terminate('test done');
    }
    const stats = await get('/v1/stats', 'supervisor');
    expect(stats.status).toBe(501);
    expect(stats.body.error!.code).toBe('SEARCH_ATTRIBUTES_OFF');

    await fetch(`${plain.api.url}/v1/applications/${review.id}/abort`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await authHeaders('operator')) },
      body: JSON.stringify({ reason: 'test done' }),
    });
  });
});

describe('an action while no worker runs', () => {
  it("when no worker takes the application's update, then the action answers 503 TEMPORAL_UNAVAILABLE after its deadline instead of hanging; sent again with its key once a worker is back, it is taken once", async () => {
    const own = await startStack(env);
    const ownCall = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
      callAt(own.api.url, method, path, body, headers);
    try {
      const submitted = await fetch(`${own.api.url}/v1/applications`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(await authHeaders('applicant')) },
        body: JSON.stringify(freshApplication((a) => void (a.company.name = a.company.name.replace('科技', '投资')))),
      });
      const { id } = (await submitted.json()) as { id: string };
      await until(
        () => ownCall('GET', `/v1/applications/${id}`),
        (r) => r.body.pendingTasks?.includes('review'),
      );
      own.worker.shutdown();
      while (own.worker.getState() !== 'STOPPED') await new Promise((r) => setTimeout(r, 50));

      const abort = () =>
        ownCall('POST', `/v1/applications/${id}/abort`, { reason: '申请人放弃' }, { 'idempotency-key': 'k-1' });
      const t0 = Date.now();
      const waited = await abort();
      // Before, the request hung for as long as no worker ran.
      expect(waited.status).toBe(503);
      expect(waited.body.error.code).toBe('TEMPORAL_UNAVAILABLE');
      expect(Date.now() - t0).toBeLessThan(60_000);

      await own.redeployWorker({});
      const again = await abort();
      expect(again.status).toBe(200);
      const ended = await until(
        () => ownCall('GET', `/v1/applications/${id}`),
        (r) => r.body.status === 'aborted',
        60_000,
      );
      expect(ended.body.audit.filter((a: { action: string }) => a.action === 'abort')).toHaveLength(1);
    } finally {
      await own.close();
    }
  }, 150_000);
});
